"""Governed runs whose histories pin what agento writes to Temporal history, and the recorder of
those histories: ``python -m tests.support.record_histories`` runs each on Temporal's dev server
and writes its history to ``tests/support/histories/<name>.json``.

The histories in the repository were recorded by agento before its private modules moved into
subpackages; tests/test_history_compatibility.py replays them and checks their wire names
(activity types and ids, header keys, patch ids, update and query names, search attributes)
against the names the code writes now. Everything here uses agento's public API only, so that
it outlives any reorganisation of agento's private modules. It keeps a history already recorded
(``--overwrite`` records it again): record only to add a scenario, never to make a failing
compatibility test pass.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import temporalio.client
import temporalio.worker
from pydantic_ai.durable_exec.temporal import PydanticAIPlugin
from securesystemslib.signer import CryptoSigner
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import agento
from agento.agents.pydantic_ai import framework_activities
from agento.testing import start_dev_server
from examples.agent_refunds.activities import ACTIVITIES as REFUND_ACTIVITIES
from examples.agent_refunds.pydantic_ai_desk import PydanticRefundDesk, refund_desk
from tests.support.engines import POLICY_BUNDLE
from tests.support.governed_activities import GOVERNED, Transfer
from tests.support.governed_workflows import (
    WORKFLOWS,
    RouteWorkflow,
    StartedWorkflow,
    UpsertAcrossContinueAsNewWorkflow,
)
from tests.support.runs import governed_worker

HISTORIES = Path(__file__).parent / "histories"
REFUND_POLICY = Path(__file__).parents[2] / "examples" / "agent_refunds" / "policy"
REVIEWERS = "agento/tests/reviewers"
"""The tests' reviewer policy: members of "approvers" approve."""

PENDING_REVIEWS_QUERY = "agento.pending_reviews"
RESOLVE_REVIEW_UPDATE = "agento.resolve_review"
"""The review query and update by their wire names, as a client of another SDK sends them."""

CAROL = agento.ReviewerIdentity(subject="carol", groups=("approvers",), issuer="test-idp")


@dataclass(frozen=True)
class Scenario:
    """One governed run: how to make it on a server, and how its history replays."""

    name: str
    """The history's file name, without ``.json``."""
    run: Callable[[WorkflowEnvironment], Awaitable[WorkflowHistory]]
    workflows: Sequence[type]
    activities: Sequence[agento.AnyActivity]
    """The governed activities the run may start, for `agento.testing.governance_violations`."""
    replay_plugins: Callable[[], list[temporalio.worker.Plugin]]
    """The plugins a replayer needs: those of the run's workers whose settings shape history."""

    @property
    def path(self) -> Path:
        return HISTORIES / f"{self.name}.json"

    def load(self) -> WorkflowHistory:
        """The recorded history."""
        text = self.path.read_text()
        return WorkflowHistory.from_json(recorded_workflow_id(text), text)


def recorded_workflow_id(text: str) -> str:
    """The workflow id of a history exported as JSON (its first event says it)."""
    started = json.loads(text)["events"][0]["workflowExecutionStartedEventAttributes"]
    return str(started["workflowId"])


def _governed(env: WorkflowEnvironment, *plugins: temporalio.client.Plugin) -> Client:
    return Client(env.client.service_client, namespace=env.client.namespace, plugins=list(plugins))


def _queue(name: str) -> str:
    return f"{name}-{uuid.uuid4()}"


async def pending_reviews(handle: WorkflowHandle[Any, Any]) -> list[agento.PendingReview]:
    """The run's pending reviews, asked by the query's wire name, once one is pending."""
    for _ in range(300):
        reviews: list[agento.PendingReview] = await handle.query(
            PENDING_REVIEWS_QUERY, result_type=list[agento.PendingReview]
        )
        if reviews:
            return reviews
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} never paused for review")


async def allowed_keyed_and_at_most_once(env: WorkflowEnvironment) -> WorkflowHistory:
    """A KEYED and a NON_IDEMPOTENT activity started together and both allowed, each decision
    signed with a receipt chained to the one before it."""
    plugin = agento.AgentoPlugin(
        engine=agento.EmbeddedEngine(POLICY_BUNDLE),
        receipt_signer=CryptoSigner.generate_ed25519(),
    )
    client = _governed(env, plugin)
    queue = _queue("allowed")
    async with governed_worker(client, queue):
        handle = await client.start_workflow(
            StartedWorkflow.run,
            Transfer(project_id="bess-7", amount=40),
            id=f"allowed-{uuid.uuid4()}",
            task_queue=queue,
        )
        await handle.result()
        return await handle.fetch_history()


async def denied_then_approved_by_signed_review(env: WorkflowEnvironment) -> WorkflowHistory:
    """A recoverable deny (over the limit of 100) pauses the route for review; carol, an
    approver, approves with a resolution signed by the review service's key, the reviewer
    policy allows her, and the route runs under her approval."""
    signer = agento.ResolutionSigner.generate("review-service")
    plugin = agento.AgentoPlugin(
        engine=agento.EmbeddedEngine(POLICY_BUNDLE),
        review_keys={"review-service": agento.VerificationKey.from_pem(signer.public_pem)},
        reviewer_policy=REVIEWERS,
    )
    client = _governed(env, plugin)
    queue = _queue("reviewed")
    async with governed_worker(client, queue):
        handle = await client.start_workflow(
            RouteWorkflow.run,
            Transfer(project_id="bess-9", amount=150),
            id=f"reviewed-{uuid.uuid4()}",
            task_queue=queue,
        )
        [review] = await pending_reviews(handle)
        signature = signer.sign(
            agento.ResolutionStatement(
                workflow_id=handle.id,
                review_id=review.review_id,
                decision_id=review.decision_id,
                approve=True,
                comment="checked",
                reviewer=CAROL,
            )
        )
        resolution = agento.ResolveReview(
            review_id=review.review_id,
            approve=True,
            reviewer=CAROL.subject,
            comment="checked",
            signature=signature,
        )
        await handle.execute_update(
            RESOLVE_REVIEW_UPDATE, resolution, result_type=agento.ReviewOutcome
        )
        await handle.result()
        return await handle.fetch_history()


