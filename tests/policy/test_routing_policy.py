"""The seed's commissioning routing policy, evaluated by the embedded engine."""

from __future__ import annotations

import pytest

from agento import EmbeddedEngine
from tests.support.routing_cases import BUNDLE, CASES, ROUTING


@pytest.fixture(scope="module")
def engine() -> EmbeddedEngine:
    return EmbeddedEngine(BUNDLE)


@pytest.mark.parametrize("case", CASES)
def test_routing_policy(engine: EmbeddedEngine, case: str) -> None:
    doc, allow, reasons = CASES[case]
    decision = engine.evaluate(ROUTING, doc)
    assert decision.allow is allow
    assert decision.reasons == reasons
    assert decision.policy == ROUTING
    assert decision.bundle_revision == engine.bundle.revision
    assert decision.input == doc
    assert decision.engine == "embedded"
    assert decision.recoverable is (not allow)
