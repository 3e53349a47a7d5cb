"""A worker deciding with a policy that names time zones: the policy that used to abort the worker
process (rego-cpp sharing libstdc++ with protobuf) now decides, and the worker goes on."""

from __future__ import annotations

import uuid

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import agento
from agento import ReviewReason
from tests.support.reviews import pending_reviews
from tests.support.zoned import ZONED_BUNDLE, BookVisitWorkflow, SiteVisit, book_visit

MONDAY_NOON_UTC = 1517832000000000000  # 2018-02-05T12:00:00Z


async def test_a_worker_decides_with_time_zones_and_keeps_running(
    agento_time_skipping_env: WorkflowEnvironment,
) -> None:
    engine = agento.EmbeddedEngine(ZONED_BUNDLE)
    client = Client(
        agento_time_skipping_env.client.service_client, plugins=[agento.AgentoPlugin(engine=engine)]
    )
    task_queue = f"q-{uuid.uuid4()}"

    async def visit(zone: str, at_ns: int = MONDAY_NOON_UTC) -> agento.PendingReview | str:
        handle = await client.start_workflow(
            BookVisitWorkflow.run,
            SiteVisit(at="2018-02-05T12:00Z", at_ns=at_ns, site_zone=zone),
            id=f"visit-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        if zone == "Europe/Paris":
            return await handle.result()
        [review] = await pending_reviews(handle)
        await handle.terminate("test over")
        return review

    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[BookVisitWorkflow],
        activities=agento.as_temporal_activities(book_visit),
    ):
        assert await visit("Europe/Paris") == "booked 2018-02-05T12:00Z (Europe/Paris)"
        saturday = await visit("Pacific/Kiritimati", at_ns=MONDAY_NOON_UTC - 2 * 86400 * 10**9)
        unknown = await visit("Nowhere/City")
        assert await visit("Europe/Paris") == "booked 2018-02-05T12:00Z (Europe/Paris)"
    assert isinstance(saturday, agento.PendingReview)
    assert saturday.reasons == ("2018-02-05T12:00Z is a Sunday in Pacific/Kiritimati",)
    assert isinstance(unknown, agento.PendingReview)
    assert unknown.reason is ReviewReason.POLICY_DENIED
    assert unknown.reasons == (
        "policy evaluation failed: std::chrono::tzdb: cannot locate zone: Nowhere/City",
    )
