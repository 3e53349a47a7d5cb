"""Reading Rego as OPA 1.x does, as far as the embedded engine needs, before it sees the source.

The embedded engine (rego-cpp) is more lenient than OPA 1.x: it accepts v0 forms such as a rule
body without ``if`` and silently turns ``deny[msg] { ... }`` into an object. A bundle OPA 1.x
would reject must be refused here, with a location, rather than evaluate differently in
development and in production; and a bundle OPA accepts must load.

This is a parse of the module grammar (package, imports, rules: heads, values, ``if`` bodies,
``else`` chains) over a tokenizer that knows strings, raw strings and comments. Expressions are
read as alternating operands and operators, which is what tells a ``{`` that opens a set or object
(``x in {1, 2}``) from one that opens a v0 body (``allow {``). It also collects what the engine
needs to know: the functions each package defines, the built-ins each package calls (directly or
through the packages it reads), and number literals the engine cannot represent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from agento._errors import PolicyProblem
from agento._policy.formatting import BUILTINS as FORMAT_BUILTINS
from agento._policy.formatting import PACKAGE as FORMAT_PACKAGE
from agento._policy.numbers import PACKAGE as NUMBERS_PACKAGE
from agento._policy.numbers import hidden

NONDETERMINISTIC_BUILTINS = frozenset(
    {
        "http.send",
        "net.lookup_ip_addr",
        "rand.intn",
        "uuid.rfc4122",
        "io.jwt.decode_verify",
        "crypto.x509.parse_and_verify_certificates",
        "crypto.x509.parse_and_verify_certificates_with_options",
    }
)
"""Built-ins whose answer can change between two evaluations of the same input: the network,
randomness, and checks that read the clock inside the engine (token and certificate expiry).
``time.now_ns`` is not among them: replay pins it to the decision's recorded evaluation time."""

CLOCK_BUILTIN = "time.now_ns"
RUNTIME_BUILTIN = "opa.runtime"

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
"""Deprecated built-ins OPA 1.0 removed."""

_DIVERGENT_BUILTINS = {
    "time.parse_ns": "the embedded engine (rego-cpp) answers undefined for a layout OPA "
    "parses; for RFC 3339 times use `time.parse_rfc3339_ns`",
}
"""Built-ins whose answers in rego-cpp are not OPA's on ordinary arguments, each with the
rewrite that gives OPA's answer on both engines (found by tests/policy/differential.py)."""

ORDER_PACKAGE = "agento__order"

REWRITTEN_BUILTINS = {
    "max": f"{ORDER_PACKAGE}.max_of",
    "min": f"{ORDER_PACKAGE}.min_of",
    "sort": f"{ORDER_PACKAGE}.sorted",
    "semver.compare": f"{ORDER_PACKAGE}.semver_compare",
    "strings.split_n": f"{ORDER_PACKAGE}.split_n",
    **{name: f"{FORMAT_PACKAGE}.{function}" for name, function in FORMAT_BUILTINS.items()},
}
"""Built-ins rego-cpp answers otherwise (it orders numbers by their text: ``max([1001, 999])``
was 999, ``semver.compare("1.10.0", "1.9.9")`` -1; its ``sprintf("%d", ...)`` wraps at 32 bits)
or lacks (``strings.split_n``): `ordered` writes each call as a call of the function named
here, of `ORDER_MODULE` or of the formatting module (`agento._policy.formatting`), which gives
OPA's answer (tests/policy/test_fidelity.py and test_formatting.py check them against OPA's
evaluator)."""