async def denied_for_good(env: WorkflowEnvironment) -> WorkflowHistory:
    """A deny the policy marks not recoverable (over 1000): the run fails, nothing runs."""
    client = _governed(env, agento.AgentoPlugin(engine=agento.EmbeddedEngine(POLICY_BUNDLE)))
    queue = _queue("denied")
    async with governed_worker(client, queue):
        handle = await client.start_workflow(
            RouteWorkflow.run,
            Transfer(project_id="x", amount=5000),
            id=f"denied-{uuid.uuid4()}",
            task_queue=queue,
        )
        try:
            await handle.result()
        except WorkflowFailureError:
            pass
        else:
            raise AssertionError("a deny for good must fail the run")
        return await handle.fetch_history()


async def keyed_after_continue_as_new(env: WorkflowEnvironment) -> WorkflowHistory:
    """The second run of a workflow that continued as new once: it starts with agento's
    generation header, and its keyed call's idempotency key carries generation 1."""
    client = _governed(env, agento.AgentoPlugin(engine=agento.EmbeddedEngine(POLICY_BUNDLE)))
    queue = _queue("continued")
    async with governed_worker(client, queue):
        handle = await client.start_workflow(
            UpsertAcrossContinueAsNewWorkflow.run,
            Transfer(project_id="p", amount=1),
            id=f"continued-{uuid.uuid4()}",
            task_queue=queue,
        )
        latest = client.get_workflow_handle(handle.id)
        await latest.result()
        return await latest.fetch_history()


async def agent_tool_call_allowed(env: WorkflowEnvironment) -> WorkflowHistory:
    """A Pydantic AI agent (scripted ``FunctionModel``, offline) looks an order up and refunds
    40 through its governed tools; the refund's decision records the agent that asked."""
    client = _governed(
        env,
        PydanticAIPlugin(),
        agento.AgentoPlugin(
            engine=agento.EmbeddedEngine(REFUND_POLICY),
            ungoverned=framework_activities(refund_desk),
        ),
    )
    queue = _queue("agent")
    plan = [
        ["lookup_order", {"order_id": "A-1002"}],
        ["issue_refund", {"order_id": "A-1002", "amount": 40, "reason": "arrived broken"}],
    ]
    async with Worker(
        client,
        task_queue=queue,
        workflows=[PydanticRefundDesk],
        activities=agento.as_temporal_activities(*REFUND_ACTIVITIES),
    ):
        handle = await client.start_workflow(
            PydanticRefundDesk.run, json.dumps(plan), id=f"agent-{uuid.uuid4()}", task_queue=queue
        )
        await handle.result()
        return await handle.fetch_history()


def _plain() -> list[temporalio.worker.Plugin]:
    return [agento.AgentoPlugin()]


SCENARIOS = [
    Scenario(
        "allowed-keyed-and-at-most-once",
        allowed_keyed_and_at_most_once,
        WORKFLOWS,
        GOVERNED,
        _plain,
    ),
    Scenario(
        "denied-then-approved-by-signed-review",
        denied_then_approved_by_signed_review,
        WORKFLOWS,
        GOVERNED,
        lambda: [agento.AgentoPlugin(reviewer_policy=REVIEWERS)],
    ),
    Scenario("denied-for-good", denied_for_good, WORKFLOWS, GOVERNED, _plain),
    Scenario(
        "keyed-after-continue-as-new", keyed_after_continue_as_new, WORKFLOWS, GOVERNED, _plain
    ),
    Scenario(
        "agent-tool-call-allowed",
        agent_tool_call_allowed,
        [PydanticRefundDesk],
        REFUND_ACTIVITIES,
        lambda: [PydanticAIPlugin(), agento.AgentoPlugin()],
    ),
]


async def record(names: Sequence[str] = (), *, overwrite: bool = False) -> list[Path]:
    """Run the scenarios (all, or those named) on a fresh dev server and write their histories;
    a history already recorded is kept unless ``overwrite``: the recordings in the repository
    are evidence of what an earlier agento wrote, which a later one must not quietly replace."""
    unknown = sorted(set(names) - {s.name for s in SCENARIOS})
    if unknown:
        raise SystemExit(f"no such scenario: {', '.join(unknown)}")
    chosen = [s for s in SCENARIOS if not names or s.name in names]
    todo = [s for s in chosen if overwrite or not s.path.exists()]
    for scenario in chosen:
        if scenario not in todo:
            print(f"kept {scenario.path.name} (recorded already; --overwrite records it again)")
    written: list[Path] = []
    if not todo:
        return written
    env = await start_dev_server(plugins=[agento.AgentoPlugin()])
    async with env:
        await agento.ensure_search_attributes(env.client)
        for scenario in todo:
            history = await scenario.run(env)
            scenario.path.write_text(history.to_json() + "\n")
            print(f"wrote {scenario.path.name}")
            written.append(scenario.path)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.record_histories",
        description="Record the governed runs' histories into tests/support/histories/.",
    )
    parser.add_argument("names", nargs="*", help="scenarios to record (default: all)")
    parser.add_argument("--overwrite", action="store_true", help="record existing ones again")
    options = parser.parse_args(argv)
    asyncio.run(record(options.names, overwrite=options.overwrite))


if __name__ == "__main__":
    main()
