"""What a run does with each error an engine raises while deciding is the error class's, not
its name's: a subclass is treated as its family."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest
from pydantic import JsonValue
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

import agento
from agento import (
    BundleError,
    Decision,
    EmbeddedEngine,
    GovernanceError,
    PolicyEngineUnavailable,
    PolicyError,
)
from agento._reviews.models import ReviewReason
from agento.testing import governed_client
from tests.support.engines import POLICY_BUNDLE
from tests.support.governed_activities import EXECUTED, Transfer
from tests.support.governed_workflows import RouteWorkflow
from tests.support.reviews import pending_reviews
from tests.support.runs import start


class EngineTimedOut(PolicyEngineUnavailable):
    """An outage a team's own engine names more precisely."""


class PolicyRetired(PolicyError):
    """A refusal a team's own engine names more precisely."""


@pytest.mark.parametrize(
    ("error", "failure_type", "retryable"),
    [
        (PolicyError, "PolicyError", False),
        (BundleError, "PolicyError", False),
        (PolicyRetired, "PolicyError", False),
        (PolicyEngineUnavailable, "PolicyEngineUnavailable", True),
        (EngineTimedOut, "PolicyEngineUnavailable", True),
    ],
)
def test_each_error_class_says_how_a_run_treats_it(
    error: type[PolicyError | PolicyEngineUnavailable], failure_type: str, retryable: bool
) -> None:
    assert (error.failure_type, error.retryable) == (failure_type, retryable)


class RaisingEngine:
    """The embedded engine, raising ``error`` instead of deciding; ``asked`` counts decisions."""

    def __init__(self, error: Exception) -> None:
        self.engine = EmbeddedEngine(POLICY_BUNDLE)
        self.name = self.engine.name
        self.error = error
        self.asked = 0

    def policies(self) -> frozenset[str]:
        return self.engine.policies()

    async def decide(self, policy: str, document: Mapping[str, JsonValue]) -> Decision:
        self.asked += 1
        raise self.error


@pytest.fixture
def env(agento_time_skipping_env: WorkflowEnvironment) -> WorkflowEnvironment:
    return agento_time_skipping_env


@pytest.mark.parametrize("error", [BundleError("revision r2 refused"), PolicyRetired("retired")])
async def test_a_policy_error_subclass_fails_the_run_unretried_and_unreviewable(
    env: WorkflowEnvironment, error: PolicyError
) -> None:
    engine = RaisingEngine(error)
    client = governed_client(env, engine, decision_attempts=2)
    before = len(EXECUTED)
    handle, worker = await start(client, RouteWorkflow.run, Transfer(project_id="p", amount=10))
    async with worker:
        with pytest.raises(WorkflowFailureError) as raised:
            await asyncio.wait_for(handle.result(), timeout=60)
    failure = agento.governance_failure(raised.value)
    assert isinstance(failure, GovernanceError)
    assert failure.type == "PolicyError"
    assert str(error).splitlines()[0] in failure.message
    assert engine.asked == 1, "not retried: asking again cannot help"
    assert [e for e in EXECUTED[before:] if e[0] == "route"] == []


async def test_an_unavailable_subclass_is_retried_then_reviewed(env: WorkflowEnvironment) -> None:
    engine = RaisingEngine(EngineTimedOut("no answer in 2 s"))
    client = governed_client(env, engine, decision_attempts=2)
    handle, worker = await start(client, RouteWorkflow.run, Transfer(project_id="p", amount=10))
    async with worker:
        pending = await pending_reviews(handle)
        await handle.terminate("done")
    [review] = pending
    assert review.reason is ReviewReason.ENGINE_UNAVAILABLE
    assert engine.asked == 2, "asked once per attempt"


def test_an_application_error_named_policy_error_is_a_governance_failure() -> None:
    carried = ApplicationError("cannot be asked", type=PolicyError.failure_type)
    assert isinstance(agento.governance_failure(carried), GovernanceError)
