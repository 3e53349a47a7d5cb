"""OPA's own conformance cases, run through the
embedded engine as OPA's harness runs them (``v1/topdown/topdown_test.go``, ``testRun``), and
through OPA's evaluator to check the harness itself.

OPA's harness compiles the case's modules (named ``test-0.rego``, ``test-1.rego``, ...), loads
``data`` as the base document, evaluates ``query`` with ``input`` (or the Rego term
``input_term``), and compares the set of the query's variable bindings with ``want_result``
(each bound array sorted first under ``sort_bindings``), or the error with ``want_error`` (a text
the message contains) and ``want_error_code``. Here the query is the body of a rule of a
generated package, ``results contains {"x": x, ...} if { <query> }`` over the variables
``want_result`` binds, and that package is decided with `agento.EmbeddedEngine.evaluate`: the
path every decision takes, with everything agento checks and rewrites at load.

Each case ends as one of:

- ``passed``: the answer OPA's harness wants: the same bindings, or an error where OPA errs (with
  the same code, where the case names one);
- ``refused``: agento refuses the bundle at load (a located `agento.BundleError`): never a
  pass, since OPA answers there;
- ``failed``: another answer;
- ``out``: not comparable, with the reason (OPA runs ``strict_error`` cases with strict built-in
  errors, so the error they want is one OPA's default mode, agento's, makes undefined).

The cases are OPA's files, so the project does not keep copies: ``AGENTO_OPA_CASES`` names a
checkout's ``v1/test/cases/testdata/v1``, of which the `FAMILIES` below are run.
``make conformance AGENTO_OPA_CASES=...`` (``python -m tests.policy.opa_conformance``) prints the
counts and every case not passed; ``--oracle`` runs the same cases through OPA's evaluator instead.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, cast

import yaml
from pydantic import JsonValue

from agento import BundleError, EmbeddedEngine, PolicyBundle, PolicyError
from agento._policy.rego import _tokens

CASES = Path(os.environ["AGENTO_OPA_CASES"]) if os.environ.get("AGENTO_OPA_CASES") else None
"""OPA's ``v1/test/cases/testdata/v1``, when a checkout is given."""

# Whole families, chosen for what governance policies are made of: comparisons and equality,
# arithmetic, aggregates, strings and sprintf, sets, objects and arrays, comprehensions, every,
# negation, with, semantic versions, regular expressions, time, JSON, type checks and casts,
# default, else, functions, partial and complete documents. Not run: network built-ins, crypto
# and tokens, GraphQL, AWS signing, print and templates, rand and uuid, other encodings, bitwise
# operations, globs, and OPA's evaluator internals (indexing, dispatch, the planner).
FAMILIES = (
    "aggregates",
    "arithmetic",
    "array",
    "casts",
    "comparisonexpr",
    "completedoc",
    "comprehensions",
    "defaultkeyword",
    "elsekeyword",
    "eqexpr",
    "every",
    "functions",
    "jsonbuiltins",
    "negation",
    "objectfilter",
    "objectget",
    "objectkeys",
    "objectremove",
    "objectunion",
    "objectunionn",
    "partialobjectdoc",
    "partialsetdoc",
    "regexfind",
    "regexfindallstringsubmatch",
    "regexisvalid",
    "regexmatch",
    "regexreplace",
    "regexsplit",
    "semvercompare",
    "semverisvalid",
    "sets",
    "sprintf",
    "strings",
    "time",
    "typebuiltin",
    "typenamebuiltin",
    "withkeyword",
)
PACKAGE = "agento_conformance"
"""The generated package whose rule holds the case's query."""

Outcome = Literal["passed", "refused", "failed", "out"]

_NEWER = "a later OPA's behaviour, which the case was written for"
BEYOND_ORACLE: dict[tuple[str, int], str] = {
    ("jsonbuiltins/test-is-valid.yaml", 4): f"{_NEWER}: yaml.is_valid of unreachable content",
    **{
        ("negation/test-not-body-rego-v2.yaml", i): "`import rego.v2` is a later OPA's"
        for i in (0, 1)
    },
    **{
        ("semvercompare/test-semvercompare-strict.yaml", i): f"{_NEWER}: SemVer's leading zeros"
        for i in (0, 1, 2)
    },
    **{
        ("semverisvalid/test-semverisvalid-strict.yaml", i): f"{_NEWER}: SemVer's leading zeros"
        for i in range(7)
    },
    ("time/test-time-0947.yaml", 0): "`test.sleep` is a built-in of OPA's own test harness",
}
"""The cases OPA v1.20.2's own evaluator (the oracle) does not pass: the files are kept whole, as
OPA ships them at the commits recorded, and these few were written for a later OPA. The oracle
test checks that this list is exactly the oracle's failures."""

