"""``sprintf``, ``format_int`` and the ``bits`` built-ins in the embedded engine against OPA
v1.20.2's own evaluator. agento writes their calls as calls of a generated module
(`agento._policy.formatting`), which answers as OPA does or fails the decision; rego-cpp's own
``%d`` wrapped at 32 bits and answered nothing for a float, so a deny reason was lost."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import JsonValue

pytest.importorskip("opa_bindings", reason="the oracle: `make .venv/.installed` installs it")

from agento import EmbeddedEngine, PolicyBundle
from agento._policy.formatting import MODULE as FORMAT_MODULE
from agento._policy.numbers import PACKAGE as NUMBERS_PACKAGE
from agento._policy.numbers import module as numbers_module
from tests.policy.bundles import write_bundle
from tests.policy.differential import MODULE_LIMIT
from tests.policy.fidelity_table import Row, answers
from tests.policy.oracle import Oracle, both_engines

RULES = {
    "formatted": "r := sprintf(input.f, input.v)",
    "in_base": "r := format_int(input.n, input.base)",
    "shifted": "r := bits.lsh(input.n, input.s)",
    "masked": "r := bits.and(input.n, input.m)",
}

FORMATS = [
    "%s", "%v", "%d", "%5d", "%-5d|", "%05d", "%.3d", "%8.3d", "%x", "%X", "%o", "%b",
    "%f", "%.2f", "%8.3f", "%-9.1f|", "%e", "%.2e", "%E", "%g", "%G", "%.3g", "%q", "%t",
    "%c", "%+d", "% d", "%5s", "%-5s|", "%05s", "%.2s", "%5.1s", "%%", "%% %s", "%s %s",
    "%d %v %s", "%[1]d", "%*d", "100%", "%!", "a %s b %d c", "%5v", "%-8v|", "%.0f",
]  # fmt: skip

TEXTS = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6
) | st.sampled_from(["", "ab", 'a"b', "a\\b", "a\nb", "é", "\u200b", "x%dy", "%s"])
INTEGERS = st.integers(-1000, 1000) | st.integers(-(2**70), 2**70)
FLOATS = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.decimals(-10_000, 10_000, places=3, allow_nan=False, allow_infinity=False).map(float)
    | st.sampled_from([0.0, -0.0, 1.5, 0.1 + 0.2, 1000.5, 3e9, 1e-5, 1e21, 0.5, 2.0**-30])
)
SCALARS: st.SearchStrategy[JsonValue] = TEXTS | INTEGERS | FLOATS | st.booleans() | st.none()
VALUES: st.SearchStrategy[JsonValue] = (
    SCALARS
    | st.lists(SCALARS, max_size=3)
    | st.dictionaries(st.sampled_from(["a", "b", "é"]), SCALARS, max_size=2)
)


@pytest.fixture(scope="module")
def engines() -> tuple[EmbeddedEngine, Oracle]:
    return both_engines(RULES)


def _same_or_closed(
    engines: tuple[EmbeddedEngine, Oracle], name: str, document: dict[str, JsonValue]
) -> None:
    engine, oracle = engines
    theirs = oracle.decide(f"p/{name}", document)
    ours = engine.evaluate(f"p/{name}", document)
    if ours.result is None and ours.reasons == (MODULE_LIMIT,):
        return  # not written here: the decision fails, which denies
    expected = {} if theirs.strict_error else theirs.value  # undefined in the default mode
    assert ours.result == expected, (name, document, ours.reasons, theirs.error)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(f=st.sampled_from(FORMATS), values=st.lists(VALUES, min_size=0, max_size=3))
def test_sprintf_writes_what_opa_writes_or_fails_the_decision(
    engines: tuple[EmbeddedEngine, Oracle], f: str, values: list[JsonValue]
) -> None:
    _same_or_closed(engines, "formatted", {"f": f, "v": values})


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    n=INTEGERS | FLOATS,
    base=st.sampled_from([2, 8, 10, 16]),
    s=st.integers(0, 70),
    m=INTEGERS,
)
def test_format_int_and_bits_are_opas_or_fail_the_decision(
    engines: tuple[EmbeddedEngine, Oracle], n: int | float, base: int, s: int, m: int
) -> None:
    _same_or_closed(engines, "in_base", {"n": n, "base": base})
    _same_or_closed(engines, "shifted", {"n": n, "s": s})
    _same_or_closed(engines, "masked", {"n": n, "m": m})


@pytest.mark.parametrize(
    ("expression", "document"),
    [
        # rego-cpp wrapped %d at 32 bits: 2147483648 was -2147483648, 2^53 + 1 was 1.
        ('sprintf("%d", [input.n])', {"n": 2147483648}),
        ('sprintf("%d cents", [input.n])', {"n": 2**53 + 1}),
        ('sprintf("%d", [input.n])', {"n": 2**64 + 1}),
        ('sprintf("%d", [18446744073709551617])', {}),
        # A float under %d, %s of a number or of null: OPA's forms, not nothing.
        ('sprintf("%d", [input.n])', {"n": 1000.5}),
        ('sprintf("%s and %s", [input.n, input.z])', {"n": 3, "z": None}),
        ('sprintf("%.2f", [input.n])', {"n": 3}),
        ('sprintf("%v, %v, %v, %v", [1.50, 3e9, 1.0e3, 0.00001])', {}),
        ('sprintf("%v|%g|%G", [input.a, input.b, 1.5e-7])', {"a": 1234567.5, "b": 0.1 + 0.2}),
        ('sprintf("%5d|%-5d|%05d|%.3d", [3, 3, -3, 7])', {}),
        ('sprintf("%5s|%-5s|%.2s|%q", ["ab", "é", "abc", "a b"])', {}),
        ('sprintf("%x %X %o %b", [255, -255, 8, 5])', {}),
        ('sprintf("%s %d", ["a"])', {}),
        ('sprintf("%s", ["a", 2, 1.5, 18446744073709551617, null])', {}),
        ('sprintf("%v %v", [{"b", "a"}, {"k": [1, true]}])', {}),
        ('sprintf("%.2f %e %8.3f", [input.p, 1234.5, 3.14159])', {"p": 1.005}),
        ('format_int(input.n, 16)', {"n": -255}),
        ('format_int(input.n, 10)', {"n": -1.9}),
        ('format_int(input.n, 2)', {"n": 5}),
        ('format_int(input.n, 10)', {"n": 2**64 + 1}),
        ("bits.lsh(input.n, 40)", {"n": 3}),
        # rego-cpp wrote (and read) a space in a query as %20, where Go writes +.
        ("urlquery.encode(input.s)", {"s": "a b+é"}),
        ('urlquery.encode_object({"a b": ["c d"]})', {}),
        ('urlquery.decode_object("a+b=c+d&e=%2B")', {}),
    ],
)  # fmt: skip
def test_common_forms_are_written_as_opa_writes_them(
    expression: str, document: dict[str, JsonValue]
) -> None:
    """What policies write is answered, not failed: each of these is OPA's exact text."""
    opa, embedded = answers(Row(f"r := {expression}", "", document))
    assert embedded == opa
    assert not opa.startswith("error")


