"""The embedded engine against OPA 1.x: what it loads and refuses, the answers it gives (time
zones included, in a process where temporalio is loaded), what policies can see of the worker,
and which decisions replay."""

from __future__ import annotations

import ast
import ctypes
import hashlib
import hmac
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import temporalio.api.common.v1  # noqa: F401 (libstdc++ loaded first, as in every worker)
from pydantic import JsonValue

from agento import BundleError, EmbeddedEngine, PolicyBundle, PolicyError
from agento._audit.replay import replay_decisions
from agento._audit.report import AuditReport, DecisionRecorded
from agento._policy.native import ISOLATED, native
from agento._policy.rego import BundleAnalysis
from tests.policy.bundles import write_bundle

ROOT = Path(__file__).parents[2]

# OPA 1.x constructs from OPA's policy reference, each with the document OPA evaluates it to.
CONSTRUCTS: dict[str, tuple[str, dict[str, JsonValue], JsonValue]] = {
    "set literal in a one-line body": (
        'allow if input.channel in {"email", "sms"}',
        {"channel": "sms"},
        {"allow": True},
    ),
    "negated membership in a set literal": (
        'allow if {\n\tchannel := input.channel\n\tnot channel in {"fax"}\n}',
        {"channel": "email"},
        {"allow": True},
    ),
    "every in a body": (
        "allow if {\n\tevery x in input.xs { x > 0 }\n}",
        {"xs": [1, 2]},
        {"allow": True},
    ),
    "every over a literal domain": (
        "allow if {\n\tevery x in {1, 2} { x > 0 }\n}",
        {},
        {"allow": True},
    ),
    "multi-value rule with a set literal": (
        "q contains {1, 2}",
        {},
        {"q": [[1, 2]]},
    ),
    "object literal value and comprehension": (
        'limits := {"max": 3}\nsquares := {x: y | some x in input.xs; y := x * x}',
        {"xs": [2]},
        {"limits": {"max": 3}, "squares": {"2": 4}},
    ),
    "array and set comprehensions in a body": (
        "evens := [x | some x in input.xs; x % 2 == 0]\n"
        "odd := {x | some x in input.xs; x % 2 == 1}",
        {"xs": [1, 2, 3, 4]},
        {"evens": [2, 4], "odd": [1, 3]},
    ),
    "contains with an if body": (
        'deny contains msg if {\n\tsome x in input.xs\n\tx > 2\n\tmsg := sprintf("%d", [x])\n}',
        {"xs": [1, 3]},
        {"deny": ["3"]},
    ),
    "else chain": (
        'grade := "a" if input.n > 90\nelse := "b" if input.n > 80\nelse := "c"',
        {"n": 85},
        {"grade": "b"},
    ),
    "else with bodies": (
        'size := "big" if {\n\tinput.n > 10\n} else := "small" if {\n\tinput.n >= 0\n}',
        {"n": 3},
        {"size": "small"},
    ),
    "function defined only by a default": (
        "default f(_) := 1\nallow if f(7) == 1",
        {},
        {"allow": True},
    ),
    "function with a default and a body": (
        "default double(_) := 0\ndouble(x) := y if {\n\ty := x * 2\n}\nfour := double(2)",
        {},
        {"four": 4},
    ),
    "function with a ref head": (
        'foo["bar"](x) := x + 1\nthree := foo.bar(2)',
        {},
        {"foo": {}, "three": 3},
    ),
    "ref head rules": (
        'fruit.apple.color := "red"\nfruit.banana.color := "yellow"',
        {},
        {"fruit": {"apple": {"color": "red"}, "banana": {"color": "yellow"}}},
    ),
    "empty set": (
        "none := set()\nempty if count(none) == 0",
        {},
        {"empty": True, "none": []},
    ),
    "with replacing an input field and a built-in": (
        "inner if input.x <= 1\n"
        "mocked if inner with input.x as 1\n"
        "clock := t if {\n\tt := time.now_ns() with time.now_ns as 5\n}",
        {"x": 2},
        {"clock": 5, "mocked": True},
    ),
    "strings holding braces and hashes": (
        'note := "x { y } # not a comment"\nraw := `a {\n# b }`',
        {},
        {"note": "x { y } # not a comment", "raw": "a {\n# b }"},
    ),
    "some in a body, and a semicolon": (
        "found if {\n\tsome i, x in input.xs; x == 2; i == 1\n}",
        {"xs": [1, 2]},
        {"found": True},
    ),
    "import rego.v1 and future keywords": (
        "import rego.v1\nimport future.keywords.in\nallow if 1 in [1]",
        {},
        {"allow": True},
    ),
    "multi-line expressions in brackets": (
        "total := sum([\n\t1,\n\t2,\n])",
        {},
        {"total": 3},
    ),
}