_V0_BODY = (
    "rule body without `if` (OPA v0 syntax): write `name if { ... }`, `name contains value if "
    "{ ... }` for a set, or `name[key] := value if { ... }` for an object"
)
_NOT_OVER_A_READ = (
    "`not` over a call, a comparison, `in` or a lookup on a value read from the input: where "
    "that value is undefined (a field missing), OPA makes the expression undefined, so the "
    "rule does not apply, and the embedded engine (rego-cpp) makes the `not` true, so it does. "
    'Bind the value first, `groups := input.reviewer.groups` then `not "x" in groups`, which '
    "both evaluate alike"
)
_NOT_VARIABLES = frozenset(
    {"true", "false", "null", "input", "data", "not", "some", "every", "in", "with", "as", "if"}
)
_UNIFIED_LIKE_A_PACKAGE = (
    "variable `{name}` in a unification (`=`), named like the package `{name}`: rego-cpp can "
    "leave it without a value (`s contains {name} if {name} = data.x.y` has no member, a function "
    "so binding it answers nothing), where OPA binds it. Name the variable apart from the "
    "bundle's packages, or bind it with `:=`"
)
_OPERATOR_BUILTINS = {
    "+": "plus",
    "-": "minus",
    "*": "mul",
    "/": "div",
    "%": "rem",
    "<": "lt",
    "<=": "lte",
    ">": "gt",
    ">=": "gte",
    "==": "equal",
    "!=": "neq",
    "=": "eq",
    "|": "or",
    "&": "and",
}
"""The built-in each binary operator calls in OPA; a rule of the same name in the package
answers for it there."""
_OPERATOR_OF = {builtin: operator for operator, builtin in _OPERATOR_BUILTINS.items()}
_MOCKED_REWRITE = (
    "`with {name} as ...`: the embedded engine calls a function of its own for `{name}`, to "
    "give OPA's answer, and the mock would not replace it: mock a function of your own that "
    "calls `{name}`"
)
_NAMED_LIKE_AN_OPERATOR = (
    "rule `{name}` is named like the built-in that `{operator}` calls: in this package OPA "
    "calls the rule for every `{operator}` (a function of two arguments answers for it, any "
    "other rule is a type error at load), where the embedded engine (rego-cpp) calls the "
    "built-in. Rename the rule"
)
_UNION_AFTER_INFIX = (
    "`|` after an operator's right operand: OPA reads it as the set union `|` of that "
    "expression (a parse error), not as a comprehension's bar, where rego-cpp takes it as the "
    "bar. Parenthesize the comprehension's term: `[(x * 2) | some x in xs]`"
)
_NEGATED_COMPUTATIONS = frozenset({"<", "<=", ">", ">=", "!=", "+", "-", "*", "/", "%", "|", "&"})
_ONE_LINE_EVERY = (
    "`every` as a one-line rule body: OPA accepts it, the embedded engine (rego-cpp) cannot "
    "parse it; write the body in braces, `name if { every ... }`"
)
_ONE_LINE_NOT_WITH = (
    "`not ... with ...` as a one-line rule body: OPA accepts it, the embedded engine (rego-cpp) "
    "cannot parse it (a bare 'Syntax error'); write the body in braces, "
    "`test_x if { not allow with input.amount as 500 }`"
)
_BINARY = frozenset(
    {":=", "=", "==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%", "|", "&", "in"}
)
_COMPARING = {
    "<": "order_lt",
    "<=": "order_lte",
    ">": "order_gt",
    ">=": "order_gte",
    "==": "order_eq",
    "!=": "order_neq",
}
_ADDING = {"+": "num_add", "-": "num_sub"}
_MULTIPLYING = {"*": "num_mul", "/": "num_div", "%": "num_rem"}
_ARITHMETIC = frozenset({*_ADDING, *_MULTIPLYING})
_NUMERIC_BUILTINS = {
    "abs": "num_abs",
    "round": "num_round",
    "ceil": "num_ceil",
    "floor": "num_floor",
    "sum": "num_sum",
    "product": "num_product",
    "to_number": "num_to_number",
    "plus": "num_add",
    "minus": "num_sub",
    "mul": "num_mul",
    "div": "num_div",
    "rem": "num_rem",
}
"""Built-ins whose answers on numbers rego-cpp computes otherwise, and what replaces them."""
_REWRITTEN = frozenset(
    {*REWRITTEN_BUILTINS, *_NUMERIC_BUILTINS, *(_OPERATOR_BUILTINS[op] for op in _COMPARING)}
)
"""Every built-in `ordered` writes as a call of a generated module (operators included)."""
_LITERALS = frozenset({"true", "false", "null"})
_CLOSERS = {"{": "}", "(": ")", "[": "]"}
_MAX_EXACT_INTEGER = 2**53


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
    | (?P<other>.)
    """,
    re.VERBOSE,
)


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


@dataclass
class _Module:
    """What one module's parse found."""

    package: str = ""
    functions: set[str] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)
    calls: list[tuple[str, int]] = field(default_factory=list)
    reads: set[str] = field(default_factory=set)
    """``data.a.b.c`` references, and imported ``data`` paths: packages this one may read."""
    problems: list[tuple[int, str]] = field(default_factory=list)
    rules: list[tuple[str, int]] = field(default_factory=list)
    """Each rule head's name (``allow``, ``test_x``) and offset, in source order."""
    operators: set[str] = field(default_factory=set)
    """The built-ins its operators call (``plus`` for ``+``, ``minus`` for a unary ``-x``)."""
    operations: list[_Operation] = field(default_factory=list)
    """Every comparison, arithmetic operator and unary minus: what `ordered` rewrites."""
    numeric_calls: list[_Token] = field(default_factory=list)
    """The name of each call of a built-in in `_NUMERIC_BUILTINS`."""
    mocked: list[tuple[str, int]] = field(default_factory=list)
    """What each ``with ... as`` replaces (``input``, ``input.amount``, ``sprintf``), and the
    offset of its ``with``."""
    replacements: list[tuple[str, int]] = field(default_factory=list)
    """References given as a ``with ... as`` value (``with time.now_ns as opa.runtime``): a
    built-in named there is called where the replaced one would be."""
    unified: list[tuple[str, int]] = field(default_factory=list)
    """Variables standing alone on a side of ``=`` (``x = data.a.q``), and where."""


