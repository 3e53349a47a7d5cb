"""``make demo-agent``: a refund-desk agent whose tools are governed activities, offline.

Temporal's dev server (in memory), a worker with the OpenAI Agents SDK plugin (the model is the
example's scripted one: no network, no API key) and agento's, with the embedded engine and the
refund policy. Run one: the model looks an order up and refunds 40, which the policy allows.
Run two: it refunds 250, which the policy does not allow an agent without review; the run
pauses, a finance lead approves (signed), the refund runs and its receipt is the model's tool
result. ``agento audit`` then prints run two's trail: the model's tool call, the decision that
paused it with the agent, model and tool call id that asked, the approval, the refund.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

from agents import set_tracing_disabled
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from temporalio.client import Client, WorkflowHandle
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import agento
from agento.agents.openai import MODEL_ACTIVITIES
from agento.testing import server_binary
from examples.agent_refunds.activities import ACTIVITIES, LEDGER
from examples.agent_refunds.model import ScriptedModels
from examples.agent_refunds.workflows import WORKFLOWS, RefundDesk

ROOT = Path(__file__).parents[2]
POLICY = Path(__file__).parent / "policy"
TASK_QUEUE = "refund-desk"


def step(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def plan(order_id: str, amount: float) -> str:
    """What the scripted model will do: look the order up, then refund it."""
    return json.dumps(
        [
            ["lookup_order", {"order_id": order_id}],
            ["issue_refund", {"order_id": order_id, "amount": amount, "reason": "arrived broken"}],
        ]
    )


def review_service_key() -> tuple[agento.ResolutionSigner, agento.VerificationKey]:
    """A key made for this demo: the review service signs with it, workers hold its public half."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signer = agento.ResolutionSigner(key=private, key_id="review-service-demo")
    return signer, agento.VerificationKey.from_pem(public.decode())


async def tool_calls(handle: WorkflowHandle[RefundDesk, str]) -> list[str]:
    """The model's tool calls, as the recorded decisions name them."""
    report = agento.audit_report(await handle.fetch_history())
    calls = []
    for entry in report.decisions:
        decision = entry.decision
        context = decision.input.get("agento")
        agent = context.get("agent") if isinstance(context, dict) else None
        if isinstance(agent, dict):
            request = {k: v for k, v in decision.input.items() if k != "agento"}
            verdict = "ALLOW" if decision.allow else "DENY"
            calls.append(
                f"{agent['agent']} ({agent['model']}) called {agent['tool']} "
                f"{json.dumps(request)} as {agent['tool_call_id']}: {verdict} "
                f"{decision.policy} revision {decision.bundle_revision[:12]}..."
            )
    return calls


async def main() -> None:
    set_tracing_disabled(True)  # the SDK's traces go to OpenAI's servers, which this does not use
    signer, public = review_service_key()
    engine = agento.EmbeddedEngine(POLICY)
    step(f"embedded policy engine, bundle revision {engine.bundle.revision[:19]}...")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=server_binary("temporal"), dev_server_log_level="error"
    )
    async with env:
        await agento.ensure_search_attributes(env.client)
        address = env.client.service_client.config.target_host
        step(f"dev server at {address}")
        client = Client(
            env.client.service_client,
            plugins=[  # the agents plugin first: agento keeps its payload converter
                OpenAIAgentsPlugin(model_provider=ScriptedModels()),
                agento.AgentoPlugin(
                    engine=engine,
                    ungoverned=MODEL_ACTIVITIES,
                    review_keys={signer.key_id: public},
                ),
            ],
        )
        worker = Worker(
            client,
            task_queue=TASK_QUEUE,
            workflows=WORKFLOWS,
            activities=agento.as_temporal_activities(*ACTIVITIES),
        )
        async with worker:
            suffix = uuid.uuid4().hex[:6]
            first = await client.start_workflow(
                RefundDesk.run, plan("A-1002", 40), id=f"desk-1-{suffix}", task_queue=TASK_QUEUE
            )
            answer = await first.result()
            for call in await tool_calls(first):
                step(f"run 1: {call}")
            step(f"run 1 answered: {answer}")

            second = await client.start_workflow(
                RefundDesk.run, plan("A-1001", 250), id=f"desk-2-{suffix}", task_queue=TASK_QUEUE
            )
            review = await paused(client, second.id)
            step(f"run 2 paused for review {review.review_id}: {'; '.join(review.reasons)}")
            outcome = await agento.resolve_review(
                client,
                second.id,
                review.review_id,
                approve=True,
                reviewer="finance.lead",
                comment="photos of the damage on file",
                signer=signer,
            )
            step(f"finance.lead approved it (signed, key {outcome.signing_key_id})")
            answer = await second.result()
            for call in await tool_calls(second):
                step(f"run 2: {call}")
            step(f"run 2 answered: {answer}")
            step(f"the payment stand-in issued {len(LEDGER)} refunds, each with its own key")
            print(await asyncio.to_thread(agento_cli, "audit", second.id, "--address", address))
    step("dev server stopped")


async def paused(client: Client, workflow_id: str) -> agento.PendingReview:
    for _ in range(200):
        reviews = await agento.pending_reviews(client, workflow_id)
        if reviews:
            return reviews[0]
        await asyncio.sleep(0.05)
    raise SystemExit(f"{workflow_id} never paused for review")


def agento_cli(*args: str) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "agento", *args], capture_output=True, text=True, cwd=ROOT
    )
    if run.returncode != 0:
        raise SystemExit(f"agento {args[0]} failed: {run.stderr.strip()}")
    return run.stdout


if __name__ == "__main__":
    asyncio.run(main())