HOST_ANSWERS: dict[tuple[str, int], str] = {
    ("withkeyword/test-with-builtin-mock.yaml", 24): "`opa.runtime` answers what its host "
    "gives: OPA's test harness gives nothing (`{}`), OPA's server its configuration and "
    'environment, agento `{"env": ...}` with what the engine is given (docs/policies.md)',
}
"""Cases whose answer is the host's, not Rego's."""

_STRICT_ONLY = ("eval_builtin_error", "eval_type_error")
"""The error codes of a built-in's failure, which OPA's default mode makes undefined."""


@dataclass(frozen=True)
class Case:
    file: str
    """``family/test-x.yaml`` under `CASES`."""
    index: int
    """Its place in the file (notes repeat within a file)."""
    note: str
    query: str
    modules: tuple[str, ...]
    data: Any
    input: Any
    has_input: bool
    input_term: str | None
    want_result: list[dict[str, Any]] | None
    want_error: str | None
    want_error_code: str | None
    sort_bindings: bool
    strict_error: bool

    @property
    def family(self) -> str:
        return self.file.split("/", 1)[0]

    @property
    def name(self) -> str:
        return f"{self.file}#{self.index}: {self.note}"

    @property
    def reads_input(self) -> bool:
        sources = (self.query, *self.modules)
        return any(t.kind == "name" and t.text == "input" for m in sources for t in _tokens(m))

    @property
    def variables(self) -> list[str]:
        """The query's variables the case binds, as ``want_result`` names them."""
        return sorted({name for row in self.want_result or () for name in row})

    @property
    def wants_error(self) -> bool:
        return self.want_error is not None or self.want_error_code is not None


@dataclass(frozen=True)
class Result:
    case: Case
    outcome: Outcome
    detail: str = ""


# -- reading the cases as OPA does


class _Loader(yaml.SafeLoader):
    """YAML as OPA reads it (sigs.k8s.io/yaml over go-yaml): ``1e2`` is a number, and numbers
    keep their decimal text (OPA compares them as arbitrary-precision decimals)."""


_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "-+.0123456789":
    _Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, [_first])


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    return Decimal(loader.construct_scalar(cast(yaml.ScalarNode, node)))


_Loader.add_constructor("tag:yaml.org,2002:float", _decimal)


def load(root: Path | None = CASES) -> list[Case]:
    """Every case of the `FAMILIES`' files under ``root``, in file order."""
    if root is None:
        raise SystemExit("set AGENTO_OPA_CASES to a checkout's v1/test/cases/testdata/v1")
    cases = []
    files = (p for family in FAMILIES for p in (root / family).glob("*.y*ml"))
    for path in sorted(files):
        file = path.relative_to(root).as_posix()
        document = yaml.load(path.read_text(), Loader=_Loader)
        for index, raw in enumerate(document.get("cases") or ()):
            cases.append(
                Case(
                    file=file,
                    index=index,
                    note=raw["note"],
                    query=raw["query"],
                    modules=tuple(raw.get("modules") or ()),
                    data=raw.get("data"),
                    input=raw.get("input"),
                    has_input="input" in raw,
                    input_term=raw.get("input_term"),
                    want_result=raw.get("want_result"),
                    want_error=raw.get("want_error"),
                    want_error_code=raw.get("want_error_code"),
                    sort_bindings=bool(raw.get("sort_bindings")),
                    strict_error=bool(raw.get("strict_error")),
                )
            )
    if not cases:
        raise SystemExit(
            f"{root} holds none of the families' cases: give OPA's v1/test/cases/testdata/v1"
        )
    return cases


# -- comparing answers as OPA's harness does


def _plain(value: Any) -> JsonValue:
    """A loaded YAML value as JSON (decimals back to numbers), for bundles and inputs."""
    return cast(JsonValue, json.loads(json.dumps(value, default=_number)))


def _number(value: object) -> object:
    if isinstance(value, Decimal):
        integral = value == value.to_integral_value() and "e" not in str(value).lower()
        return int(value) if integral else float(value)
    raise TypeError(f"{value!r} is not JSON")