@dataclass(frozen=True)
class _Operation:
    """``a OP b`` from ``start`` to ``end``, written as ``function(a, b)``; for a unary minus
    (``-x``), ``operator`` is the minus and the call replaces it."""

    start: int
    operator: _Token
    end: int
    function: str
    unary: bool = False


@dataclass(frozen=True)
class _Operand:
    start: int
    end: int
    first: _Token
    last: _Token


@dataclass(frozen=True)
class BundleAnalysis:
    """The problems OPA 1.x would report and the embedded engine would not, and the built-ins
    each package may call when it is evaluated."""

    problems: tuple[PolicyProblem, ...]
    builtins: Mapping[str, frozenset[str]]
    """Policy path (``a/b/c``) -> every built-in its evaluation may call, through the packages
    it reads included."""
    crash_risks: tuple[PolicyProblem, ...] = ()
    """Constructs that make rego-cpp abort compiling some bundles (``with input as ...`` over a
    rule that calls anything): a problem only where the engine cannot try the bundle in a child
    process first (`agento.EmbeddedEngine` ``preflight``), and the reason when that child dies."""

    def nondeterministic(self, policy: str) -> frozenset[str]:
        return self.builtins.get(policy, frozenset()) & NONDETERMINISTIC_BUILTINS


def analyse(modules: Mapping[str, str], *, is_builtin: Callable[[str], bool]) -> BundleAnalysis:
    """Parse every module of a bundle and check it against OPA 1.x."""
    parsed = {name: _Parser(source).module() for name, source in modules.items()}
    functions: dict[str, set[str]] = {}
    operators: dict[str, set[str]] = {}
    for module in parsed.values():
        functions.setdefault(module.package, set()).update(module.functions)
        operators.setdefault(module.package, set()).update(module.operators)
    problems: list[PolicyProblem] = []
    risks: list[PolicyProblem] = []
    called: dict[str, set[str]] = {}
    reads: dict[str, set[str]] = {}
    roots = {module.package.split("/")[0] for module in parsed.values() if module.package}
    for name, module in parsed.items():
        source = modules[name]
        found = list(module.problems)
        found += [
            (offset, _UNIFIED_LIKE_A_PACKAGE.format(name=variable))
            for variable, offset in module.unified
            if variable in roots
        ]
        found += [
            (offset, _NAMED_LIKE_AN_OPERATOR.format(name=rule, operator=_OPERATOR_OF[rule]))
            for rule, offset in module.rules
            if rule in operators[module.package]
        ]
        builtins = called.setdefault(module.package, set())
        reads.setdefault(module.package, set()).update(module.reads)
        for call, offset in module.calls:
            root = call.split(".")[0]
            if call in _REMOVED_BUILTINS:
                found.append((offset, f"built-in `{call}` was removed in OPA 1.0"))
            elif (
                call in functions.get(module.package, ())
                or root in module.imports
                or root in ("data", "input")
            ):
                continue
            elif call in _DIVERGENT_BUILTINS:
                found.append((offset, f"built-in `{call}`: {_DIVERGENT_BUILTINS[call]}"))
            elif call in REWRITTEN_BUILTINS or is_builtin(call):
                builtins.add(call)
            else:
                found.append(
                    (offset, f"unknown function `{call}`: not a built-in and not defined here")
                )
        for target, offset in module.mocked:
            if target in _REWRITTEN and target not in functions.get(module.package, ()):
                found.append((offset, _MOCKED_REWRITE.format(name=target)))
        for reference, offset in module.replacements:
            if reference in functions.get(module.package, ()):
                continue
            if reference in _DIVERGENT_BUILTINS or reference in REWRITTEN_BUILTINS:
                found.append(
                    (
                        offset,
                        f"built-in `{reference}` as a `with` value: rego-cpp "
                        "answers it otherwise; call it from a function of your own",
                    )
                )
            elif is_builtin(reference):
                builtins.add(reference)
        problems += [
            PolicyProblem(name, *location(source, offset), message)
            for offset, message in sorted(found)
        ]
        risks += [
            PolicyProblem(name, *location(source, offset), _INPUT_REPLACED)
            for target, offset in module.mocked
            if target == "input"
        ]
    return BundleAnalysis(tuple(problems), _closure(called, reads), tuple(risks))


_INPUT_REPLACED = (
    "`with input as ...`: rego-cpp aborts the process (a crash, not an error) compiling a rule "
    "so evaluated that compares, counts or calls anything on the input, as most tests do. "
    "Replace the input's fields instead (`with input.a as ... with input.b as ...`), or serve "
    "this bundle from an OPA server"
)


@dataclass(frozen=True)
class RuleHead:
    """Where a rule is defined: ``file:line`` of its first head."""

    package: str
    name: str
    file: str
    line: int

    @property
    def reference(self) -> str:
        return ".".join(("data", *self.package.split("/"), self.name))


