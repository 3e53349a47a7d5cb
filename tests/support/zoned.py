"""A governed activity whose policy names a time zone (importable, as the sandbox needs)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio import workflow

import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput

ZONED_BUNDLE = Path(__file__).parent / "zoned_policy"


class SiteVisit(PolicyInput):
    at: str
    at_ns: int
    site_zone: str


@agento.activity(
    idempotency=Idempotency.KEYED,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy="agento/tests/weekday",
    version="1.0.0",
)
async def book_visit(key: IdempotencyKey, request: SiteVisit) -> str:
    return f"booked {request.at} ({request.site_zone})"


@workflow.defn
class BookVisitWorkflow:
    @workflow.run
    async def run(self, request: SiteVisit) -> str:
        return await agento.execute_activity(
            book_visit, request, start_to_close_timeout=timedelta(seconds=10)
        )
