"""A server nobody ran `agento setup` on, used the way Temporal users write workflow tests: a
governed worker makes agento's search attribute exist, so that a run opening a review pauses and
times out as it should rather than failing its workflow tasks forever."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

import agento
from agento import EmbeddedEngine
from agento.testing import server_binary
from tests.support.engines import POLICY_BUNDLE
from tests.support.governed_activities import Transfer
from tests.support.governed_workflows import RouteWorkflow
from tests.support.reviews import pending_reviews
from tests.support.runs import failure_of, governed_worker


async def test_a_review_on_a_fresh_time_skipping_server_times_out_instead_of_wedging() -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server_binary("temporal-test-server"),
        plugins=[agento.AgentoPlugin(engine=EmbeddedEngine(POLICY_BUNDLE))],
    )
    async with env:
        task_queue = f"q-{uuid.uuid4()}"
        async with governed_worker(env.client, task_queue):
            handle = await env.client.start_workflow(
                RouteWorkflow.run,
                Transfer(project_id="bess-9", amount=150),
                id=f"wf-{uuid.uuid4()}",
                task_queue=task_queue,
            )
            [review] = await asyncio.wait_for(pending_reviews(handle), 30)
            await env.sleep(timedelta(hours=48, minutes=1))
            failure = await asyncio.wait_for(failure_of(handle), 30)
    assert failure.type == "ReviewTimedOut"
    assert review.review_id in failure.message