def rule_heads(modules: Mapping[str, str]) -> list[RuleHead]:
    """Every rule of every module, once per name and package, where it is first defined."""
    heads: dict[tuple[str, str], RuleHead] = {}
    for file, source in sorted(modules.items()):
        module = _Parser(source).module()
        for name, offset in module.rules:
            key = (module.package, name)
            if key not in heads:
                heads[key] = RuleHead(module.package, name, file, location(source, offset)[0])
    return list(heads.values())


def _closure(called: dict[str, set[str]], reads: dict[str, set[str]]) -> dict[str, frozenset[str]]:
    """Each package's built-ins, with those of every package it reads (``data.x.y`` refs)."""
    packages = set(called)

    def read_packages(package: str) -> set[str]:
        targets = set()
        for ref in reads.get(package, ()):
            parts = ref.split(".")[1:]  # drop "data"
            targets |= {
                p
                for p in packages
                if p.split("/") == parts[: len(p.split("/"))] or parts == p.split("/")[: len(parts)]
            }
        return targets

    result = {}
    for package in packages:
        seen, todo, builtins = {package}, [package], set()
        while todo:
            current = todo.pop()
            builtins |= called.get(current, set())
            for target in read_packages(current) - seen:
                seen.add(target)
                todo.append(target)
        result[package] = frozenset(builtins)
    return result


