"""The governed activities and workflows the fault scenarios run (importable, as the workflow
sandbox needs). Every side effect is a POST to the loopback ledger (`faults._ledger`), so the
ledger's counts are the ground truth of what happened."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
from temporalio import workflow
from temporalio.common import RetryPolicy

import agento
from agento import AnyActivity, Idempotency, IdempotencyKey, PolicyClass, PolicyInput

BUNDLE = Path(__file__).parent / "policy"
CHARGE = "faults/charge"
VANISHED = "faults/vanished"
"""A policy the OPA-compatible server lists but cannot answer: replaced after workers started."""

KillAt = Literal["before", "after", "returning", "never"]
STAGES: tuple[KillAt, ...] = ("before", "after", "returning")
"""Where a worker is killed in an activity: stalled before the external call, stalled right
after it, or racing the activity's return (marked, then returned at once)."""


class Charge(PolicyInput):
    run: str
    ledger_url: str
    amount: int
    kill_at: KillAt = "never"
    marker: str = ""
    """Written when the body reaches ``kill_at``; while it exists, the body never stalls again."""


async def _charge(key: IdempotencyKey, request: Charge) -> str:
    first = bool(request.marker) and not Path(request.marker).exists()

    async def reach(stage: KillAt) -> None:
        if first and stage == request.kill_at:
            Path(request.marker).write_text(stage)
            if stage != "returning":
                await asyncio.sleep(3600)  # the scenario kills the worker here

    await reach("before")
    async with httpx.AsyncClient(transport=agento.IdempotencyKeyTransport(key)) as client:
        response = await client.post(
            f"{request.ledger_url}/charges", json={"run": request.run, "amount": request.amount}
        )
        response.raise_for_status()
    await reach("after")
    await reach("returning")
    return key


@agento.activity(
    idempotency=Idempotency.NON_IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=CHARGE,
    version="1.0.0",
)
async def charge_once(key: IdempotencyKey, request: Charge) -> str:
    return await _charge(key, request)


@agento.activity(
    idempotency=Idempotency.KEYED,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=CHARGE,
    version="1.0.0",
)
async def charge_keyed(key: IdempotencyKey, request: Charge) -> str:
    return await _charge(key, request)


CALL = timedelta(seconds=2)
"""Short, so a killed worker's activity times out quickly."""


@workflow.defn
class ChargeOnce:
    @workflow.run
    async def run(self, request: Charge) -> str:
        return await agento.execute_activity(charge_once, request, start_to_close_timeout=CALL)


@workflow.defn
class ChargeKeyed:
    @workflow.run
    async def run(self, request: Charge) -> str:
        return await agento.execute_activity(
            charge_keyed,
            request,
            start_to_close_timeout=CALL,
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200)),
        )


# A redeploy: one activity and its workflow in two versions, under the same names.


@agento.activity(
    idempotency=Idempotency.KEYED,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=CHARGE,
    version="1.0.0",
    name="release",
)
async def release_v1(key: IdempotencyKey, request: Charge) -> str:
    return await _charge(key, request.model_copy(update={"run": f"{request.run}@1.0.0"}))


@agento.activity(
    idempotency=Idempotency.KEYED,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=CHARGE,
    version="2.0.0",
    name="release",
)
async def release_v2(key: IdempotencyKey, request: Charge) -> str:
    return await _charge(key, request.model_copy(update={"run": f"{request.run}@2.0.0"}))


@workflow.defn(name="Release")
class ReleaseV1:
    @workflow.run
    async def run(self, request: Charge) -> str:
        return await agento.execute_activity(release_v1, request, start_to_close_timeout=CALL)


@workflow.defn(name="Release")
class ReleaseV2:
    @workflow.run
    async def run(self, request: Charge) -> str:
        return await agento.execute_activity(release_v2, request, start_to_close_timeout=CALL)


# Bad inputs: requests a workflow builds that no policy input can hold, and careless policies.


class Reading(PolicyInput):
    value: float


class Loose(PolicyInput):
    """A contract loose enough to hold values that are not JSON."""

    run: str
    ledger_url: str
    amount: int = 1
    data: bytes = b""
    value: float = 0.0
    anything: Any = None
    readings: tuple[Reading, ...] = ()