def _key(value: Any) -> Any:
    """A hashable form under which two values are equal exactly when OPA's values are:
    numbers by their value (``1 == 1.0``), arrays in order, objects by their keys."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int | float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return ("number", number.normalize() if number else Decimal(0))
    if isinstance(value, list):
        return ("array", tuple(_key(v) for v in value))
    if isinstance(value, dict):
        return ("object", tuple(sorted((k, _key(v)) for k, v in value.items())))
    raise TypeError(f"{value!r} is not a value")


def _sorted(value: Any) -> Any:
    """``sort_bindings``: a bound array in OPA's order of values."""
    from agento._policy.embedded import _opa_order

    if not isinstance(value, list):
        return value
    return sorted(value, key=lambda v: _opa_order(_plain(v)))


def compare(case: Case, rows: list[dict[str, Any]]) -> str | None:
    """``None`` when ``rows`` (the query's bindings) are the set OPA's harness wants; else what
    differs."""
    assert case.want_result is not None
    names = case.variables
    want = Counter(_key({k: row.get(k) for k in names}) for row in case.want_result)
    got_rows = [
        {k: (_sorted(v) if case.sort_bindings else v) for k, v in row.items() if k in names}
        for row in rows
    ]
    got = Counter(_key(row) for row in got_rows)
    if set(want) == set(got):
        return None
    return f"wanted {_show(case.want_result)}, got {_show(got_rows)}"