class _Parser:
    """Recursive descent over one module's tokens; lenient where rego-cpp will report a syntax
    error itself, exact where OPA 1.x and rego-cpp disagree."""

    def __init__(self, source: str) -> None:
        self.tokens = list(_tokens(source))
        self.quiet = 0
        """Above zero inside a rule head's reference (``p[x]``), which is not rewritten."""
        self.infix = False
        """Whether the expression last read ended in an operator's right operand."""
        self.pos = 0
        self.found = _Module()
        self.in_function = False
        words = [t.text if t.kind == "name" else "" for t in self.tokens]
        self.found.mocked = [
            ("".join(t.text for t in self.tokens[i + 1 : end]), self.tokens[i].offset)
            for i in range(len(words) - 1)
            if words[i] == "with"
            and (end := self.reference_end(i + 1)) > i + 1
            and words[end : end + 1] == ["as"]
        ]
        self.found.problems += [
            (self.tokens[i].offset, _NOT_OVER_A_READ) for i in self.negations_over_reads()
        ]

    def reference_end(self, start: int) -> int:
        """Where the dotted name starting at token ``start`` ends."""
        end = start
        while end < len(self.tokens) and (
            self.tokens[end].kind == "name"
            if (end - start) % 2 == 0
            else self.tokens[end].text == "."
        ):
            end += 1
        return end - (end - start + 1) % 2

    def negations_over_reads(self) -> Iterator[int]:
        """Each ``not`` whose expression calls something on, compares, or looks up by a value
        read from ``input``: the token positions. (``data`` is the bundle's own, the same for
        every decision, and its tests and the preflight evaluate it.) None in a module importing
        ``future.keywords`` or ``future.keywords.not``: there OPA's `not` of an expression whose
        operands are undefined is true, as rego-cpp's always is."""
        texts = [t.text for t in self.tokens if t.kind not in ("newline", "string")]
        for i in range(len(texts)):
            if texts[i : i + 4] == ["import", "future", ".", "keywords"]:
                rest = texts[i + 4 : i + 6]
                if rest[:1] != ["."] or rest == [".", "not"]:
                    return
        for i, token in enumerate(self.tokens):
            if token.kind != "name" or token.text != "not":
                continue
            reads = computes = False
            depth = 0
            for j in range(i + 1, len(self.tokens)):
                t = self.tokens[j]
                if t.kind == "newline" and depth == 0:
                    break
                if t.kind == "string":
                    continue
                if t.text in _CLOSERS:
                    depth += 1
                    computes |= t.text == "(" and self.tokens[j - 1].kind == "name"
                elif t.text in _CLOSERS.values():
                    if depth == 0:
                        break
                    depth -= 1
                elif t.text == ";" and depth == 0:
                    break
                elif t.kind == "name":
                    read = t.text == "input" and self.tokens[j - 1].text != "."
                    reads |= read
                    computes |= t.text == "in" or (read and depth > 0)  # a key, an argument
                else:
                    computes |= t.text in _NEGATED_COMPUTATIONS
            if reads and computes:
                yield i

    # -- the token stream

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def at(self, *texts: str) -> bool:
        token = self.peek()
        return token is not None and token.kind != "string" and token.text in texts

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def skip_newlines(self) -> None:
        while (token := self.peek()) is not None and token.kind == "newline":
            self.pos += 1

    def skip_line(self) -> None:
        """Past the rest of a statement rego-cpp will complain about anyway."""
        depth = 0
        while (token := self.peek()) is not None:
            if token.kind == "newline" and depth == 0:
                return
            if token.text in _CLOSERS:
                depth += 1
            elif token.text in _CLOSERS.values():
                depth = max(depth - 1, 0)
            self.pos += 1

    # -- the module grammar

    def module(self) -> _Module:
        while True:
            self.skip_newlines()
            token = self.peek()
            if token is None:
                return self.found
            if token.text == "package":
                self.advance()
                self.found.package = "/".join(self.dotted_name())
            elif token.text == "import":
                self.import_()
            else:
                self.rule()
            if (token := self.peek()) is not None and token.kind != "newline":
                self.skip_line()

    def dotted_name(self) -> list[str]:
        parts = []
        while (token := self.peek()) is not None and token.kind in ("name", "string"):
            parts.append(token.text.strip('"'))
            self.advance()
            if self.at("."):
                self.advance()
            elif self.at("["):
                self.advance()
                continue
            elif self.at("]"):
                self.advance()
                if self.at("."):
                    self.advance()
            else:
                break
        return parts

    def import_(self) -> None:
        self.advance()
        path = self.dotted_name()
        if self.at("as"):
            self.advance()
            self.found.imports.add(self.advance().text)
        elif path:
            self.found.imports.add(path[-1])
        if path and path[0] == "data":
            self.found.reads.add(".".join(path))

    def rule(self) -> None:
        default = self.at("default")
        if default:
            self.advance()
        head = self.peek()
        name = self.rule_ref()
        if name and head is not None:
            self.found.rules.append((name, head.offset))
        self.in_function = self.at("(")
        if self.in_function:
            self.quiet += 1
            self.group()
            self.quiet -= 1
            if name:
                self.found.functions.add(name)
        if self.at("contains"):
            self.advance()
            self.expression(stops=("if",))
        if self.at(":=", "="):
            self.advance()
            self.expression(stops=("if", "else"))
        if not default:
            self.bodies()

    def bodies(self) -> None:
        """``if`` bodies (a block or one literal) and the ``else`` chain; a bare block is v0."""
        while True:
            if self.at("if"):
                self.advance()
                self.skip_newlines()
                if self.at("{"):
                    self.block()
                else:
                    self.one_line_body()
            elif (token := self.peek()) is not None and token.text == "{":
                self.found.problems.append((token.offset, _V0_BODY))
                self.block()
            mark = self.pos
            self.skip_newlines()
            if not self.at("else"):
                self.pos = mark
                return
            self.advance()
            if self.at(":=", "="):
                self.advance()
                self.expression(stops=("if", "else"))

    def one_line_body(self) -> None:
        """A body of one literal, refusing the forms rego-cpp cannot parse there."""
        start, first = self.pos, self.peek()
        if first is None:  # the module ends after `if`: rego-cpp reports it
            return
        if first.text == "every":
            self.found.problems.append((first.offset, _ONE_LINE_EVERY))
        self.expression(stops=("else",))
        if first.text == "not" and any(t.text == "with" for t in self.tokens[start : self.pos]):
            self.found.problems.append((first.offset, _ONE_LINE_NOT_WITH))

    def rule_ref(self) -> str | None:
        """A rule head's reference; its name as a function would be called (``foo.bar`` for
        ``foo["bar"]``), or ``None`` when a key is not a constant."""
        token = self.peek()
        if token is None or token.kind != "name":
            return None
        parts = [self.advance().text]
        constant = True
        while True:
            if self.at(".") and self.pos + 1 < len(self.tokens):
                self.advance()
                parts.append(self.advance().text)
            elif self.at("["):
                self.quiet += 1
                inner = self.group()
                self.quiet -= 1
                if len(inner) == 1 and inner[0].kind == "string":
                    parts.append(inner[0].text[1:-1])
                else:
                    constant = False
            else:
                return ".".join(parts) if constant else None

    # -- expressions, as alternating operands and operators

    def expression(self, stops: tuple[str, ...], *, in_group: bool = False) -> None:
        expect_operand = True
        start, unifies = self.pos, False
        # The operands and binary operators read since the last boundary (a `:=`, a comma,
        # `in`, `not`, ...), and the unary minuses before the operand being read.
        items: list[_Operand | _Token] = []
        minuses: list[_Token] = []

        def close() -> None:
            self.operations(items)
            self.infix = any(isinstance(item, _Token) for item in items)
            items.clear()
            minuses.clear()

        while (token := self.peek()) is not None:
            if token.kind == "newline":
                if expect_operand or in_group:
                    self.advance()
                    continue
                break
            if token.kind != "string" and token.text in stops:
                break
            if expect_operand:
                if token.text in ("not", "some"):
                    close()
                    self.advance()
                    continue
                if token.text == "-":
                    minuses.append(self.advance())
                    continue
                at = self.pos
                expect_operand = self.operand(token)
                items.append(self.unary(minuses, at))
                minuses.clear()
            elif token.text == "{":
                break  # after an operand a brace opens a body, not a value
            elif token.text in _BINARY or token.text in (",", ":", ";"):
                unifies |= token.text == "="
                if token.text in _OPERATOR_BUILTINS:
                    self.found.operators.add(_OPERATOR_BUILTINS[token.text])
                if token.text in _COMPARING or token.text in _ARITHMETIC:
                    items.append(token)
                else:
                    close()
                self.advance()
                expect_operand = True
            elif token.text == "with":
                close()
                self.advance()
                self.reference()
                if self.at("as"):
                    self.advance()
                    self.with_value()
                expect_operand = True
            else:
                break
        close()
        if unifies:
            self.note_unified(start, self.pos)

    def note_unified(self, start: int, end: int) -> None:
        """Note the variables of an expression that unifies (``=``), tokens ``start:end``; not
        a variable given a constant outside a function (``x = "a"``), which rego-cpp binds."""
        words = [t for t in self.tokens[start:end] if t.kind != "newline"]
        constant = [
            w.kind in ("string", "number") or w.text in ("true", "false", "null")
            for w in words[::2]
        ]
        if not self.in_function and len(words) == 3 and words[1].text == "=" and any(constant):
            return
        for i, token in enumerate(words):
            if (
                token.kind == "name"
                and token.text not in _NOT_VARIABLES
                and (i == 0 or words[i - 1].text != ".")
                and (i + 1 == len(words) or words[i + 1].text != "(")
            ):
                self.found.unified.append((token.text, token.offset))

    def with_value(self) -> None:
        """Note a ``with ... as`` value that is a bare reference (a built-in named, not called);
        the value itself is read as the operand that follows."""
        start = self.pos
        while (token := self.peek()) is not None and (
            token.kind == "name" if (self.pos - start) % 2 == 0 else token.text == "."
        ):
            self.pos += 1
        words = self.tokens[start : self.pos]
        self.pos = start
        following = self.peek_at(start + len(words))
        if words and words[-1].kind == "name" and not (following and following.text in "([."):
            self.found.replacements.append(("".join(t.text for t in words), words[0].offset))

    def peek_at(self, index: int) -> _Token | None:
        return self.tokens[index] if index < len(self.tokens) else None

    def unary(self, minuses: list[_Token], at: int) -> _Operand:
        """The operand read from token ``at``, with the minuses before it: each a
        ``num_neg`` but before a number, which it makes a negative literal."""
        first, last = self.tokens[at], self.tokens[self.pos - 1]
        end = last.offset + len(last.text)
        negates = bool(minuses) and not (first is last and first.kind == "number")
        if negates:
            self.found.operators.add("minus")  # -x is minus(0, x); -1 is a literal
        if negates and not self.quiet:
            self.found.operations += [
                _Operation(minus.offset, minus, end, "num_neg", unary=True) for minus in minuses
            ]
        start = minuses[0].offset if minuses else first.offset
        return _Operand(start, end, minuses[0] if minuses else first, last)

    def operations(self, items: list[_Operand | _Token]) -> None:
        """Record the comparisons and arithmetic of one run of operands and operators, by
        precedence (comparisons, then + and -, then *, / and %), each left to right."""
        if items and isinstance(items[-1], _Token):  # no right operand: a syntax error stays
            items = items[:-1]
        if not items or self.quiet:
            return
        self.operation_tree(items, 0)

    def operation_tree(self, items: list[_Operand | _Token], level: int) -> _Operand:
        operators = (_COMPARING, _ADDING, _MULTIPLYING)[level] if level < 3 else {}
        parts: list[list[_Operand | _Token]] = [[]]
        signs: list[_Token] = []
        for item in items:
            if isinstance(item, _Token) and item.text in operators:
                parts.append([])
                signs.append(item)
            else:
                parts[-1].append(item)
        if level == 3 or any(not part for part in parts):
            operand = items[0]
            assert isinstance(operand, _Operand)
            return operand
        spans = [self.operation_tree(part, level + 1) for part in parts]
        left = spans[0]
        for sign, right in zip(signs, spans[1:], strict=True):
            if not (sign.text in ("==", "!=") and (_plain(left) or _plain(right))):
                function = {**_COMPARING, **_ADDING, **_MULTIPLYING}[sign.text]
                self.found.operations.append(_Operation(left.start, sign, right.end, function))
            left = _Operand(left.start, right.end, left.first, right.last)
        return left

    def operand(self, token: _Token) -> bool:
        """Read one operand (or a prefix of one); whether an operand is still expected."""
        if token.text in ("not", "-"):
            self.advance()
            following = self.peek()
            if token.text == "-" and following is not None and following.kind != "number":
                self.found.operators.add("minus")
            return True
        if token.text == "some":
            self.advance()
            return True
        if token.text == "every":
            self.every()
            return False
        if token.text in _CLOSERS:
            self.group()
            self.postfix(None)
            return False
        if token.kind == "number":
            self.number(self.advance())
            return False
        if token.kind == "name":
            self.reference()
            return False
        self.advance()  # a string, or something rego-cpp will reject
        return False

    def reference(self) -> None:
        """A variable or reference, a call if parentheses follow."""
        head = self.advance()
        parts: list[str] | None = [head.text]
        while True:
            if self.at(".") and self.pos + 1 < len(self.tokens):
                self.advance()
                part = self.advance().text
                parts = [*parts, part] if parts is not None else None
            elif self.at("["):
                inner = self.group()
                constant = len(inner) == 1 and inner[0].kind == "string"
                parts = [*parts, inner[0].text[1:-1]] if parts is not None and constant else None
            else:
                break
        if parts is not None and parts[0] == "data":
            self.found.reads.add(".".join(parts))
        self.postfix(".".join(parts) if parts is not None else None, head.offset)

    def postfix(self, name: str | None, offset: int = 0) -> None:
        if not self.at("("):
            return
        head = self.tokens[self.pos - 1]
        arguments = self.group()
        if name is not None and not (name == "set" and not arguments):  # set() is the empty set
            self.found.calls.append((name, offset))
            if name in _NUMERIC_BUILTINS and head.text == name and not self.quiet:
                self.found.numeric_calls.append(head)
        while self.at(".", "["):  # f(x).y, f(x)[0]
            if self.at("."):
                self.advance()
                self.advance()
            else:
                self.group()

    def every(self) -> None:
        self.advance()
        while not self.at("in", "{") and self.peek() is not None and not self.at_newline():
            self.advance()
        if self.at("in"):
            self.advance()
            self.expression(stops=())
        if self.at("{"):
            self.block()

    def at_newline(self) -> bool:
        token = self.peek()
        return token is not None and token.kind == "newline"

    def group(self) -> list[_Token]:
        """A bracketed group, its contents read as expressions; the tokens it held."""
        opener = self.advance()
        closer = _CLOSERS[opener.text]
        start = self.pos
        while self.peek() is not None and not self.at(closer):
            before = self.pos
            self.expression(stops=(closer, "|"), in_group=True)
            if self.at("|") and self.infix and not self.quiet:
                self.found.problems.append((self.tokens[self.pos].offset, _UNION_AFTER_INFIX))
            if self.at("|") or self.pos == before:
                self.advance()
        inner = self.tokens[start : self.pos]
        if self.peek() is not None:
            self.advance()
        return [t for t in inner if t.kind != "newline"]

    def block(self) -> None:
        """``{ literal (newline|;) literal ... }``"""
        self.advance()
        while (token := self.peek()) is not None and not self.at("}"):
            if token.kind == "newline" or token.text == ";":
                self.advance()
                continue
            before = self.pos
            self.expression(stops=("}", ";"))
            if self.pos == before:
                self.advance()
        if self.peek() is not None:
            self.advance()

    def number(self, token: _Token) -> None:
        problem = unrepresentable(token.text)
        if problem:
            self.found.problems.append((token.offset, problem))


