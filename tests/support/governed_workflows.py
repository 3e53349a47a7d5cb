"""Workflows that call the governed activities, each the way one test needs (importable, as the
workflow sandbox needs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

import agento
from tests.support.governed_activities import (
    UNSERIALIZABLE,
    Clashing,
    Loose,
    Payment,
    Transfer,
    accept,
    clash,
    find_effect,
    lookup,
    pay,
    pay_in_thread,
    route,
    stalls,
    stalls_before_acting,
    upsert,
)


@workflow.defn
class RouteWorkflow:
    @workflow.run
    async def run(self, request: Transfer) -> str:
        size = await agento.execute_activity(
            lookup, request.project_id, start_to_close_timeout=timedelta(seconds=10)
        )
        routed = await agento.execute_activity(
            route, request, start_to_close_timeout=timedelta(seconds=10), requester="alice"
        )
        return f"{routed} ({size})"


@workflow.defn
class ClashWorkflow:
    @workflow.run
    async def run(self, request: Clashing) -> None:
        await agento.execute_activity(clash, request, start_to_close_timeout=timedelta(seconds=10))


@workflow.defn
class PayWorkflow:
    @workflow.run
    async def run(self, request: Payment) -> str:
        return await agento.execute_activity(
            pay, request, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn
class RouteTwiceWorkflow:
    @workflow.run
    async def run(self, request: Transfer) -> list[str]:
        return [
            await agento.execute_activity(
                route, request, start_to_close_timeout=timedelta(seconds=10), requester="alice"
            )
            for _ in range(2)
        ]


@workflow.defn
class UpsertAcrossContinueAsNewWorkflow:
    """One keyed call per run, continuing as new once."""

    @workflow.run
    async def run(self, request: Transfer) -> str:
        key = await agento.execute_activity(
            upsert, request, start_to_close_timeout=timedelta(seconds=10)
        )
        if workflow.info().continued_run_id is None:
            workflow.continue_as_new(request)
        return key


@workflow.defn
class UpsertTwiceWorkflow:
    @workflow.run
    async def run(self, request: Transfer) -> list[str]:
        return [
            await agento.execute_activity(
                upsert, request, start_to_close_timeout=timedelta(seconds=10)
            )
            for _ in range(2)
        ]


@workflow.defn
class StallWorkflow:
    @workflow.run
    async def run(self, request: Transfer) -> str:
        return await agento.execute_activity(
            stalls, request, start_to_close_timeout=timedelta(seconds=1)
        )


@workflow.defn
class ReconciledStallWorkflow:
    @workflow.run
    async def run(self, request: Transfer, acts_before_stalling: bool) -> str:
        return await agento.execute_activity(
            stalls if acts_before_stalling else stalls_before_acting,
            request,
            start_to_close_timeout=timedelta(seconds=1),
            reconcile=find_effect,
        )


@workflow.defn
class UnsafeRetryWorkflow:
    """Deliberately unsafe, so that the run-time check is what refuses it."""

    @workflow.run
    async def run(self, request: Transfer) -> str:
        return await agento.execute_activity(
            route,
            request,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=3),  # type: ignore[agento-retry-unsafe]
        )


@workflow.defn
class BypassWorkflow:
    @workflow.run
    async def run(self, request: Transfer) -> str:
        result: str = await workflow.execute_activity(
            "route",
            args=["forged-key", request],
            start_to_close_timeout=timedelta(seconds=10),
        )
        return result


@workflow.defn
class PlainWorkflow:
    """Runs no activity: its history holds nothing of agento's."""

    @workflow.run
    async def run(self) -> str:
        return "nothing governed"


@workflow.defn
class StartedWorkflow:
    """Two governed calls started together, then awaited in the opposite order."""

    @workflow.run
    async def run(self, request: Transfer) -> list[str]:
        first = agento.start_activity(upsert, request, start_to_close_timeout=timedelta(seconds=10))
        second = agento.start_activity(route, request, start_to_close_timeout=timedelta(seconds=10))
        return [await second, await first]


@workflow.defn
class UnserializableWorkflow:
    @workflow.run
    async def run(self, case: str) -> None:
        await agento.execute_activity(
            accept, UNSERIALIZABLE[case](), start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn
class OversizedWorkflow:
    """Builds, from a small input, a request over Temporal's payload limit."""

    @workflow.run
    async def run(self, megabytes: int) -> None:
        request = Loose(anything="x" * megabytes * 2**20)
        await agento.execute_activity(accept, request, start_to_close_timeout=timedelta(seconds=10))


@workflow.defn
class MisuseWorkflow:
    """Deliberate mistakes in calling agento.execute_activity, so that the run-time checks are
    what refuses them."""

    @workflow.run
    async def run(self, case: str, request: Transfer) -> str:
        timeout = timedelta(seconds=10)
        if case == "extra":
            extra: str = await agento.execute_activity(  # type: ignore[agento-bad-call]
                route, "a-key", request, start_to_close_timeout=timeout
            )
            return extra
        if case == "dict":
            wrong: Any = request.model_dump()
            return await agento.execute_activity(route, wrong, start_to_close_timeout=timeout)
        if case == "both":
            both: str = await agento.execute_activity(  # type: ignore[agento-bad-call]
                route, request, args=[request], start_to_close_timeout=timeout
            )
            return both
        plain: Any = lookup.declaration.fn
        return await agento.execute_activity(plain, request, start_to_close_timeout=timeout)


WORKFLOWS = [
    StartedWorkflow,
    UnserializableWorkflow,
    OversizedWorkflow,
    RouteWorkflow,
    ClashWorkflow,
    PayWorkflow,
    RouteTwiceWorkflow,
    UpsertTwiceWorkflow,
    UpsertAcrossContinueAsNewWorkflow,
    StallWorkflow,
    ReconciledStallWorkflow,
    UnsafeRetryWorkflow,
    BypassWorkflow,
    MisuseWorkflow,
    PlainWorkflow,
]


@workflow.defn
class PayInThreadWorkflow:
    @workflow.run
    async def run(self, request: Transfer) -> str:
        return await agento.execute_activity(
            pay_in_thread, request, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn
class BypassInThreadWorkflow:
    @workflow.run
    async def run(self, request: Transfer) -> str:
        result: str = await workflow.execute_activity(
            "pay_in_thread",
            args=["forged-key", request],
            start_to_close_timeout=timedelta(seconds=10),
        )
        return result
