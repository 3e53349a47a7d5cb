"""The refund desk example as the agent tests drive it: its policy, the scripted plans its model
follows (a JSON list of tool calls), a ledger emptied before each test, and the agento part of a
decision's input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import JsonValue

from agento import Decision
from examples.agent_refunds.activities import LEDGER

POLICY = "examples/agent_refunds/policy"
LOOKUP = ["lookup_order", {"order_id": "A-1001"}]


def refund(amount: float, order_id: str = "A-1001") -> list[Any]:
    return ["issue_refund", {"order_id": order_id, "amount": amount, "reason": "arrived broken"}]


def plan(*calls: list[Any]) -> str:
    return json.dumps(list(calls))


def agento_context(decision: Decision) -> dict[str, JsonValue]:
    context = decision.input["agento"]
    assert isinstance(context, dict)
    return context


@pytest.fixture(autouse=True)
def empty_ledger() -> None:
    LEDGER.clear()