def _plain(operand: _Operand) -> bool:
    """A string, boolean or null literal, or a collection written out: what ``==`` and ``!=``
    compare alike in both engines (a number is never equal to one)."""
    first = operand.first
    single = first is operand.last
    return (single and (first.kind == "string" or first.text in _LITERALS)) or first.text in (
        "[",
        "{",
    )


ORDER_MODULE = f"package {ORDER_PACKAGE}\n" + hidden(
    (
        """
collection(xs) if is_array(xs)

collection(xs) if is_set(xs)

max_of(xs) := m if {
\tcollection(xs)
\tvalues := [x | some x in xs]
\tcount(values) > 0
\tbest := [x | some x in values; count([y | some y in values; NUMBERS.order_gt(y, x)]) == 0]
\tm := best[count(best) - 1]
}

min_of(xs) := m if {
\tcollection(xs)
\tvalues := [x | some x in xs]
\tcount(values) > 0
\tbest := [x | some x in values; count([y | some y in values; NUMBERS.order_lt(y, x)]) == 0]
\tm := best[count(best) - 1]
}

sorted(xs) := result if {
\tcollection(xs)
\tvalues := [x | some x in xs]
\tat := {p: x |
\t\tx := values[i]
\t\tbelow := count([y | some y in values; NUMBERS.order_lt(y, x)])
\t\tbefore := count([j | y := values[j]; j < i; NUMBERS.order_eq(y, x)])
\t\tp := below + before
\t}
\tresult := [v | some k in numbers.range(0, count(values) - 1); v := at[k]]
}

order(a, b) := -1 if a < b
else := 1 if a > b
else := 0

semver_compare(a, b) := c if {
\tsemver.is_valid(a)
\tsemver.is_valid(b)
\tc := semver_order(semver_parts(a), semver_parts(b))
}

semver_parts(v) := {"core": core, "pre": pre} if {
\tversion := split(v, "+")[0]
\ti := indexof(version, "-")
\ti >= 0
\tcore := [to_number(n) | some n in split(substring(version, 0, i), ".")]
\tpre := split(substring(version, i + 1, -1), ".")
} else := {"core": core, "pre": []} if {
\tcore := [to_number(n) | some n in split(split(v, "+")[0], ".")]
}

semver_order(a, b) := order(a.core[0], b.core[0]) if order(a.core[0], b.core[0]) != 0
else := order(a.core[1], b.core[1]) if order(a.core[1], b.core[1]) != 0
else := order(a.core[2], b.core[2]) if order(a.core[2], b.core[2]) != 0
else := prerelease_order(a.pre, b.pre)

prerelease_order(a, b) := 0 if {
\tcount(a) == 0
\tcount(b) == 0
} else := 1 if {
\tcount(a) == 0
} else := -1 if {
\tcount(b) == 0
} else := identifier_order(a[i], b[i]) if {
\tdiffering := [j | x := a[j]; j < count(b); identifier_order(x, b[j]) != 0]
\ti := [j | some j in differing; count([k | some k in differing; k < j]) == 0][0]
} else := order(count(a), count(b))

identifier_order(a, b) := order(to_number(a), to_number(b)) if {
\tnumeric(a)
\tnumeric(b)
} else := -1 if {
\tnumeric(a)
} else := 1 if {
\tnumeric(b)
} else := order(a, b)

numeric(s) if regex.match(`^[0-9]+$`, s)

split_n(s, delimiter, n) := parts if {
\tis_string(s)
\tis_string(delimiter)
\tis_number(n)
\tn == round(n)
\tn >= 0
\tparts := array.slice(split(s, delimiter), 0, n)
} else := parts if {
\tis_string(s)
\tis_string(delimiter)
\tis_number(n)
\tn == round(n)
\tpieces := split(s, delimiter)
\tparts := array.slice(pieces, count(pieces) + n, count(pieces))
}
"""
    ).replace("NUMBERS.", f"data.{NUMBERS_PACKAGE}."),
    keep=[path.split(".")[-1] for path in REWRITTEN_BUILTINS.values()],
)
"""The functions that give OPA's answers for the built-ins rego-cpp answers otherwise or lacks
(`REWRITTEN_BUILTINS`). Values are compared by the numbers module's ordering; counts and
positions, integers rego-cpp computes on exactly, by its own operators."""