V0_FORMS = {
    "body without if": "allow {\n\ttrue\n}",
    "partial set, v0": 'deny[msg] {\n\tmsg := "no"\n}',
    "function body without if": "f(x) {\n\tx > 1\n}",
    "value with a v0 body": "p = 1 {\n\ttrue\n}",
    "else with a v0 body": "p := 1 if {\n\tfalse\n} else := 2 {\n\ttrue\n}",
}


def engine_for(tmp_path: Path, body: str, **options: Any) -> EmbeddedEngine:
    return EmbeddedEngine(write_bundle(tmp_path, {"p.rego": f"package p\n\n{body}\n"}), **options)


@pytest.mark.parametrize("construct", list(CONSTRUCTS))
def test_opa_1_constructs_load_and_give_opas_answer(tmp_path: Path, construct: str) -> None:
    body, document, expected = CONSTRUCTS[construct]
    assert engine_for(tmp_path, body).evaluate("p", document).result == expected


@pytest.mark.parametrize("form", list(V0_FORMS))
def test_v0_forms_are_refused_with_a_location(tmp_path: Path, form: str) -> None:
    with pytest.raises(BundleError) as raised:
        engine_for(tmp_path, V0_FORMS[form])
    [problem] = raised.value.problems
    assert problem.message.startswith("rule body without `if` (OPA v0 syntax)")
    assert problem.row >= 3


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("1e400", "beyond the embedded engine's 64-bit floats"),
        ("1e30", "would hold as 1000000000000000019884624838656"),
    ],
)
def test_numbers_the_engine_cannot_hold_are_refused_at_load(
    tmp_path: Path, literal: str, message: str
) -> None:
    with pytest.raises(BundleError) as raised:
        engine_for(tmp_path, f"x := {literal} + 1")
    [problem] = raised.value.problems
    assert (problem.row, problem.column) == (3, 6)
    assert message in problem.message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("allow if every x in input.xs { x > 0 }", "`every` as a one-line rule body"),
        (
            "c if not small with input.n as 500\nsmall if input.n < 100",
            "`not ... with ...` as a one-line rule body",
        ),
        ("squares := {x: x * x | some x in input.xs}", "Parenthesize the comprehension's term"),
        ("doubled := [x + 1 | some x in input.xs]", "OPA reads it as the set union"),
        # A comparison without its right side stays an error through the ordering rewrite.
        ("allow if input.amount <=", "Invalid boolean operator"),
        # What rego-cpp parses but answers differently from OPA, refused with the rewrite.
        ('t := time.parse_ns("2006-01-02", "2024-01-01")', "use `time.parse_rfc3339_ns`"),
        ('c if not "x" in input.g', "Bind the value first"),
        ("c if not is_string(input.t)", "Bind the value first"),
        ("c if not input.n > 1", "Bind the value first"),
        ("c if not allowed[input.k]\nallowed := {}", "Bind the value first"),
        # A mock of a built-in agento writes as a function of its own would not replace it.
        ('c if { n with sprintf as "x" }\nn if sprintf("%d", [1]) == "x"', "the mock would"),
        ("c if { n with lt as true }\nn if 2 < 1", "a function of its own for `lt`"),
        # In its package OPA calls such a rule for the operator (7 here); rego-cpp the built-in.
        ("mul(a, b) := 7\n\nx := input.n * 3", "the built-in that `*` calls"),
        ("lt := 1\n\nc if input.n < 5", "the built-in that `<` calls"),
        ("minus := 1\n\nx := -input.n", "the built-in that `-` calls"),
        ("eq := 1\n\nc if input.n = 1", "the built-in that `=` calls"),
        ("or := 1\n\nx := {1} | {2}", "the built-in that `|` calls"),
    ],
)
def test_what_rego_cpp_cannot_parse_or_answers_differently_is_a_located_load_error(
    tmp_path: Path, body: str, message: str
) -> None:
    with pytest.raises(BundleError) as raised:
        engine_for(tmp_path, body)
    [problem] = raised.value.problems
    assert problem.row == 3
    assert message in problem.message


