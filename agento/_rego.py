"""Reading Rego source just enough to hold it to OPA 1.x before the embedded engine sees it.

The embedded engine (rego-cpp) is more lenient than OPA 1.x: it accepts v0 forms such as a rule
body without ``if`` and silently turns ``deny[msg] { ... }`` into an object. A bundle OPA 1.x
would reject must be refused here, with a location, rather than evaluate differently in
development and in production.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class PolicyProblem:
    """One located problem in a bundle file."""

    file: str
    row: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}:{self.column}: {self.message}"


@dataclass(frozen=True)
class _Token:
    kind: str  # "name", "string", "number", "op", "newline"
    text: str
    offset: int


_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
    | (?P<newline>\n)
    | (?P<space>[ \t\r]+)
    | (?P<string>"(?:[^"\\\n]|\\.)*"|`[^`]*`)
    | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>:=|==|!=|<=|>=|[{}()\[\].,;:=<>|&+\-*/%])
    """,
    re.VERBOSE,
)
_OPENERS = {"{": "}", "(": ")", "[": "]"}
# OPA 1.0 removed these deprecated built-ins.
_REMOVED_BUILTINS = frozenset(
    {
        "any",
        "all",
        "re_match",
        "set_diff",
        "cast_array",
        "cast_set",
        "cast_string",
        "cast_boolean",
        "cast_null",
        "cast_object",
        "net.cidr_overlap",
    }
)
_KEYWORDS = frozenset(
    {"package", "import", "default", "if", "else", "not", "some", "every", "in", "with", "as"}
    | {"contains", "true", "false", "null"}
)
# A "{" at the top level that follows one of these opens a value (`x := {...}`), not a body.
_VALUE_CONTEXT = frozenset({":=", "=", "==", "!=", ",", "(", "[", ":", "|", "&", "+", "-"})


def _tokens(source: str) -> Iterator[_Token]:
    for m in _TOKEN.finditer(source):
        kind = m.lastgroup
        if kind in ("comment", "space") or kind is None:
            continue
        yield _Token(kind, m.group(), m.start())


def location(source: str, offset: int) -> tuple[int, int]:
    """1-based row and column of ``offset`` in ``source``."""
    row = source.count("\n", 0, offset) + 1
    return row, offset - (source.rfind("\n", 0, offset) + 1) + 1


def package_path(source: str) -> str | None:
    """``agento/commissioning/routing`` for ``package agento.commissioning.routing``."""
    m = re.search(r"^[ \t]*package[ \t]+([A-Za-z_][A-Za-z0-9_.]*)", source, re.MULTILINE)
    return m.group(1).replace(".", "/") if m else None


def check_v1(file: str, source: str, *, is_builtin: Callable[[str], bool]) -> list[PolicyProblem]:
    """Problems OPA 1.x would report and the embedded engine would let through."""
    tokens = [t for t in _tokens(source)]
    problems: list[PolicyProblem] = []

    def problem(offset: int, message: str) -> None:
        problems.append(PolicyProblem(file, *location(source, offset), message))

    depth = 0
    previous: _Token | None = None
    statement_start = True
    defined: set[str] = set()
    imported: set[str] = set()
    calls: list[tuple[str, int]] = []
    for i, token in enumerate(tokens):
        if token.kind == "newline":
            statement_start = depth == 0
            continue
        if depth == 0 and token.text == "{" and previous is not None:
            body_follows_head = previous.text not in _VALUE_CONTEXT and previous.text != "if"
            if body_follows_head and previous.kind in ("name", "op", "string"):
                problem(
                    token.offset,
                    "rule body without `if` (OPA v0 syntax): write `name if { ... }`, "
                    "`name contains value if { ... }` for a set, or `name[key] := value if "
                    "{ ... }` for an object",
                )
        if token.kind == "name" and token.text == "import" and statement_start:
            alias = _import_alias(tokens, i)
            if alias:
                imported.add(alias)
        if token.kind == "name" and (previous is None or previous.text != "."):
            name, end = _dotted(tokens, i)
            if end < len(tokens) and tokens[end].text == "(":
                if depth == 0 and statement_start:
                    defined.add(name)
                else:
                    calls.append((name, token.offset))
        if token.text in _OPENERS:
            depth += 1
        elif token.text in _OPENERS.values():
            depth = max(depth - 1, 0)
        statement_start = False
        previous = token

    for name, offset in calls:
        root = name.split(".")[0]
        if name in _REMOVED_BUILTINS:
            problem(offset, f"built-in `{name}` was removed in OPA 1.0")
        elif (
            name not in defined
            and root not in imported
            and root not in _KEYWORDS
            and root not in ("data", "input")
            and not is_builtin(name)
        ):
            problem(offset, f"unknown function `{name}`: not a built-in and not defined here")
    return problems


def _dotted(tokens: list[_Token], start: int) -> tuple[str, int]:
    """The dotted name starting at ``start`` (``net.cidr_contains``) and the index after it."""
    parts = [tokens[start].text]
    i = start + 1
    while i + 1 < len(tokens) and tokens[i].text == "." and tokens[i + 1].kind == "name":
        parts.append(tokens[i + 1].text)
        i += 2
    return ".".join(parts), i


def _import_alias(tokens: list[_Token], start: int) -> str | None:
    """The name an ``import data.lib.x [as y]`` binds."""
    path, end = _dotted(tokens, start + 1)
    if end + 1 < len(tokens) and tokens[end].text == "as":
        return tokens[end + 1].text
    return path.rsplit(".", 1)[-1]