def ordered(source: str, local: frozenset[str] = frozenset()) -> str:
    """``source`` with every comparison and arithmetic operator written as a call of the
    generated module `agento._policy.numbers` (``a <= b`` is ``data.agento__opa.order_lte(a,
    b)``), the numeric built-ins (`abs`, `sum`, ...) renamed to its functions, and every call of
    a built-in of `REWRITTEN_BUILTINS` written as a call of the function it names (``max(xs)``
    is ``data.agento__order.max_of(xs)``), on the same lines, so that rego-cpp orders values and
    computes on numbers as OPA does. ``local``: the functions the module's package defines,
    which keep their names."""
    module = _Parser(source).module()
    numbers = f"data.{NUMBERS_PACKAGE}."
    # Point edits: open before each left operand (the outer operation first), the operator
    # becomes a comma, close after each right operand (the inner operation first); a unary
    # minus becomes the call; a call's name is replaced after any opening at its offset.
    edits: list[tuple[int, int, int, str]] = []  # offset, order, length replaced, text
    for op in module.operations:
        width = op.end - op.start
        edits.append((op.start, -width, 1 if op.unary else 0, f"{numbers}{op.function}("))
        if not op.unary:
            edits.append((op.operator.offset, 0, len(op.operator.text), ","))
        edits.append((op.end, width, 0, ")"))
    kept = local | module.functions
    for call in module.numeric_calls:
        if call.text not in kept and call.text not in module.imports:
            edits.append((call.offset, 0, len(call.text), numbers + _NUMERIC_BUILTINS[call.text]))
    for name, offset in module.calls:
        imported = name.split(".")[0] in module.imports
        if name in REWRITTEN_BUILTINS and name not in kept and not imported:
            edits.append((offset, 0, len(name), f"data.{REWRITTEN_BUILTINS[name]}"))
    if not edits:
        return source
    parts, at = [], 0
    for offset, _, length, text in sorted(edits, key=lambda e: (e[0], e[1])):
        parts += [source[at:offset], text]
        at = max(at, offset + length)
    return "".join(parts) + source[at:]


def package_functions(modules: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """Each package's functions (across its modules): names `ordered` leaves as they are."""
    functions: dict[str, set[str]] = {}
    for source in modules.values():
        module = _Parser(source).module()
        functions.setdefault(module.package, set()).update(module.functions)
    return {package: frozenset(names) for package, names in functions.items()}


def unrepresentable(literal: str) -> str | None:
    """Why the embedded engine cannot hold a number literal exactly (it holds integers of any
    size, but other numbers as IEEE doubles, where OPA computes with arbitrary precision);
    ``None`` when it can."""
    if literal.isdigit():
        return None
    try:
        value = Decimal(literal)
    except InvalidOperation:
        return None
    as_float = float(literal)
    if math.isinf(as_float):
        return f"number {literal} is beyond the embedded engine's 64-bit floats"
    integral = value == value.to_integral_value()
    if integral and abs(value) > _MAX_EXACT_INTEGER and Decimal(as_float) != value:
        return (
            f"number {literal} is an integer the embedded engine would hold as "
            f"{Decimal(as_float):f}: write it within ±2^53, or as a string"
        )
    return None