@pytest.mark.parametrize(
    "body",
    [
        "m := max([1001, 999])",
        "m := min([-0.01, -5])",
        'm := [max({"b", "a"}), min([[2], [1, 5]]), max([null, true, 1, "a"])]',
        "s := sort([3, 10, 2, 10, 1.5])",
        's := [sort({3, 1, 2}), sort([]), sort(["b", 1, null, "a", false])]',
        "undefined if max([])",
        'undefined if sort(object.get({}, "k", 3))',
        'c := semver.compare("1.10.0", "1.9.9")',
        'c := [semver.compare("1.0.0-alpha", "1.0.0-alpha.1"), semver.compare("1.0.0", "1.0.0-1")]',
        'c := [semver.compare("1.0.0-b.11", "1.0.0-b.2"), semver.compare("1.0.0-b", "1.0.0-1")]',
        'c := [semver.compare("2.1.1+build.5", "2.1.1"), semver.compare("1.2.3", "10.2.3")]',
        'undefined if semver.compare("1", "1.0.0")',
        's := [strings.split_n("a.b.c.d", ".", 2), strings.split_n("a.b.c.d", ".", -3)]',
        's := [strings.split_n("abc", "", 2), strings.split_n("", ".", 1)]',
        's := strings.split_n("a", ".", 0)',
        'undefined if strings.split_n("a.b", ".", 1.5)',
    ],
)
def test_builtins_rego_cpp_answers_otherwise_are_written_as_functions_giving_opas_answer(
    body: str,
) -> None:
    """``max``, ``min``, ``sort`` (rego-cpp ordered numbers by their text), ``semver.compare``
    (by text: "1.10.0" was older than "1.9.9") and ``strings.split_n`` (missing) are calls of
    the generated module's functions; both engines answer alike."""
    pytest.importorskip("opa_bindings", reason="the oracle: `make .venv/.installed` installs it")
    from tests.policy.fidelity_table import Row, answers

    opa, embedded = answers(Row(body, ""))
    if any(f": {code}: " in opa for code in ("eval_type_error", "eval_builtin_error")):
        # The oracle runs with strict built-in errors; OPA's default makes the rule undefined.
        assert embedded == "{}", opa
    else:
        assert embedded == opa


@pytest.mark.parametrize("imported", ["future.keywords", "future.keywords.not"])
@pytest.mark.parametrize("document", [{}, {"g": ["x"], "n": 2, "t": "s"}, {"g": [], "n": 0}])
def test_a_not_over_a_read_loads_where_an_import_makes_opa_answer_as_rego_cpp(
    imported: str, document: dict[str, JsonValue]
) -> None:
    """Under ``import future.keywords`` (or ``.not``), OPA's `not` of an expression whose
    operands are undefined is true, as rego-cpp's always is: nothing to refuse."""
    pytest.importorskip("opa_bindings", reason="the oracle: `make .venv/.installed` installs it")
    from tests.policy.fidelity_table import Row, answers

    body = (
        f'import {imported}\n\nc if not "x" in input.g\n\nd if not input.n > 1\n\n'
        "e if not is_string(input.t)\n\nf if not input.n + 1 == 3"
    )
    opa, embedded = answers(Row(body, "", document))
    assert embedded == opa


def test_a_not_over_a_read_is_refused_under_other_imports(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="Bind the value first"):
        engine_for(tmp_path, 'import future.keywords.in\nimport rego.v1\nc if not "x" in input.g')


@pytest.mark.parametrize(
    "body",
    [
        'deny := input.user in {"mallory"}',
        "a := [2 in [1, 2], 5 in [1, 2], 3.50 in {3.5}]",
        'f(x) := x in {1}\n\na := {"f": f(1), "set": {1 in [1], true}}',
        "a := b if {\n\tb := input.n in numbers.range(1, 3)\n}",
    ],
)
def test_a_membership_as_a_value_is_opas_boolean(body: str) -> None:
    """rego-cpp writes the true of ``x in xs`` as "True"; read as false, ``deny := input.user
    in blocked`` denied no one."""
    pytest.importorskip("opa_bindings", reason="the oracle: `make .venv/.installed` installs it")
    from tests.policy.fidelity_table import Row, answers

    opa, embedded = answers(Row(body, "", {"user": "mallory", "n": 2}))
    assert json.loads(embedded) == json.loads(opa)
    assert "true" in embedded


