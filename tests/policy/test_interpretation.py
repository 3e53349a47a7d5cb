"""How results become decisions: only `allow` exactly `true` allows, everything else denies."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import JsonValue

from agento import Decision, EmbeddedEngine
from agento._decision.record import canonical_json, input_digest
from tests.policy.bundles import write_bundle


def decide(tmp_path: Path, body: str, document: dict[str, JsonValue] | None = None) -> Decision:
    engine = EmbeddedEngine(write_bundle(tmp_path, {"p.rego": f"package p\n\n{body}\n"}))
    return engine.evaluate("p", document or {})


@pytest.mark.parametrize(
    ("body", "reasons"),
    [
        ('allow := "true"', ('allow is "true", not the boolean true',)),
        ("allow := 1", ("allow is 1, not the boolean true",)),
        ("allow := [true]", ("allow is [true], not the boolean true",)),
        ("allow if false", ("policy result has no allow",)),
        ("allowed := true", ("policy result has no allow",)),
        ("default allow := false", ("denied by the policy, which gave no reason",)),
    ],
)
def test_anything_but_boolean_true_denies(tmp_path: Path, body: str, reasons: object) -> None:
    decision = decide(tmp_path, body)
    assert decision.allow is False
    assert decision.reasons == reasons


def test_evaluation_error_denies_with_the_engines_message(tmp_path: Path) -> None:
    # Two values for a complete rule is an error in OPA too (not an undefined).
    decision = decide(tmp_path, "allow := true if input.a\nallow := false if input.a", {"a": 1})
    assert decision.allow is False
    assert decision.reasons == (
        "policy evaluation failed: "
        "eval_conflict_error: complete rules must not produce multiple outputs",
    )


@pytest.mark.parametrize(
    "body",
    [
        "allow if 1 / input.zero > 0",  # divide by zero
        'allow if strings.any_prefix_match(5, "a")',  # a built-in given the wrong type
    ],
)
def test_a_built_in_error_is_undefined_as_in_opa(tmp_path: Path, body: str) -> None:
    # OPA evaluates with strict built-in errors off by default: the expression is undefined.
    decision = decide(tmp_path, f'{body}\nreason contains "went on" if true', {"zero": 0})
    assert decision.allow is False
    assert decision.reasons == ("went on", "policy result has no allow")


@pytest.mark.parametrize(
    ("rules", "reasons"),
    [
        ('reason contains "a" if true\nreason contains "b" if true', ("a", "b")),
        ('reasons := ["first", "second"]', ("first", "second")),
        ('reason["closed"] := "detail" if true', ("closed",)),
        ('reason := "single"', ("single",)),
    ],
)
def test_reasons_from_reason_or_reasons(tmp_path: Path, rules: str, reasons: object) -> None:
    decision = decide(tmp_path, f"default allow := false\n{rules}")
    assert decision.reasons == reasons


@pytest.mark.parametrize(
    ("rules", "recoverable"),
    [
        ("default allow := false", True),
        ("default allow := false\nrecoverable := false", False),
        ("default allow := false\nrecoverable := true", True),
        ('default allow := false\nrecoverable := "no"', True),
    ],
)
def test_recoverable_is_the_policys_word_or_true(
    tmp_path: Path, rules: str, recoverable: bool
) -> None:
    assert decide(tmp_path, rules).recoverable is recoverable


def test_allow_with_reasons_keeps_them(tmp_path: Path) -> None:
    decision = decide(tmp_path, 'allow := true\nreason contains "checked" if true')
    assert decision.allow is True
    assert decision.reasons == ("checked",)
    assert decision.recoverable is False


POLICY = """package p

default allow := false

allow if {
    input.amount <= data.p.limit
    input.region in {"eu", "us"}
}

reason contains "over the limit" if input.amount > data.p.limit
"""

json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text('abcé€ "\\', max_size=8)
)
documents = st.fixed_dictionaries(
    {"amount": st.integers(0, 200), "region": st.sampled_from(["eu", "us", "apac"])},
    optional={"note": json_scalars, "tags": st.lists(json_scalars, max_size=3)},
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedEngine:
    root = tmp_path_factory.mktemp("bundle")
    return EmbeddedEngine(write_bundle(root, {"p.rego": POLICY, "p/data.json": '{"limit": 100}'}))


@given(document=documents)
def test_same_input_and_bundle_give_the_same_decision(
    engine: EmbeddedEngine, document: dict[str, JsonValue]
) -> None:
    first, second = engine.evaluate("p", document), engine.evaluate("p", document)
    assert (first.allow, first.reasons, first.input_sha256, first.result) == (
        second.allow,
        second.reasons,
        second.input_sha256,
        second.result,
    )
    amount = document["amount"]
    assert isinstance(amount, int)
    assert first.allow == (amount <= 100 and document["region"] != "apac")


@given(document=documents, data=st.data())
def test_digest_changes_with_any_field_and_not_with_key_order(
    document: dict[str, JsonValue], data: st.DataObject
) -> None:
    reordered = dict(reversed(list(document.items())))
    assert input_digest(reordered) == input_digest(document)
    key = data.draw(st.sampled_from(sorted(document)))
    changed = dict(document)
    changed[key] = data.draw(json_scalars.filter(lambda v: v != document[key]))
    if canonical_json(changed) != canonical_json(document):
        assert input_digest(changed) != input_digest(document)


def test_concurrent_decisions_from_threads_stay_correct(engine: EmbeddedEngine) -> None:
    cases: list[tuple[dict[str, JsonValue], bool]] = [
        ({"amount": n, "region": "eu"}, n <= 100) for n in range(0, 200, 7)
    ]
    barrier = threading.Barrier(8)

    def run(offset: int) -> list[bool]:
        barrier.wait()
        return [
            engine.evaluate("p", doc).allow == expected
            for doc, expected in cases[offset:] + cases[:offset]
        ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [ok for batch in pool.map(run, range(8)) for ok in batch]
    assert len(results) == 8 * len(cases)
    assert all(results)


async def test_concurrent_decisions_take_turns_with_the_loops_other_tasks(tmp_path: Path) -> None:
    # A decision runs inline; asked together, decisions must not hold the worker's event loop
    # for all of their time at once: other tasks run between them.
    engine = EmbeddedEngine(write_bundle(tmp_path, {"p.rego": "package p\n\nallow := true\n"}))
    order: list[str] = []

    async def ask(name: str) -> None:
        await engine.decide("p", {})
        order.append(name)

    async def other() -> None:
        for _ in range(3):
            order.append("other")
            await asyncio.sleep(0)

    await asyncio.gather(ask("first"), ask("second"), ask("third"), other())
    assert order.index("other") < order.index("second") < order.index("third")
    assert order.count("other") == 3
