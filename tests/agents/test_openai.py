"""Governed tool calls from an OpenAI Agents SDK agent on Temporal's dev server, with the
example's scripted model (offline): the model chooses the call, agento decides whether it runs."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai.durable_exec.temporal import PydanticAIPlugin
from securesystemslib.signer import CryptoSigner
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import agento
from agento import EmbeddedEngine, ResolutionSigner, VerificationKey
from agento._audit.report import DecisionRecorded, audit_report, render
from agento.agents.openai import MODEL_ACTIVITIES, governed_tool
from agento.agents.pydantic_ai import framework_activities
from agento.evidence import verify_evidence, write_evidence
from agento.testing import governance_violations
from examples.agent_refunds.activities import ACTIVITIES, LEDGER, Refund, issue_refund
from examples.agent_refunds.model import MODEL_ID, ScriptedModels
from examples.agent_refunds.workflows import (
    INSTRUCTIONS,
    INSTRUCTIONS_VERSION,
    WORKFLOWS,
    RefundDesk,
    StaffRefund,
)
from tests.support.raw_pydantic_tool import RawPydanticTool, raw_pydantic
from tests.support.raw_tools import RawOpenAITool
from tests.support.refund_desk import LOOKUP, POLICY, agento_context, empty_ledger, plan, refund
from tests.support.reviews import pending_reviews, service_key, signer

__all__ = ["empty_ledger", "service_key", "signer"]  # fixtures this module uses


@pytest.fixture
def client(agento_dev_server: WorkflowEnvironment, service_key: tuple[str, str]) -> Client:
    """The agents plugin first (its payload converter), then agento's, with signed reviews."""
    return Client(
        agento_dev_server.client.service_client,
        plugins=[
            OpenAIAgentsPlugin(model_provider=ScriptedModels()),
            agento.AgentoPlugin(
                engine=EmbeddedEngine(POLICY),
                ungoverned=MODEL_ACTIVITIES,
                review_keys={"review-service": VerificationKey.from_pem(service_key[1])},
            ),
        ],
    )


@pytest.fixture
async def task_queue(client: Client) -> AsyncIterator[str]:
    queue = f"refunds-{uuid.uuid4()}"
    async with worker(client, queue):
        yield queue


def worker(client: Client, task_queue: str) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=agento.as_temporal_activities(*ACTIVITIES),
    )


async def start(client: Client, task_queue: str, message: str) -> WorkflowHandle[Any, str]:
    return await client.start_workflow(
        RefundDesk.run, message, id=f"desk-{uuid.uuid4()}", task_queue=task_queue
    )


async def test_an_allowed_tool_call_runs_once_after_its_recorded_decision(
    client: Client, task_queue: str
) -> None:
    handle = await start(client, task_queue, plan(LOOKUP, refund(40, "A-1002")))

    answer = await handle.result()

    assert [(order, amount) for _, order, amount in LEDGER] == [("A-1002", 40.0)]
    assert answer == 'done: {"refund_id":"rf-1","order_id":"A-1002","amount":40.0}'
    report = audit_report(await handle.fetch_history())
    [decision] = [e for e in report.entries if isinstance(e, DecisionRecorded)]
    [run] = [e for e in report.activities if e.activity == "issue_refund"]
    assert decision.decision.allow
    assert decision.event_id < run.event_id
    assert run.decision_id == decision.decision.decision_id
    assert run.status == "completed"
    assert governance_violations(await handle.fetch_history(), ACTIVITIES) == []


async def test_the_decision_records_which_agent_model_and_tool_call_asked(
    client: Client, task_queue: str
) -> None:
    handle = await start(client, task_queue, plan(LOOKUP, refund(40, "A-1002")))
    await handle.result()

    history = await handle.fetch_history()
    [decision] = [
        e.decision for e in audit_report(history).entries if isinstance(e, DecisionRecorded)
    ]
    agent = agento_context(decision)["agent"]
    assert isinstance(agent, dict)
    assert agent == {
        "framework": "openai-agents",
        "agent": "refund-desk",
        "model": MODEL_ID,
        "tool": "issue_refund",
        "tool_call_id": "call-2",
        "conversation_id": handle.id,
        "instructions_version": INSTRUCTIONS_VERSION,
        "instructions_sha256": "sha256:" + hashlib.sha256(INSTRUCTIONS.encode()).hexdigest(),
        "tools_sha256": agent["tools_sha256"],
    }
    assert str(agent["tools_sha256"]).startswith("sha256:")
    shown = render(audit_report(history))
    assert (
        "asked by agent refund-desk (openai-agents, model scripted-refund-desk, tool call call-2)"
        in shown
    )


