"""Workflows and activities for benchmarks/execution.py (importable, as the sandbox needs)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow

import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput

BUNDLE = Path(__file__).parent / "policy"
CALL = timedelta(seconds=30)


class Order(PolicyInput):
    project_id: str
    amount: int


@agento.activity(
    idempotency=Idempotency.NON_IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy="bench/orders",
    version="1.0.0",
)
async def place(key: IdempotencyKey, order: Order) -> str:
    return f"{order.project_id}:{key}"


@activity.defn
async def place_raw(key: str, order: Order) -> str:
    return f"{order.project_id}:{key}"


@workflow.defn
class GovernedOrders:
    @workflow.run
    async def run(self, order: Order, calls: int) -> list[str]:
        return [
            await agento.execute_activity(place, order, start_to_close_timeout=CALL)
            for _ in range(calls)
        ]


@workflow.defn
class RawOrders:
    @workflow.run
    async def run(self, order: Order, calls: int) -> list[str]:
        info = workflow.info()
        return [
            await workflow.execute_activity(
                place_raw, args=[f"{info.workflow_id}/{i}", order], start_to_close_timeout=CALL
            )
            for i in range(calls)
        ]


@activity.defn
async def decide_raw(order: Order) -> dict[str, bool]:
    """A stand-in decision with no engine: what one recorded step costs Temporal itself."""
    return {"allow": order.amount <= 100}


@workflow.defn
class FloorOrders:
    """The floor of a governed call: a local activity recorded before each activity call."""

    @workflow.run
    async def run(self, order: Order, calls: int) -> list[str]:
        info = workflow.info()
        placed = []
        for i in range(calls):
            await workflow.execute_local_activity(decide_raw, order, start_to_close_timeout=CALL)
            placed.append(
                await workflow.execute_activity(
                    place_raw, args=[f"{info.workflow_id}/{i}", order], start_to_close_timeout=CALL
                )
            )
        return placed


@workflow.defn
class ManyOrders:
    """A long history: ``calls`` governed calls, ``batch`` at a time."""

    @workflow.run
    async def run(self, order: Order, calls: int, batch: int) -> int:
        done = 0
        while done < calls:
            size = min(batch, calls - done)
            await asyncio.gather(
                *(
                    agento.execute_activity(place, order, start_to_close_timeout=CALL)
                    for _ in range(size)
                )
            )
            done += size
        return done
