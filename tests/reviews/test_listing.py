"""Pending reviews live in Temporal's visibility: a namespace must define agento's search
attribute before a governed worker starts, and runs recorded before it replay unchanged."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

import agento
from agento import EmbeddedEngine
from agento._audit.report import ReviewResolved, audit_report
from agento._workflow.review_board import ReviewBoard
from agento.testing import assert_replays, governed_client, server_binary
from tests.support.cli import agento as agento_cli
from tests.support.engines import POLICY_BUNDLE
from tests.support.governed_activities import Transfer
from tests.support.governed_workflows import WORKFLOWS, RouteWorkflow
from tests.support.reviews import pending_reviews
from tests.support.runs import governed_worker


async def test_a_worker_refuses_a_namespace_without_the_attribute_until_setup() -> None:
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=server_binary("temporal"),
        dev_server_log_level="error",
        plugins=[agento.AgentoPlugin()],
    ) as env:
        client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
        with pytest.raises(ValueError, match="does not define the search attribute") as raised:
            governed_worker(client, f"q-{uuid.uuid4()}")
        assert "agento setup --address" in str(raised.value), "the message names the fix"
        address = env.client.service_client.config.target_host
        setup = agento_cli("setup", "--address", address)
        assert setup.returncode == 0, setup.stderr
        assert setup.stdout.strip() == "AgentoPendingReviews  defined in namespace default"
        governed_worker(client, f"q-{uuid.uuid4()}")  # builds now
        again = agento_cli("setup", "--address", address)
        assert again.stdout.strip() == "AgentoPendingReviews  already defined in namespace default"


async def approved_run(env: WorkflowEnvironment) -> WorkflowHistory:
    """The history of a run paused in review, then approved."""
    client: Client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    task_queue = f"q-{uuid.uuid4()}"
    async with governed_worker(client, task_queue):
        handle = await client.start_workflow(
            RouteWorkflow.run,
            Transfer(project_id="p", amount=150),
            id=f"reviewed-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        [review] = await pending_reviews(handle)
        await agento.resolve_review(
            client, handle.id, review.review_id, approve=True, reviewer="bob"
        )
        await handle.result()
    return await handle.fetch_history()


async def test_runs_recorded_before_listing_replay_unchanged(
    agento_time_skipping_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as old:
        old.setattr(ReviewBoard, "settle_listing", lambda self: None)
        old.setattr(ReviewBoard, "_publish", lambda self: None)
        old.setattr(ReviewBoard, "_checks_look_alikes", lambda self, review_id: False)
        history = await approved_run(agento_time_skipping_env)
    upserts = [
        e
        for e in history.events
        if e.HasField("upsert_workflow_search_attributes_event_attributes")
    ]
    markers = [e for e in history.events if e.HasField("marker_recorded_event_attributes")]
    assert upserts == [], "recorded as an older agento would have"
    assert {m.marker_recorded_event_attributes.marker_name for m in markers} == {
        "core_local_activity"
    }
    await assert_replays([history], WORKFLOWS)  # today's code replays it


async def test_new_runs_record_their_reviews_in_the_attribute(
    agento_time_skipping_env: WorkflowEnvironment,
) -> None:
    history = await approved_run(agento_time_skipping_env)
    [review_id] = {
        e.outcome.review_id for e in audit_report(history).entries if isinstance(e, ReviewResolved)
    }
    fields = [
        e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        for e in history.events
        if e.HasField("upsert_workflow_search_attributes_event_attributes")
    ]
    upserts = [f["AgentoPendingReviews"] for f in fields if "AgentoPendingReviews" in f]
    assert len(upserts) == 2, "set when the review opened, cleared when it was resolved"
    assert review_id.encode() in upserts[0].data
    assert upserts[1].metadata["encoding"] == b"binary/null"
    await assert_replays([history], WORKFLOWS)