@pytest.mark.parametrize(
    "body",
    [
        "q := true\n\ns contains p if data.p.q = p",
        "s contains p if {\n\t[p] = [1]\n}",
        "f(x) := p if {\n\tp = x\n}\n\nt := f(1)",
    ],
)
def test_a_variable_named_like_a_package_in_a_unification_is_refused(
    tmp_path: Path, body: str
) -> None:
    """rego-cpp gives such a variable no value (``s`` was empty, ``t`` undefined)."""
    with pytest.raises(BundleError) as raised:
        engine_for(tmp_path, body)
    [problem] = raised.value.problems
    assert "named like the package `p`" in problem.message
    assert problem.row >= 3


@pytest.mark.parametrize(
    "body",
    [
        "q := true\n\ns contains x if data.p.q = x",
        'o[p] := 1 if p = "a"',
        "s contains p if {\n\tsome p in [1]\n}",
        "t := [p | p := 1]",
        "p = 1 if true",
    ],
)
def test_a_unification_both_engines_agree_on_loads(body: str) -> None:
    pytest.importorskip("opa_bindings", reason="the oracle: `make .venv/.installed` installs it")
    from tests.policy.fidelity_table import Row, answers

    opa, embedded = answers(Row(body, ""))
    assert json.loads(embedded) == json.loads(opa)


@pytest.mark.parametrize(
    "body",
    [
        "plus := 1\n\nx := input.n",  # the name alone is OPA's to allow
        "minus := 1\n\nx := -1",  # a negative literal calls nothing
        "or := 1\n\nx := [y | some y in [input.n]]",  # a comprehension's bar is no union
    ],
)
def test_a_rule_named_like_an_unused_operator_loads_as_in_opa(body: str) -> None:
    pytest.importorskip("opa_bindings", reason="the oracle: `make .venv/.installed` installs it")
    from tests.policy.fidelity_table import Row, answers

    opa, embedded = answers(Row(body, "", {"n": 2}))
    assert json.loads(embedded) == json.loads(opa)


@pytest.mark.parametrize(
    "body",
    [
        "m := json.marshal(max([input.a, input.b]))\n\nn := json.marshal(min([input.b, input.a]))",
        "j := json.marshal(input)\n\nk := json.marshal(input.f)",
    ],
)
def test_input_floats_and_the_last_of_equal_extremes_marshal_as_in_opa(body: str) -> None:
    """OPA's ``max`` and ``min`` keep the last of equal values (``max([0, 0.0])`` is 0.0), and
    an input float is marshalled as it was written: rego-cpp's float input held 1.15 as
    1.150000 and 0.0 as 0.000000."""
    pytest.importorskip("opa_bindings", reason="the oracle: `make .venv/.installed` installs it")
    from tests.policy.fidelity_table import Row, answers

    opa, embedded = answers(Row(body, "", {"a": 0, "b": 0.0, "f": 1.15}))
    assert embedded == opa
    assert "0.0" in opa


@pytest.mark.parametrize(
    "body",
    [
        "short(x) := x + 1\n\nr := short(2) > 1",
        "short(a, b) := a\n\nr := short(2, 3) > 1",
        "collection(x) := 1\n\nr := max([1, 2])",
        'plain(x) := 1\n\nr := sprintf("%s", ["a"])',
        'text(x) := 7\n\nr := [sprintf("%v", [input.f]), text(1), abs(input.f - 1.2) <= 0.05]',
    ],
)
def test_a_function_named_like_a_generated_modules_own_decides_as_opa(body: str) -> None:
    """rego-cpp resolves a call by name across packages: ``short(x)`` here made the numbers
    module's ``short(a, b)`` fail to compile, ``short(a, b)`` answered for it (``r`` was 2),
    ``plain(x)`` crashed the engine. The generated modules' helpers are named apart."""
    pytest.importorskip("opa_bindings", reason="the oracle: `make .venv/.installed` installs it")
    from tests.policy.fidelity_table import Row, answers

    opa, embedded = answers(Row(body, "", {"f": 1.15}))
    assert embedded == opa


def test_not_with_in_braces_loads_and_decides_as_opa(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path, "c if {\n\tnot small with input.n as 500\n}\nsmall if input.n < 100"
    )
    assert engine.evaluate("p", {"n": 5}).result == {"c": True, "small": True}


def test_numbers_it_holds_load(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, "a := 1e3\nb := 0.25\nc := 9223372036854775807\nd := 1.5e-3")
    assert engine.evaluate("p", {}).result == {
        "a": 1000,
        "b": 0.25,
        "c": 9223372036854775807,
        "d": 0.0015,
    }