def _show(value: object) -> str:
    text = json.dumps(value, default=_number, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 300 else text[:297] + "..."


def _input(case: Case) -> tuple[bool, Any]:
    """(whether the case gives an input, the input as JSON); an ``input_term`` that is not JSON
    raises ValueError."""
    if case.input_term is not None:
        return True, json.loads(case.input_term)
    return case.has_input, _plain(case.input) if case.has_input else None


# -- the embedded engine


_LOCAL = "agento_q_"
"""The prefix of the query's variables in the generated rule: a query's variables are its own,
and in a rule rego-cpp confuses a variable named like a top-level package with it."""


def query_module(case: Case) -> str:
    """The generated package: one rule whose body is the case's query, its variables renamed."""
    tokens = list(_tokens(case.query))
    # A case that wants an error binds nothing: its query's variables are those given by `=`.
    names = set(case.variables)
    if case.wants_error:
        names |= {
            t.text
            for i, t in enumerate(tokens)
            if t.kind == "name"
            and t.text not in ("input", "data")
            and i
            and tokens[i - 1].text == "="
            and (i + 1 == len(tokens) or tokens[i + 1].text not in (".", "[", "("))
        }
    query, at = [], 0
    for i, t in enumerate(tokens):
        if t.kind == "name" and t.text in names and not (i and tokens[i - 1].text == "."):
            query += [case.query[at : t.offset], _LOCAL + t.text]
            at = t.offset + len(t.text)
    text = "".join([*query, case.query[at:]])
    binding = ", ".join(f"{json.dumps(name)}: {_LOCAL}{name}" for name in case.variables)
    body = "\n".join(f"\t{line}" for line in text.strip().splitlines())
    return f"package {PACKAGE}\n\nresults contains {{{binding}}} if {{\n{body}\n}}\n"


def run_embedded(case: Case, *, preflight: bool = True) -> Result:
    result = _run_embedded(case, preflight=preflight)
    # A decision always has an input, `{}` at least, where the case has none: when OPA's own
    # answer with `{}` is not the one the case wants either, the difference is that input.
    if (
        result.outcome in ("failed", "refused")
        and not case.has_input
        and case.input_term is None
        and run_oracle(replace(case, input={}, has_input=True)).outcome != "passed"
    ):
        return Result(
            case,
            "out",
            "it reads an input it is not given, and a decision always has one: with `{}`, "
            "OPA's own answer is not the one the case wants",
        )
    return result


def _run_embedded(case: Case, *, preflight: bool = True) -> Result:
    if (case.file, case.index) in BEYOND_ORACLE:
        reason = BEYOND_ORACLE[case.file, case.index]
        return Result(case, "out", f"OPA v1.20.2 answers otherwise: {reason}")
    if (case.file, case.index) in HOST_ANSWERS:
        return Result(case, "out", HOST_ANSWERS[case.file, case.index])
    if case.strict_error and case.wants_error:
        return Result(
            case,
            "out",
            "OPA's harness runs it with strict built-in errors, and the error it wants is one "
            "OPA's default mode (agento's) makes undefined",
        )
    try:
        given, document = _input(case)
    except ValueError:
        return Result(case, "out", f"input_term {case.input_term!r} is not JSON")
    files = {f"test-{i}.rego": m.encode() for i, m in enumerate(case.modules)}
    files[f"{PACKAGE}.rego"] = query_module(case).encode()
    if case.data is not None:
        files["data.json"] = json.dumps(_plain(case.data)).encode()
    if given and not isinstance(document, dict):
        return Result(case, "out", "the input is not an object, which a decision's always is")
    try:
        bundle = PolicyBundle.from_files(files, source=case.file)
        engine = EmbeddedEngine(bundle, preflight=preflight)
    except BundleError as e:
        where = str(e.problems[0]) if e.problems else str(e).splitlines()[0]
        return Result(case, "refused", where[:300])
    try:
        decision = engine.evaluate(PACKAGE, document or {})
    except PolicyError as e:
        return _judge(case, None, str(e))
    if decision.result is None:
        error = decision.reasons[0].removeprefix("policy evaluation failed: ")
        return _judge(case, None, error)
    result = decision.result
    rows = result.get("results", []) if isinstance(result, dict) else None
    if not isinstance(rows, list):
        return Result(case, "failed", f"the generated package answered {_show(result)}")
    return _judge(case, cast(list[dict[str, Any]], rows), None)


def _judge(case: Case, rows: list[dict[str, Any]] | None, error: str | None) -> Result:
    if case.wants_error:
        if error is None:
            return Result(case, "failed", f"answered {_show(rows)} where OPA errs")
        code = case.want_error_code
        if code is not None and code not in error:
            return Result(case, "failed", f"errs ({error[:200]}) where OPA errs with {code}")
        return Result(case, "passed")
    if error is not None:
        return Result(case, "failed", f"errs ({error[:200]})")
    difference = compare(case, rows or [])
    return Result(case, "passed") if difference is None else Result(case, "failed", difference)


# -- OPA's evaluator, to check the harness


def run_oracle(case: Case) -> Result:
    """The case through OPA v1.20.2's evaluator (opa-golib-python-bindings), which always runs
    with strict built-in errors: where a non-strict case's answer turns on a built-in error it
    is ``out``."""
    from opa_bindings import OpaEngine, OpaError  # type: ignore[import-untyped]

    try:
        given, document = _input(case)
    except ValueError:
        return Result(case, "out", f"input_term {case.input_term!r} is not JSON")
    engine = OpaEngine()
    try:
        for i, module in enumerate(case.modules):
            engine.add_policy(f"test-{i}.rego", module)
        if case.data is not None:
            engine.add_data(_plain(case.data))
        bindings = engine.eval_query(case.query, document if given else None)
    except OpaError as e:
        error = str(e)
        strict_only = any(f"{code}:" in error for code in _STRICT_ONLY)
        if strict_only and not case.strict_error and not case.wants_error:
            return Result(case, "out", f"a built-in error, strict in this evaluator: {error}")
        return _judge(case, None, error)
    finally:
        engine.close()
    return _judge(case, cast(list[dict[str, Any]], bindings), None)


# -- reporting


def run(cases: Iterable[Case], *, oracle: bool = False) -> list[Result]:
    runner = run_oracle if oracle else run_embedded
    return [runner(case) for case in cases]


def counts(results: Iterable[Result]) -> Counter[str]:
    return Counter(r.outcome for r in results)


def pass_rate(results: list[Result]) -> float:
    """Passed among the cases compared (``out`` ones left aside)."""
    compared = [r for r in results if r.outcome != "out"]
    return sum(r.outcome == "passed" for r in compared) / len(compared) if compared else 0.0


def report(results: list[Result]) -> Iterator[str]:
    c = counts(results)
    yield (
        f"{len(results)} cases: {c['passed']} passed, {c['refused']} refused, "
        f"{c['failed']} failed, {c['out']} out; pass rate {pass_rate(results):.1%} "
        f"of {len(results) - c['out']} compared"
    )
    for r in results:
        if r.outcome != "passed":
            yield f"  {r.outcome}: {r.case.name}: {r.detail}"


def main(argv: list[str]) -> int:
    results = run(load(), oracle="--oracle" in argv)
    for line in report(results):
        print(line)
    return 1 if counts(results)["failed"] else 0  # a case answered otherwise fails a script


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