def test_a_deny_reason_built_with_a_mismatched_verb_still_denies(tmp_path: Path) -> None:
    """rego-cpp answered nothing for ``%d`` of a float, so the reason was missing and this
    policy allowed a refund of 1000.5 that OPA denies."""
    policy = (
        "package refunds\n\n"
        "deny contains msg if {\n\tinput.amount > 1000\n"
        '\tmsg := sprintf("refund %d exceeds 1000", [input.amount])\n}\n\n'
        "allow if count(deny) == 0\n"
    )
    bundle = PolicyBundle.load(write_bundle(tmp_path, {"refunds.rego": policy}))
    document: dict[str, JsonValue] = {"amount": 1000.5}
    ours = EmbeddedEngine(bundle).evaluate("refunds", document)
    assert ours.result == Oracle(bundle).decide("refunds", document).value
    assert ours.result == {"deny": ["refund %!d(float64=1000.5) exceeds 1000"]}


def test_under_with_sprintf_reaches_a_bounded_number_of_copies() -> None:
    """rego-cpp compiles a copy of each function a policy test reaches under ``with`` for every
    place it is called, recursively, so the module calls each of its functions from one place:
    a ``sprintf`` reached by a test costs 58 copies (164 when the module was first
    written), among them the numbers module's search for a float's shortest digits once."""
    ours = _definitions(FORMAT_MODULE)
    theirs = _definitions(numbers_module())

    def copies(name: str, reached: Counter[str]) -> int:
        reached[name] += 1
        body = ours.get(name) or theirs[name]
        mine = [f for f in re.findall(r"(?<![.\w])(\w+)\(", body) if f in ours and f != name]
        numbers = re.findall(rf"data\.{NUMBERS_PACKAGE}\.(\w+)\(", body)
        return 1 + sum(copies(f, reached) for f in mine + numbers)

    reached: Counter[str] = Counter()
    assert copies("sprintf_of", reached) <= 60
    assert reached["agento_text"] == 1
    assert reached["agento_from_dec"] <= 2


def _definitions(module: str) -> dict[str, str]:
    """Each function's definitions, its name's lines included, as one text."""
    bodies: dict[str, list[str]] = {}
    name = ""
    for line in module.splitlines():
        if head := re.match(r"(\w+)\(", line):
            name = head[1]
            line = line[len(name) :]
        if name and not line.lstrip().startswith("#"):
            bodies.setdefault(name, []).append(line)
    return {name: "\n".join(lines) for name, lines in bodies.items()}


@pytest.mark.parametrize(
    ("f", "values", "answered"),
    [
        ("%d." * 32, [1.5] * 32, True),
        ("%d." * 33, [1.5] * 33, False),
        ("x", ["a"] * 64, True),
        ("x", ["a"] * 65, False),
    ],
)
def test_a_format_of_more_than_32_verbs_or_64_values_fails_the_decision(
    engines: tuple[EmbeddedEngine, Oracle], f: str, values: list[JsonValue], answered: bool
) -> None:
    """rego-cpp's cost grows faster than the number of pieces (40 floats took 2.5 s), so a
    format or values from the input cannot hold up a worker."""
    engine, oracle = engines
    document: dict[str, JsonValue] = {"f": f, "v": values}
    ours = engine.evaluate("p/formatted", document)
    if answered:
        assert ours.result == oracle.decide("p/formatted", document).value
    else:
        assert ours.result is None
        assert ours.reasons == (MODULE_LIMIT,)
