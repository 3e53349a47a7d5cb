"""The embedded engine against OPA v1.20.2's own evaluator, on the governance corpus and on the
examples. ``make differential`` runs the corpus with many more inputs and prints the counts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import JsonValue

pytest.importorskip("opa_bindings", reason="the oracle: `make .venv/.installed` installs it")

from agento import EmbeddedEngine, PolicyBundle
from tests.policy.differential import CORPUS, VALID, Outcome, compare, inputs
from tests.policy.fidelity_table import table
from tests.policy.oracle import Oracle

EXAMPLES = int(os.environ.get("AGENTO_DIFFERENTIAL_EXAMPLES", "40"))
BUNDLE = PolicyBundle.load(CORPUS)
ENGINE, ORACLE = EmbeddedEngine(BUNDLE), Oracle(BUNDLE)


@pytest.mark.parametrize("policy", sorted(VALID))
def test_the_embedded_engine_decides_as_opa(policy: str) -> None:
    """No allow differs, and no decision fails where OPA answers (the tolerance rule's very
    edge, `abs(1.15 - 1.2) <= 0.05`, and subnormal floats once did both) but at a limit of a
    generated module the fidelity table lists (`sprintf` of a collection holding text Go
    escapes), which denies."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(inputs(policy))
    def decide(document: dict[str, JsonValue]) -> None:
        outcome, ours, theirs = compare(ENGINE, ORACLE, policy, document)
        assert outcome not in (Outcome.ALLOW, Outcome.ERROR), (
            f"{outcome.value} on {document}: agento {ours}, OPA {theirs}"
        )

    decide()


EXAMPLE_POLICY = Path(__file__).parents[2] / "examples" / "commissioning" / "policy"
MEASURED: dict[str, JsonValue] = {"parameter": "frequency", "value": 50.02}
SCHEDULE: dict[str, JsonValue] = {"frequency": {"expected": 50, "tolerance": 0.1}}
ROUTING: dict[str, JsonValue] = {
    "project_id": "p-1",
    "template_id": "t-1",
    "procore": {"punch_items_open_bess": []},
    "test_results": [MEASURED],
    "protection_settings_schedule": SCHEDULE,
}
ENGINEER: dict[str, JsonValue] = {
    "subject": "engineer.lee",
    "verified": True,
    "groups": ["commissioning-engineers"],
}
REVIEW: dict[str, JsonValue] = {"activity": "route_report"}
EXAMPLE_DECISIONS: list[tuple[str, dict[str, JsonValue]]] = [
    ("agento/commissioning/routing", ROUTING),
    ("agento/commissioning/routing", {**ROUTING, "procore": {"punch_items_open_bess": ["P-7"]}}),
    ("agento/commissioning/routing", {**ROUTING, "test_results": [{**MEASURED, "value": 50.2}]}),
    ("agento/commissioning/routing", {**ROUTING, "test_results": []}),
    ("agento/commissioning/reviewers", {"action": "reject", "reviewer": ENGINEER}),
    (
        "agento/commissioning/reviewers",
        {"action": "approve", "reviewer": ENGINEER, "review": REVIEW},
    ),
    (
        "agento/commissioning/reviewers",
        {"action": "approve", "reviewer": {**ENGINEER, "groups": ["interns"]}, "review": REVIEW},
    ),
    (
        "agento/commissioning/reviewers",
        {"action": "approve", "reviewer": {**ENGINEER, "verified": False}, "review": REVIEW},
    ),
    (
        "agento/commissioning/reviewers",
        {"action": "approve", "reviewer": {"subject": "x", "verified": True}, "review": REVIEW},
    ),
]


@pytest.mark.parametrize(("policy", "document"), EXAMPLE_DECISIONS)
def test_the_commissioning_example_decides_as_opa(
    policy: str, document: dict[str, JsonValue]
) -> None:
    """The last: a reviewer without groups. rego-cpp made `not "..." in input.reviewer.groups`
    true and added a reason OPA does not."""
    bundle = PolicyBundle.load(EXAMPLE_POLICY)
    outcome, ours, theirs = compare(EmbeddedEngine(bundle), Oracle(bundle), policy, document)
    assert outcome is Outcome.AGREE, (ours, theirs)


def test_the_fidelity_table_in_the_docs_is_what_both_engines_answer() -> None:
    """docs/policies.md's table "Measured against OPA" is rendered from both engines' answers."""
    docs = (Path(__file__).parents[2] / "docs" / "policies.md").read_text()
    assert table() in docs, (
        "docs/policies.md is out of date: paste `python -m tests.policy.fidelity_table` into "
        'its section "Measured against OPA"'
    )