def test_an_integer_literal_beyond_64_bits_loads_and_computes_exactly() -> None:
    """rego-cpp holds integer literals of any size exactly, and the numbers module computes on
    them as OPA does (these were refused at load)."""
    pytest.importorskip("opa_bindings", reason="the oracle: `make .venv/.installed` installs it")
    from tests.policy.fidelity_table import Row, answers

    body = (
        "a := 99999999999999999999 + 1\n\nb := -18446744073709551617 % 7\n\n"
        "c := 18446744073709551617 / 2\n\nd := max([18446744073709551617, 1.5])\n\n"
        "e := 18446744073709551617 > 18446744073709551616\n\n"
        "f := json.marshal(100000000000000000000000000000000000000 - 1)"
    )
    opa, embedded = answers(Row(body, ""))
    assert embedded == opa
    assert '"a": 100000000000000000000' in opa


# Time zones: the built-ins that aborted a worker, checked against Python's zone database.
INSTANTS = [1517832000000000000, 1711846800000000000, 1730595600000000000]  # around DST changes
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Pacific/Kiritimati", "Asia/Kolkata"]


def test_time_zone_built_ins_give_opas_answers(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        "date := time.date([input.ns, input.zone])\n"
        "clock := time.clock([input.ns, input.zone])\n"
        "weekday := time.weekday([input.ns, input.zone])",
    )
    for ns in INSTANTS:
        for zone in ZONES:
            local = datetime.fromtimestamp(ns / 1e9, tz=UTC).astimezone(ZoneInfo(zone))
            assert engine.evaluate("p", {"ns": ns, "zone": zone}).result == {
                "date": [local.year, local.month, local.day],
                "clock": [local.hour, local.minute, local.second],
                "weekday": local.strftime("%A"),
            }, (ns, zone)


