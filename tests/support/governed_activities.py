"""The governed activities most tests run, with their contracts, decided by the suite's route
policy: every body that runs records itself in ``EXECUTED``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Annotated, Any

import pydantic
from temporalio import activity

import agento
from agento import (
    AnyActivity,
    Idempotency,
    IdempotencyKey,
    PolicyClass,
    PolicyInput,
)
from tests.support.engines import ROUTE

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
