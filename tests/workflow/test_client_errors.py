"""Client code catches agento's errors by type: a failed run's agento error rebuilt with its
fields, and a refused resolution as `agento.ReviewRefused`."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

import agento
from agento import EmbeddedEngine
from agento.testing import governed_client
from tests.support.engines import POLICY_BUNDLE
from tests.support.governed_activities import Transfer
from tests.support.governed_workflows import RouteWorkflow, UnserializableWorkflow
from tests.support.history import recorded_decisions
from tests.support.reviews import pending_reviews
from tests.support.runs import governed_worker


@pytest.fixture
def client(agento_time_skipping_env: WorkflowEnvironment) -> Client:
    return governed_client(agento_time_skipping_env, EmbeddedEngine(POLICY_BUNDLE))


async def failure(
    client: Client, workflow: Any, argument: object
) -> tuple[BaseException, WorkflowHistory]:
    """How the run fails, seen from the client (resolving its review as a careless user would
    first, then rejecting it), and its history."""
    task_queue = f"q-{uuid.uuid4()}"
    async with governed_worker(client, task_queue):
        handle: WorkflowHandle[Any, Any] = await client.start_workflow(
            workflow,
            argument,
            id=f"wf-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        if isinstance(argument, Transfer) and argument.amount == 150:
            [review] = await pending_reviews(handle)
            with pytest.raises(agento.ReviewRefused) as refused:
                await agento.resolve_review(
                    client, handle.id, review.review_id, approve=True, reviewer="ALICE"
                )
            assert refused.value.reason == "ALICE requested this run and may not review it"
            assert (refused.value.workflow_id, refused.value.review_id) == (
                handle.id,
                review.review_id,
            )
            await agento.resolve_review(
                client, handle.id, review.review_id, approve=False, reviewer="bob", comment="no"
            )
        with pytest.raises(WorkflowFailureError) as raised:
            await handle.result()
        return raised.value, await handle.fetch_history()


async def test_a_final_deny_arrives_as_policy_denied(client: Client) -> None:
    error, history = await failure(client, RouteWorkflow.run, Transfer(project_id="x", amount=5000))
    denied = agento.governance_failure(error)
    assert isinstance(denied, agento.PolicyDenied)
    [decision] = recorded_decisions(history)
    assert denied.activity == "route"
    assert denied.reasons == ("amount over the limit of 100",)
    assert denied.decision_id == decision.decision_id


async def test_a_rejection_arrives_as_review_rejected(client: Client) -> None:
    error, _ = await failure(client, RouteWorkflow.run, Transfer(project_id="x", amount=150))
    rejected = agento.governance_failure(error)
    assert isinstance(rejected, agento.ReviewRejected)
    assert (rejected.review_id, rejected.reviewer, rejected.comment) == (
        "agento-2-route-review-1",
        "bob",
        "no",
    )


async def test_a_policy_that_cannot_be_asked_arrives_as_governance_error(client: Client) -> None:
    error, _ = await failure(client, UnserializableWorkflow.run, "NaN")
    broken = agento.governance_failure(error)
    assert isinstance(broken, agento.GovernanceError)
    assert broken.type == "PolicyError"
    assert "cannot become a JSON policy input" in broken.message


def test_other_failures_are_not_agentos() -> None:
    assert agento.governance_failure(ApplicationError("boom", type="ValueError")) is None
    assert agento.governance_failure(RuntimeError("x")) is None