def test_agento_policy_eval_survives_a_time_zone(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "b", {"p.rego": 'package p\n\nd := time.date([0, "UTC"])\n'})
    document = tmp_path / "input.json"
    document.write_text("{}")
    command = ["policy", "eval", str(bundle), "--path", "p", "--input", str(document), "--json"]
    run = subprocess.run(
        [sys.executable, "-m", "agento", *command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert '"d": [\n      1970,\n      1,\n      1\n    ]' in run.stdout


# What the policy sees of the input: every value as OPA reads the JSON.

LIMIT = "allow if input.amount <= 100\n\ndefault allow := false\n\nseen := input"


@pytest.mark.parametrize(
    ("amount", "allowed"),
    [
        (2**64 + 50, False),  # ctypes' 64-bit input masked this to 50: an allow
        (2**63, False),  # masked to -2**63
        (2**63 - 1, False),
        (10**40 + 1, False),
        (-(2**63), True),
        (-(2**64) - 5, True),
    ],
)
def test_integers_beyond_64_bits_reach_the_policy_whole(
    tmp_path: Path, amount: int, allowed: bool
) -> None:
    decision = engine_for(tmp_path, LIMIT).evaluate("p", {"amount": amount})
    assert decision.result == {"allow": allowed, "seen": {"amount": amount}}


def test_a_string_holding_nul_is_not_cut_there(tmp_path: Path) -> None:
    """Cut at NUL, "admin\\u0000x" was "admin" to the policy."""
    body = 'cut if input.user == "admin"\n\nwhole if input.user == "admin\\u0000x"'
    engine = engine_for(tmp_path, body)
    assert engine.evaluate("p", {"user": "admin\x00x"}).result == {"whole": True}


DIGESTS = """
import threading
import temporalio.client, temporalio.worker  # the libraries a worker loads, before agento
from agento import EmbeddedEngine
engine = EmbeddedEngine(BUNDLE)
print(engine.evaluate("p", {"s": "x"}).result, flush=True)
worker = threading.Thread(target=lambda: print(engine.evaluate("p", {"s": "y"}).result))
worker.start()
worker.join()
"""


def test_digests_compute_in_a_worker_process(tmp_path: Path) -> None:
    """crypto.sha256 killed the process (SIGSEGV): OpenSSL, in rego-cpp's link namespace, read
    another library's thread-specific value as its own."""
    body = (
        "sha256 := crypto.sha256(input.s)\nmd5 := crypto.md5(input.s)\n"
        'sha1 := crypto.sha1(input.s)\nhmac := crypto.hmac.sha256(input.s, "k")'
    )
    bundle = write_bundle(tmp_path / "b", {"p.rego": f"package p\n\n{body}\n"})
    run = subprocess.run(
        [sys.executable, "-c", DIGESTS.replace("BUNDLE", repr(str(bundle)))],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    expected = [
        {
            "sha256": hashlib.sha256(s).hexdigest(),
            "md5": hashlib.md5(s).hexdigest(),
            "sha1": hashlib.sha1(s).hexdigest(),
            "hmac": hmac.new(b"k", s, "sha256").hexdigest(),
        }
        for s in (b"x", b"y")
    ]
    assert [ast.literal_eval(line) for line in run.stdout.splitlines()] == expected


class Unrefused(EmbeddedEngine):
    """The engine without its load-time refusals: a bundle rego-cpp cannot survive reaches it."""

    def _check(self, reproducible: bool, *, preflight: bool) -> BundleAnalysis:
        return BundleAnalysis((), {})


CRASHING = {
    "refunds.rego": "package refunds\n\nallow if input.amount <= 500\n",
    "refunds_test.rego": "package refunds_test\n\n"
    'test_small if data.refunds.allow with input as {"amount": 100}\n',
}


def test_a_bundle_that_crashes_the_engine_is_refused_and_the_process_lives(
    tmp_path: Path,
) -> None:
    """rego-cpp aborts (SIGABRT) compiling this; checked first in a forked child, it is a
    BundleError naming the step, and this process goes on deciding."""
    bundle = write_bundle(tmp_path / "b", CRASHING)
    with pytest.raises(BundleError) as raised:
        Unrefused(bundle, tests=True)
    assert "crashes the embedded engine (signal SIGABRT)" in str(raised.value)
    assert "compiling it (terminate called after throwing" in str(raised.value)
    assert "serve this bundle from an OPA server" in str(raised.value)
    assert engine_for(tmp_path / "c", "allow if input.n <= 5").evaluate("p", {"n": 5}).result == {
        "allow": True
    }


def test_a_bundle_that_evaluates_is_not_refused_by_the_preflight(tmp_path: Path) -> None:
    files = {
        **CRASHING,
        "refunds_test.rego": CRASHING["refunds_test.rego"].replace(
            'with input as {"amount": 100}', "with input.amount as 100"
        ),
    }
    engine = Unrefused(write_bundle(tmp_path / "b", files), tests=True)
    assert engine.evaluate("refunds_test", {}).result == {"test_small": True}


def test_a_worker_leaves_test_modules_out_so_a_crashing_test_cannot_stop_it(
    tmp_path: Path,
) -> None:
    bundle = write_bundle(tmp_path / "b", CRASHING)
    engine = EmbeddedEngine(bundle)
    assert engine.policies() == {"refunds"}
    assert engine.evaluate("refunds", {"amount": 100}).result == {"allow": True}
    with pytest.raises(PolicyError, match=r"no policy 'refunds_test'.*it defines: refunds$"):
        engine.evaluate("refunds_test", {})
    with pytest.raises(BundleError, match="crashes the embedded engine"):
        EmbeddedEngine(bundle, tests=True)  # as `agento policy test` loads it


@pytest.mark.parametrize("package", ["refunds", "refunds.checks_test"])
def test_a_test_module_inside_a_policys_package_is_compiled(tmp_path: Path, package: str) -> None:
    """OPA's answer for ``data.refunds`` holds the rules of a test file in that package, or in
    a package under it."""
    pytest.importorskip("opa_bindings", reason="the oracle: `make .venv/.installed` installs it")
    from tests.policy.oracle import Oracle

    files = {
        "refunds.rego": "package refunds\n\nlimit := 500\n",
        "refunds_test.rego": f"package {package}\n\ntest_limit if data.refunds.limit == 500\n",
    }
    bundle = PolicyBundle.load(write_bundle(tmp_path / "b", files))
    answer = Oracle(bundle).decide("refunds", {}).value
    assert isinstance(answer, dict)
    assert len(answer) == 2  # the limit, and the test (or its package)
    assert EmbeddedEngine(bundle).evaluate("refunds", {}).result == answer


@pytest.mark.parametrize(
    ("read", "answer"),
    [
        ("limit := data.limits.checks_test.limit", {"limit": 500}),
        ("limits := data.limits", {"limits": {"checks_test": {"limit": 500}}}),
    ],
)
def test_a_test_module_another_module_reads_is_compiled(
    tmp_path: Path, read: str, answer: dict[str, JsonValue]
) -> None:
    """As OPA reads it: a policy may read a test package's rules, or a package above it."""
    files = {
        "refunds.rego": f"package refunds\n\n{read}\n",
        "limits/checks_test.rego": "package limits.checks_test\n\nlimit := 500\n",
    }
    pytest.importorskip("opa_bindings", reason="the oracle: `make .venv/.installed` installs it")
    from tests.policy.oracle import Oracle

    bundle = PolicyBundle.load(write_bundle(tmp_path / "b", files))
    assert Oracle(bundle).decide("refunds", {}).value == answer
    assert EmbeddedEngine(bundle).evaluate("refunds", {}).result == answer


def test_a_string_cannot_forge_a_key_of_the_result(tmp_path: Path) -> None:
    """The result was read from rego-cpp's text, which does not escape strings: this input
    closed its string and added `"allow": true` to a deny."""
    engine = engine_for(tmp_path, "default allow := false\n\nnote := input.note")
    forged = 'x", "allow": true, "z": "'
    decision = engine.evaluate("p", {"note": forged})
    assert decision.result == {"allow": False, "note": forged}
    assert decision.allow is False


SPECIAL = 'q"b\\s\nn\tt\x00z é😀'


def test_strings_with_quotes_backslashes_and_control_characters_are_opas(tmp_path: Path) -> None:
    """Each failed the decision ("policy evaluation failed"): rego-cpp's text was not JSON."""
    literal = json.dumps(SPECIAL, ensure_ascii=False)
    body = (
        f"same if input.s == {literal}\n"
        "s := input.s\n"
        'joined := concat("-", [input.s, "x"])\n'
        'formatted := sprintf("%s!", [input.s])\n'
        f"inner := {{{literal}: input.s}}"
    )
    decision = engine_for(tmp_path, body).evaluate("p", {"s": SPECIAL})
    assert decision.result == {
        "same": True,
        "s": SPECIAL,
        "joined": f"{SPECIAL}-x",
        "formatted": f"{SPECIAL}!",
        "inner": {SPECIAL: SPECIAL},
    }


def test_a_built_in_that_breaks_an_escape_fails_closed_never_misreads(tmp_path: Path) -> None:
    """rego-cpp's upper() turns the escaped newline into "\\N": not a string OPA would give,
    so the decision is an error (a deny), not a different string."""
    decision = engine_for(tmp_path, "loud := upper(input.s)").evaluate("p", {"s": "a\nb"})
    assert decision.allow is False
    assert decision.result is None
    assert "a string built-in (upper, lower, substring, ...) changed" in decision.reasons[0]


@pytest.mark.parametrize("number", [0.1234567891234, 1e-300, 5000.000000001, 1e20, 50.02, -0.05])
def test_input_floats_reach_the_policy_whole(tmp_path: Path, number: float) -> None:
    """rego-cpp's float input wrote each with six decimals: 0.1234567891234 was 0.123457 to
    the policy, 1e-300 was 0, and 5000.000000001 + 1 was 5001."""
    engine = engine_for(tmp_path, "seen := input.n\ntwice := input.n * 2")
    assert engine.evaluate("p", {"n": number}).result == {"seen": number, "twice": number * 2}


@pytest.mark.parametrize(
    ("comparison", "value", "opa"),
    [
        ("input.x >= 5", "4.999", True),  # strings order after numbers
        ("input.x <= 1000000", False, True),  # booleans before numbers
        ("input.x <= 1000", None, True),  # null first
        ("0 <= input.x", True, False),  # rego-cpp answered true
        ("input.x < 5", [1], False),
        ("input.x > 2", 3, True),
    ],
)
def test_values_of_different_types_order_as_in_opa(
    tmp_path: Path, comparison: str, value: JsonValue, opa: bool
) -> None:
    engine = engine_for(tmp_path, f"default c := false\n\nc if {comparison}")
    assert engine.evaluate("p", {"x": value}).result == {"c": opa}


def test_sets_in_a_result_come_in_opas_order(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, "s := {x | some x in input.xs}\nkeys := object.keys(input.o)")
    decision = engine.evaluate("p", {"xs": [10, 9, "a", 1.5, None, True], "o": {"b": 1, "a": 2}})
    assert decision.result == {"s": [None, True, 1.5, 9, 10, "a"], "keys": ["a", "b"]}


@pytest.mark.parametrize(
    "body",
    [
        'c if { g := input.g; not "x" in g }',
        "c if not input.flag",
        "c if not input.x == 1",
        "c if not data.q",
        "c if not count(deny) > 0\ndeny contains 1 if false",
    ],
)
def test_a_not_both_engines_agree_on_loads(tmp_path: Path, body: str) -> None:
    result = engine_for(tmp_path, body).evaluate("p", {"g": ["y"], "x": 2}).result
    assert isinstance(result, dict)
    assert result["c"] is True


def test_rego_cpp_calls_keep_the_gil() -> None:
    """Every ctypes call that released the GIL waited for it again; beside a busy thread a
    decision took 27 ms instead of 0.2 (benchmarks/decisions.py)."""
    assert ISOLATED
    assert isinstance(native.rego, ctypes.PyDLL)


def test_regopy_imported_first_is_said_loudly() -> None:
    run = subprocess.run(
        [sys.executable, "-c", "import regopy, agento._policy.native as r; print(r.ISOLATED)"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert run.stdout.strip() == "False"
    assert "regopy was imported before agento" in run.stderr


# What a policy can see of the worker.


def test_opa_runtime_shows_no_environment_by_default(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, "runtime := opa.runtime()")
    assert engine.evaluate("p", {}).result == {"runtime": {"env": {}}}
    shown = engine_for(tmp_path / "b", "runtime := opa.runtime()", environment={"SITE": "x"})
    assert shown.evaluate("p", {}).result == {"runtime": {"env": {"SITE": "x"}}}


def test_opa_runtime_named_as_a_with_value_shows_no_environment_either(tmp_path: Path) -> None:
    """``with time.now_ns as opa.runtime`` names the built-in without calling it: it showed the
    worker process's whole environment (found by OPA's conformance cases)."""
    engine = engine_for(
        tmp_path, "x := y if {\n\ty := time.now_ns() with time.now_ns as opa.runtime\n}"
    )
    assert engine.evaluate("p", {}).result == {"x": {"env": {}}}


# Decisions that replay, and those that cannot.


def report(*decisions: object) -> AuditReport:
    return AuditReport(
        workflow_id="wf",
        workflow_type="T",
        entries=[
            DecisionRecorded(event_id=i, time=datetime.now(UTC), decision=d)  # type: ignore[arg-type]
            for i, d in enumerate(decisions, start=1)
        ],
    )


def test_a_time_dependent_decision_replays_with_the_clock_pinned(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, "now := time.now_ns()\nallow if time.now_ns() > 0")
    decision = engine.evaluate("p", {})
    assert decision.nondeterministic == (), "the clock is pinned at replay: not marked"
    [replayed] = replay_decisions(report(decision), {engine.bundle.revision: engine.bundle})
    assert replayed.verdict == "identical"
    again = engine.evaluate("p", {}, clock=decision.evaluated_at)
    expected = int(decision.evaluated_at.timestamp()) * 10**9
    assert again.result["now"] == expected + decision.evaluated_at.microsecond * 1000  # type: ignore[call-overload,index]


def test_nondeterministic_built_ins_are_marked_listed_and_refusable(tmp_path: Path) -> None:
    body = 'import data.p.lib\nallow if lib.coin == 1\nid := uuid.rfc4122("x")'
    files = {
        "p.rego": f"package p\n\n{body}\n",
        "lib.rego": 'package p.lib\n\ncoin := rand.intn("c", 2)\n',
    }
    engine = EmbeddedEngine(write_bundle(tmp_path, files))
    decision = engine.evaluate("p", {})
    assert decision.nondeterministic == ("rand.intn", "uuid.rfc4122"), "through the import too"
    [replayed] = replay_decisions(report(decision), {engine.bundle.revision: engine.bundle})
    assert replayed.verdict == "not_replayable"
    assert replayed.note == "not reproducible: the policy calls rand.intn, uuid.rfc4122"
    with pytest.raises(
        BundleError, match=r"calls rand\.intn, uuid\.rfc4122, whose answers can change"
    ):
        EmbeddedEngine(write_bundle(tmp_path, files), reproducible=True)
    check = subprocess.run(
        [sys.executable, "-m", "agento", "policy", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    assert "not reproducible  p: rand.intn, uuid.rfc4122" in check.stdout
    assert "not reproducible  p/lib: rand.intn" in check.stdout