async def test_a_denied_call_never_runs_and_the_model_receives_the_refusal(
    client: Client, task_queue: str
) -> None:
    handle = await start(client, task_queue, plan(LOOKUP, refund(9000)))

    answer = await handle.result()

    assert LEDGER == []
    assert answer.startswith("done: ")
    refusal = json.loads(answer.removeprefix("done: "))
    assert refusal["status"] == "denied"
    assert refusal["reasons"] == [
        "an agent may not refund more than 100 without review",
        "refunds above 5000 are never issued",
    ]
    history = await handle.fetch_history()
    assert not [a for a in audit_report(history).activities if a.activity == "issue_refund"]
    assert governance_violations(history, ACTIVITIES) == []


async def test_invalid_arguments_are_returned_to_the_model_and_nothing_is_asked(
    client: Client, task_queue: str
) -> None:
    handle = await start(client, task_queue, plan(["issue_refund", {"order_id": "A-1001"}]))

    refusal = json.loads((await handle.result()).removeprefix("done: "))

    assert refusal["status"] == "invalid_arguments"
    assert {e["at"] for e in refusal["errors"]} == {"amount", "reason"}
    report = audit_report(await handle.fetch_history())
    assert not [e for e in report.entries if isinstance(e, DecisionRecorded)]
    assert LEDGER == []


# The OpenAI Agents SDK's runner, evicted while it awaits a tool (the worker stopped with the run
# paused or wedged), ignores the GeneratorExit that closes it; Python reports that as unraisable
# whenever the coroutine is collected. The tests that stop such a worker collect it at once, so
# the report lands in them, and ignore it there.
FRAMEWORK_EVICTION = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@FRAMEWORK_EVICTION
async def test_a_paused_call_resumes_after_a_signed_approval_across_a_worker_restart(
    client: Client, signer: ResolutionSigner
) -> None:
    queue = f"refunds-{uuid.uuid4()}"
    async with worker(client, queue):
        handle = await start(client, queue, plan(LOOKUP, refund(250)))
        [review] = await pending_reviews(handle)
    gc.collect()  # the evicted run, now (see FRAMEWORK_EVICTION)
    assert review.activity == "issue_refund"
    assert review.reasons == ("an agent may not refund more than 100 without review",)
    assert LEDGER == []

    async with worker(client, queue):  # a new worker: the run's state is rebuilt from history
        outcome = await agento.resolve_review(
            client,
            handle.id,
            review.review_id,
            approve=True,
            reviewer="finance-lead",
            comment="customer sent photos",
            signer=signer,
        )
        answer = await handle.result()

    assert outcome.approved
    assert outcome.signing_key_id == "review-service"
    assert [(order, amount) for _, order, amount in LEDGER] == [("A-1001", 250.0)]
    assert answer == 'done: {"refund_id":"rf-1","order_id":"A-1001","amount":250.0}'
    assert governance_violations(await handle.fetch_history(), ACTIVITIES) == []


async def test_a_rejected_review_reaches_the_model_as_the_tool_result(
    client: Client, task_queue: str, signer: ResolutionSigner
) -> None:
    handle = await start(client, task_queue, plan(LOOKUP, refund(250)))
    [review] = await pending_reviews(handle)

    await agento.resolve_review(
        client,
        handle.id,
        review.review_id,
        approve=False,
        reviewer="finance-lead",
        comment="outside the return window",
        signer=signer,
    )
    refusal = json.loads((await handle.result()).removeprefix("done: "))

    assert refusal == {
        "status": "rejected",
        "tool": "issue_refund",
        "detail": "a reviewer (finance-lead) rejected this call; it did not run",
        "review_id": review.review_id,
        "comment": "outside the return window",
    }
    assert LEDGER == []
    assert governance_violations(await handle.fetch_history(), ACTIVITIES) == []


async def test_a_non_idempotent_tool_called_twice_runs_twice_with_distinct_keys(
    client: Client, task_queue: str
) -> None:
    handle = await start(client, task_queue, plan(refund(40, "A-1002"), refund(40, "A-1002")))
    await handle.result()

    keys = [key for key, _, _ in LEDGER]
    assert len(keys) == 2
    assert keys[0] != keys[1]
    runs = [a for a in audit_report(await handle.fetch_history()).activities if a.governed]
    assert [r.idempotency_key for r in runs] == keys
    assert len({r.decision_id for r in runs}) == 2  # each call was decided on its own


async def test_the_policy_tells_an_agents_call_from_one_workflow_code_made(
    client: Client, task_queue: str
) -> None:
    handle = await client.start_workflow(
        StaffRefund.run,
        Refund(order_id="A-1001", amount=250, reason="arrived broken"),
        id=f"staff-{uuid.uuid4()}",
        task_queue=task_queue,
    )
    receipt = await handle.result()

    [decision] = [
        e.decision
        for e in audit_report(await handle.fetch_history()).entries
        if isinstance(e, DecisionRecorded)
    ]
    assert decision.allow
    assert "agent" not in agento_context(decision)

    assert receipt.amount == 250  # the same refund an agent's model asked for paused for review


def test_a_tool_needs_a_single_policy_input_request() -> None:
    @agento.activity(
        idempotency=agento.Idempotency.IDEMPOTENT,
        policy_class=agento.PolicyClass.READ_ONLY,
        version="1.0.0",
    )
    async def search(text: str, limit: int) -> str:
        return text[:limit]

    with pytest.raises(TypeError, match=r'Activity "search" cannot be an agent tool'):
        governed_tool(search)  # type: ignore[arg-type]


