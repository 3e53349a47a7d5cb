"""Governed activities and workflows for the execution tests (importable, as the sandbox needs)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import pydantic
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

import agento
from agento import (
    AnyActivity,
    Idempotency,
    IdempotencyKey,
    PolicyClass,
    PolicyInput,
)

POLICY_BUNDLE = Path(__file__).parent / "policy"
ROUTE = "agento/tests/route"

EXECUTED: list[tuple[str, str, int]] = []
"""(activity, idempotency key, amount) for every body that ran in this process."""


class Transfer(PolicyInput):
    project_id: str
    amount: int


class Payment(Transfer):
    iban: Annotated[str, agento.Sensitive()]
    memo: Annotated[str, agento.Needed()] = ""


@agento.activity(
    idempotency=Idempotency.KEYED,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=ROUTE,
    version="1.0.0",
)
async def pay(key: IdempotencyKey, request: Payment) -> str:
    EXECUTED.append(("pay", key, request.amount))
    return f"paid {request.amount}"


class Clashing(PolicyInput):
    """A contract with a field named like the input document's reserved key."""

    agento: str


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=ROUTE,
    version="1.0.0",
)
async def clash(request: Clashing) -> None:
    EXECUTED.append(("clash", "", 0))


@agento.activity(
    idempotency=Idempotency.NON_IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=ROUTE,
    version="1.4.0",
)
async def route(key: IdempotencyKey, request: Transfer) -> str:
    EXECUTED.append(("route", key, request.amount))
    return f"routed {request.project_id} with {key}"


@agento.activity(
    idempotency=Idempotency.KEYED,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=ROUTE,
    version="2.0.0",
)
async def upsert(key: IdempotencyKey, request: Transfer) -> str:
    EXECUTED.append(("upsert", key, request.amount))
    return key


@agento.activity(
    idempotency=Idempotency.NON_IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=ROUTE,
    version="1.0.0",
)
async def stalls(key: IdempotencyKey, request: Transfer) -> str:
    EXECUTED.append(("stalls", key, request.amount))
    if "-rerun-" not in activity.info().activity_id:
        await asyncio.sleep(3)  # past start_to_close, having acted: nobody knows it did
    return key


@agento.activity(
    idempotency=Idempotency.NON_IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=ROUTE,
    version="1.0.0",
)
async def stalls_before_acting(key: IdempotencyKey, request: Transfer) -> str:
    if "-rerun-" not in activity.info().activity_id:
        await asyncio.sleep(3)  # past start_to_close, before acting
    EXECUTED.append(("stalls", key, request.amount))
    return key


@agento.activity(idempotency=Idempotency.KEYED, policy_class=PolicyClass.READ_ONLY, version="1.0.0")
async def find_effect(key: IdempotencyKey, request: Transfer) -> str | None:
    """The reconciliation check: did the call with this key act?"""
    return key if any(e[0] == "stalls" and e[1] == key for e in EXECUTED) else None


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT, policy_class=PolicyClass.READ_ONLY, version="1.0.0"
)
async def lookup(project_id: str) -> int:
    return len(project_id)


class Reading(pydantic.BaseModel):
    value: float


class Loose(PolicyInput):
    """A contract loose enough to hold values that are not JSON."""

    amount: int = 1
    data: bytes = b""
    value: float = 0.0
    anything: Any = None
    readings: tuple[Reading, ...] = ()


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=ROUTE,
    version="1.0.0",
)
async def accept(request: Loose) -> None:
    EXECUTED.append(("accept", "", request.amount))


def _circular() -> dict[str, object]:
    loop: dict[str, object] = {}
    loop["self"] = loop
    return loop


UNSERIALIZABLE: dict[str, Callable[[], Loose]] = {
    "bytes that are not UTF-8": lambda: Loose(data=b"\xff\xfe"),
    "NaN": lambda: Loose(value=float("nan")),
    "infinity": lambda: Loose(value=float("inf")),
    "minus infinity": lambda: Loose(value=float("-inf")),
    "NaN in a nested model": lambda: Loose(readings=(Reading(value=float("nan")),)),
    "an arbitrary object": lambda: Loose(anything=object()),
    "raw bytes in an Any field": lambda: Loose(anything=b"\x80"),
    "a lone surrogate": lambda: Loose(anything="\ud800"),
    "a circular structure": lambda: Loose(anything=_circular()),
}
"""Requests a workflow can build that cannot become the same JSON on both sides."""


GOVERNED: list[AnyActivity] = [
    route,
    upsert,
    stalls,
    stalls_before_acting,
    find_effect,
    lookup,
    pay,
    clash,
    accept,
]


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


def governed_worker(client: Client, task_queue: str, **options: Any) -> Worker:
    """A worker running every test workflow and governed activity (async ones)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=agento.as_temporal_activities(*GOVERNED),
        **options,
    )


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


@agento.activity(
    idempotency=Idempotency.KEYED,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=ROUTE,
    version="1.0.0",
)
def pay_in_thread(key: IdempotencyKey, request: Transfer) -> str:
    """A synchronous activity: the worker runs it in its activity executor."""
    EXECUTED.append(("pay_in_thread", key, request.amount))
    return threading.current_thread().name


SYNC_GOVERNED: list[AnyActivity] = [pay_in_thread]


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
