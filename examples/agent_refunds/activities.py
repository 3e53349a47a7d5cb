"""The refund desk's activities: a lookup the agent may always make, and a refund that the
finance team's policy decides on."""

from __future__ import annotations

from pydantic import BaseModel

import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput

ORDERS = {"A-1001": 250.0, "A-1002": 40.0}
"""The shop's orders and what was paid; a stand-in for its order service."""

LEDGER: list[tuple[IdempotencyKey, str, float]] = []
"""Refunds issued, with their idempotency keys: a stand-in for the payment provider."""


class OrderLookup(PolicyInput):
    """Which order to look up."""

    order_id: str


class Order(BaseModel):
    order_id: str
    paid: float


class Refund(PolicyInput):
    """A refund of an order: what the policy decides on, and exactly what is paid out."""

    order_id: str
    amount: float
    reason: str


class RefundReceipt(BaseModel):
    refund_id: str
    order_id: str
    amount: float


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT, policy_class=PolicyClass.READ_ONLY, version="1.0.0"
)
async def lookup_order(request: OrderLookup) -> Order:
    """Look up an order: what was paid for it."""
    return Order(order_id=request.order_id, paid=ORDERS.get(request.order_id, 0.0))


@agento.activity(
    idempotency=Idempotency.NON_IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy="agento/refunds/issue",
    version="2.1.0",
)
async def issue_refund(key: IdempotencyKey, request: Refund) -> RefundReceipt:
    """Refund an order to the customer's card. Runs at most once per call."""
    LEDGER.append((key, request.order_id, request.amount))
    return RefundReceipt(
        refund_id=f"rf-{len(LEDGER)}", order_id=request.order_id, amount=request.amount
    )


ACTIVITIES: list[agento.AnyActivity] = [lookup_order, issue_refund]
