"""Governed tool calls from a Pydantic AI agent made durable with ``TemporalDurability``, on
Temporal's dev server with ``FunctionModel`` (offline): the same promises as the OpenAI adapter."""

from __future__ import annotations

import json
import uuid
from typing import Any

from pydantic_ai.durable_exec.temporal import PydanticAIPlugin
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import agento
from agento import EmbeddedEngine, ResolutionSigner, VerificationKey
from agento._audit.report import DecisionRecorded, audit_report
from agento.agents.pydantic_ai import framework_activities
from agento.testing import governance_violations
from examples.agent_refunds.activities import ACTIVITIES, LEDGER
from examples.agent_refunds.pydantic_ai_desk import MODEL_ID, PydanticRefundDesk, refund_desk
from examples.agent_refunds.workflows import INSTRUCTIONS_VERSION
from tests.support.refund_desk import LOOKUP, POLICY, agento_context, empty_ledger, plan, refund
from tests.support.reviews import pending_reviews, service_key, signer

__all__ = ["empty_ledger", "service_key", "signer"]  # fixtures this module uses


def governed(env: WorkflowEnvironment, service_key: tuple[str, str]) -> Client:
    return Client(
        env.client.service_client,
        plugins=[
            PydanticAIPlugin(),
            agento.AgentoPlugin(
                engine=EmbeddedEngine(POLICY),
                ungoverned=framework_activities(refund_desk),
                review_keys={"review-service": VerificationKey.from_pem(service_key[1])},
            ),
        ],
    )


def worker(client: Client, task_queue: str) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[PydanticRefundDesk],
        activities=agento.as_temporal_activities(*ACTIVITIES),
    )


async def start(client: Client, task_queue: str, message: str) -> WorkflowHandle[Any, str]:
    return await client.start_workflow(
        PydanticRefundDesk.run, message, id=f"pai-desk-{uuid.uuid4()}", task_queue=task_queue
    )


async def test_an_allowed_call_runs_once_after_its_decision_which_names_who_asked(
    agento_dev_server: WorkflowEnvironment, service_key: tuple[str, str]
) -> None:
    client = governed(agento_dev_server, service_key)
    queue = f"pai-{uuid.uuid4()}"
    async with worker(client, queue):
        handle = await start(client, queue, plan(LOOKUP, refund(40, "A-1002")))
        answer = await handle.result()

    assert [(order, amount) for _, order, amount in LEDGER] == [("A-1002", 40.0)]
    assert answer == 'done: {"refund_id":"rf-1","order_id":"A-1002","amount":40.0}'
    history = await handle.fetch_history()
    report = audit_report(history)
    [decision] = [e for e in report.entries if isinstance(e, DecisionRecorded)]
    [run] = [a for a in report.activities if a.activity == "issue_refund"]
    assert decision.decision.allow
    assert decision.event_id < run.event_id
    agent = agento_context(decision.decision)["agent"]
    assert isinstance(agent, dict)
    assert {k: agent[k] for k in ("framework", "agent", "model", "tool", "tool_call_id")} == {
        "framework": "pydantic-ai",
        "agent": "refund_desk",
        "model": MODEL_ID,
        "tool": "issue_refund",
        "tool_call_id": "call-2",
    }
    assert agent["instructions_version"] == INSTRUCTIONS_VERSION
    assert str(agent["instructions_sha256"]).startswith("sha256:")
    assert str(agent["tools_sha256"]).startswith("sha256:")
    assert governance_violations(history, ACTIVITIES) == []


async def test_a_denied_call_never_runs_and_the_model_receives_the_refusal(
    agento_dev_server: WorkflowEnvironment, service_key: tuple[str, str]
) -> None:
    client = governed(agento_dev_server, service_key)
    queue = f"pai-{uuid.uuid4()}"
    async with worker(client, queue):
        handle = await start(client, queue, plan(LOOKUP, refund(9000)))
        refusal = json.loads((await handle.result()).removeprefix("done: "))

    assert refusal["status"] == "denied"
    assert "refunds above 5000 are never issued" in refusal["reasons"]
    assert LEDGER == []
    assert governance_violations(await handle.fetch_history(), ACTIVITIES) == []


async def test_a_paused_call_resumes_after_a_signed_approval_across_a_worker_restart(
    agento_dev_server: WorkflowEnvironment,
    service_key: tuple[str, str],
    signer: ResolutionSigner,
) -> None:
    client = governed(agento_dev_server, service_key)
    queue = f"pai-{uuid.uuid4()}"
    async with worker(client, queue):
        handle = await start(client, queue, plan(LOOKUP, refund(250)))
        [review] = await pending_reviews(handle)
    assert LEDGER == []

    async with worker(client, queue):
        await agento.resolve_review(
            client,
            handle.id,
            review.review_id,
            approve=True,
            reviewer="finance-lead",
            comment="customer sent photos",
            signer=signer,
        )
        answer = await handle.result()

    assert [(order, amount) for _, order, amount in LEDGER] == [("A-1001", 250.0)]
    assert answer == 'done: {"refund_id":"rf-1","order_id":"A-1001","amount":250.0}'
    assert governance_violations(await handle.fetch_history(), ACTIVITIES) == []