def test_the_tool_schema_is_the_requests() -> None:
    tool = governed_tool(issue_refund)

    assert tool.name == "issue_refund"
    assert tool.description.startswith("Refund an order to the customer's card.")
    assert set(tool.params_json_schema["properties"]) == {"order_id", "amount", "reason"}
    assert tool.params_json_schema["additionalProperties"] is False


@FRAMEWORK_EVICTION
@pytest.mark.parametrize("framework", ["openai-agents", "pydantic-ai"])
async def test_a_governed_activity_through_a_frameworks_raw_tool_wrapper_never_runs(
    agento_dev_server: WorkflowEnvironment, framework: str
) -> None:
    own: Any = (
        OpenAIAgentsPlugin(model_provider=ScriptedModels())
        if framework == "openai-agents"
        else PydanticAIPlugin()
    )
    ungoverned = (
        MODEL_ACTIVITIES if framework == "openai-agents" else framework_activities(raw_pydantic)
    )
    client = Client(
        agento_dev_server.client.service_client,
        plugins=[own, agento.AgentoPlugin(engine=EmbeddedEngine(POLICY), ungoverned=ungoverned)],
    )
    workflow_type = RawOpenAITool if framework == "openai-agents" else RawPydanticTool
    queue = f"raw-{uuid.uuid4()}"
    raw_call = plan(["issue_refund", {"key": "k-1", "request": refund(40, "A-1002")[1]}])
    async with Worker(
        client,
        task_queue=queue,
        workflows=[workflow_type],
        activities=agento.as_temporal_activities(*ACTIVITIES),
    ):
        handle = await client.start_workflow(
            workflow_type.run, raw_call, id=f"raw-{uuid.uuid4()}", task_queue=queue
        )
        refusal = await refused_activity(handle)
        if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
            try:  # a framework retrying its task; the run may close by itself meanwhile
                await handle.terminate("the test saw the refusal")
            except RPCError as e:
                if e.status is not RPCStatusCode.NOT_FOUND:
                    raise
    gc.collect()  # the evicted run, now (see FRAMEWORK_EVICTION)
    expected = "agento-bypass" if framework == "openai-agents" else "agento-raw-tool"
    assert refusal.application_failure_info.type == expected, refusal
    assert LEDGER == []


async def refused_activity(handle: WorkflowHandle[Any, Any]) -> Failure:
    """The failure of the first activity that failed in ``handle``'s run."""
    for _ in range(200):
        async for event in handle.fetch_history_events():
            if event.HasField("activity_task_failed_event_attributes"):
                failure = event.activity_task_failed_event_attributes.failure
                return failure.cause if failure.HasField("cause") else failure
        await asyncio.sleep(0.1)
    raise AssertionError(f"no activity of {handle.id} failed")


def test_importing_agento_loads_no_agent_framework() -> None:
    probe = (
        "import sys, agento, agento.agents; agento.execute_activity; agento.AgentoPlugin; "
        "frameworks = {'agents', 'openai', 'pydantic_ai'}; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & frameworks))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


async def test_an_agent_runs_pack_verifies_once_the_auditor_names_the_model_calls(
    agento_dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    receipts, manifest = CryptoSigner.generate_ed25519(), CryptoSigner.generate_ed25519()
    signing = Client(
        agento_dev_server.client.service_client,
        plugins=[
            OpenAIAgentsPlugin(model_provider=ScriptedModels()),
            agento.AgentoPlugin(
                engine=EmbeddedEngine(POLICY), ungoverned=MODEL_ACTIVITIES, receipt_signer=receipts
            ),
        ],
    )
    queue = f"refunds-{uuid.uuid4()}"
    async with worker(signing, queue):
        handle = await start(signing, queue, plan(LOOKUP, refund(40, "A-1002")))
        await handle.result()
    pack = write_evidence(
        await handle.fetch_history(),
        tmp_path / "agent.agento-evidence.zip",
        signer=manifest,
        bundles=[POLICY],
        receipt_keys=[receipts.public_key],
    )

    strict = verify_evidence(pack, keys=[manifest.public_key])
    accepted = verify_evidence(pack, keys=[manifest.public_key], ungoverned=MODEL_ACTIVITIES)

    failed = [c for c in strict.checks if c.status == "failed"]
    assert failed, "a model call with no allow is a finding until the auditor names it"
    assert all(c.check == "side_effects" for c in failed)
    assert all(c.message.startswith("activity invoke_model_activity ") for c in failed)
    assert accepted.ok, accepted.checks
    [effects] = [c for c in accepted.checks if c.check == "side_effects"]
    assert effects.message.endswith("accepted as ungoverned: invoke_model_activity")
    assert "issue_refund" in {
        r.activity for r in audit_report(await handle.fetch_history()).activities
    }