class Clashing(PolicyInput):
    """A contract with a field named like the input document's reserved key."""

    run: str
    ledger_url: str
    amount: int = 1
    agento: str = "mine"


async def _post(request: Loose | Clashing | Charge) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{request.ledger_url}/charges", json={"run": request.run, "amount": request.amount}
        )
        response.raise_for_status()


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=CHARGE,
    version="1.0.0",
)
async def accept_loose(request: Loose) -> None:
    await _post(request)


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=CHARGE,
    version="1.0.0",
)
async def accept_clashing(request: Clashing) -> None:
    await _post(request)


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy="faults/loose",
    version="1.0.0",
)
async def charge_loosely(request: Charge) -> None:
    await _post(request)


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=VANISHED,
    version="1.0.0",
)
async def charge_vanished(request: Charge) -> None:
    await _post(request)


def _circular() -> dict[str, object]:
    loop: dict[str, object] = {}
    loop["self"] = loop
    return loop


UNSERIALIZABLE: dict[str, Callable[[str, str], Loose]] = {
    "bytes that are not UTF-8": lambda run, url: Loose(run=run, ledger_url=url, data=b"\xff\xfe"),
    "NaN": lambda run, url: Loose(run=run, ledger_url=url, value=float("nan")),
    "infinity": lambda run, url: Loose(run=run, ledger_url=url, value=float("inf")),
    "minus infinity": lambda run, url: Loose(run=run, ledger_url=url, value=float("-inf")),
    "NaN in a nested model": lambda run, url: Loose(
        run=run, ledger_url=url, readings=(Reading(value=float("nan")),)
    ),
    "an arbitrary object": lambda run, url: Loose(run=run, ledger_url=url, anything=object()),
    "raw bytes in an Any field": lambda run, url: Loose(run=run, ledger_url=url, anything=b"\x80"),
    "a lone surrogate": lambda run, url: Loose(run=run, ledger_url=url, anything="\ud800"),
    "a circular structure": lambda run, url: Loose(run=run, ledger_url=url, anything=_circular()),
}
"""Requests a workflow can build that cannot become the same JSON on both sides."""


@workflow.defn
class BadRequest:
    """Builds one of the `UNSERIALIZABLE` requests inside the workflow and asks to run it."""

    @workflow.run
    async def run(self, case: str, run: str, ledger_url: str) -> None:
        await agento.execute_activity(
            accept_loose, UNSERIALIZABLE[case](run, ledger_url), start_to_close_timeout=CALL
        )


@workflow.defn
class HugeRequest:
    """Builds a request over Temporal's payload limit from a small input."""

    @workflow.run
    async def run(self, run: str, ledger_url: str, megabytes: int) -> None:
        request = Loose(run=run, ledger_url=ledger_url, anything="x" * megabytes * 2**20)
        await agento.execute_activity(accept_loose, request, start_to_close_timeout=CALL)


@workflow.defn
class ClashingRequest:
    @workflow.run
    async def run(self, request: Clashing) -> None:
        await agento.execute_activity(accept_clashing, request, start_to_close_timeout=CALL)


@workflow.defn
class LooseAllow:
    @workflow.run
    async def run(self, request: Charge) -> None:
        await agento.execute_activity(charge_loosely, request, start_to_close_timeout=CALL)


@workflow.defn
class VanishedPolicy:
    @workflow.run
    async def run(self, request: Charge) -> None:
        await agento.execute_activity(charge_vanished, request, start_to_close_timeout=CALL)


ACTIVITIES: list[AnyActivity] = [
    charge_once,
    charge_keyed,
    accept_loose,
    accept_clashing,
    charge_loosely,
]
WORKFLOWS: list[type] = [
    ChargeOnce,
    ChargeKeyed,
    BadRequest,
    HugeRequest,
    ClashingRequest,
    LooseAllow,
]
DEPLOYMENTS: dict[str, tuple[type, AnyActivity]] = {
    "v1": (ReleaseV1, release_v1),
    "v2": (ReleaseV2, release_v2),
}
"""The Release workflow and activity each deployed version runs."""
