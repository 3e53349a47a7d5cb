"""The platform fails around paused runs: the Temporal server restarts, the policy engine goes
down and comes back, a new activity version is deployed while runs wait."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.client import WorkflowHandle

from agento import PendingReview, ReviewOutcome, ReviewReason
from agento._audit.report import audit_report
from faults._governed import Charge, ChargeKeyed, charge_keyed, release_v2
from faults._harness import Harness, resolve, settle, violations
from faults._report import Figure


def _charges(h: Harness, kind: str, count: int, amount: int) -> list[Charge]:
    tag = uuid.uuid4().hex[:8]
    return [
        Charge(run=f"{kind}-{n}-{tag}", ledger_url=h.ledger.url, amount=amount)
        for n in range(count)
    ]


async def _start_all(
    h: Harness, workflow: Any, requests: list[Charge], task_queue: str
) -> list[WorkflowHandle[Any, Any]]:
    return [
        await h.client.start_workflow(workflow, r, id=r.run, task_queue=task_queue)
        for r in requests
    ]


def _paused(settled: list[Any], reason: ReviewReason) -> list[PendingReview]:
    return [s for s in settled if isinstance(s, PendingReview) and s.reason is reason]


async def _approve_all(
    h: Harness, handles: list[WorkflowHandle[Any, Any]], reviews: list[Any]
) -> list[Any]:
    """Approve each run's review; how each run then settles."""

    async def approve(pair: tuple[WorkflowHandle[Any, Any], Any]) -> Any:
        handle, review = pair
        if not isinstance(review, PendingReview):
            return review
        outcome = await resolve(handle, review.review_id, approve=True)
        return await settle(handle) if isinstance(outcome, ReviewOutcome) else outcome

    return await h.each(list(zip(handles, reviews, strict=True)), approve)


async def server_restart(h: Harness, trials: int) -> list[Figure]:
    name = "Dev-server restart (SIGTERM, same SQLite file)"
    task_queue = f"faults-restart-{uuid.uuid4().hex[:8]}"
    requests = _charges(h, "restart", trials, amount=150)  # over the limit: reviewed
    worker = await h.workers.start(task_queue)
    try:
        handles = await _start_all(h, ChargeKeyed.run, requests, task_queue)
        before = _paused(await h.each(handles, settle), ReviewReason.POLICY_DENIED)
    finally:
        worker.kill()
    await h.restart_server()
    handles = [h.client.get_workflow_handle(r.run) for r in requests]
    worker = await h.workers.start(task_queue)
    try:
        after = await h.each(handles, settle)
        kept = sum(
            isinstance(a, PendingReview) and a.review_id == b.review_id
            for a, b in zip(after, before, strict=False)
        )
        ended = await _approve_all(h, handles, after)
    finally:
        worker.kill()
    return [
        Figure.all_of(name, "runs paused in review before the restart", len(before), trials),
        Figure.all_of(name, "still paused after it, same review", kept, trials),
        Figure.all_of(name, "completed after approval", ended.count("completed"), trials),
        Figure.exactly(name, "duplicate effects", _duplicates(h, requests), 0),
        Figure.exactly(name, "governance violations", await violations(handles, [charge_keyed]), 0),
    ]


async def engine_down(h: Harness, trials: int) -> list[Figure]:
    name = "Policy engine down, then back"
    task_queue = f"faults-outage-{uuid.uuid4().hex[:8]}"
    requests = _charges(h, "outage", trials, amount=10)
    worker = await h.workers.start(task_queue, engine="opa")  # built while OPA answers
    try:
        h.opa.stop()  # the port closes: every ask is refused
        try:
            handles = await _start_all(h, ChargeKeyed.run, requests, task_queue)
            settled = await h.each(handles, settle)
            effects_while_down = sum(h.ledger.effects_of(r.run) for r in requests)
        finally:
            h.opa.start()
        paused = _paused(settled, ReviewReason.ENGINE_UNAVAILABLE)
        ended = await _approve_all(h, handles, settled)
    finally:
        worker.kill()
    once = sum(h.ledger.effects_of(r.run) == 1 for r in requests)
    return [
        Figure.exactly(name, "effects while the engine was down", effects_while_down, 0),
        Figure.all_of(name, "runs paused with engine_unavailable", len(paused), trials),
        Figure.all_of(
            name,
            "completed once it answered (approval asks again)",
            ended.count("completed"),
            trials,
        ),
        Figure.all_of(name, "runs with exactly one effect", once, trials),
        Figure.exactly(name, "governance violations", await violations(handles, [charge_keyed]), 0),
    ]


async def redeploy(h: Harness, trials: int) -> list[Figure]:
    """Runs paused under 1.0.0 are approved after 2.0.0 is deployed: the approval covered what
    the policy saw (1.0.0), so agento asks again for 2.0.0 before it runs."""
    name = "Redeploy while paused (activity 1.0.0 -> 2.0.0)"
    task_queue = f"faults-redeploy-{uuid.uuid4().hex[:8]}"
    requests = _charges(h, "redeploy", trials, amount=150)
    first = await h.workers.start(task_queue, deployment="v1")
    try:
        handles = await _start_all(h, "Release", requests, task_queue)
        paused = await h.each(handles, settle)
    finally:
        first.kill()
    second = await h.workers.start(task_queue, deployment="v2")
    try:
        asked_again = await _approve_all(h, handles, paused)
        ended = await _approve_all(h, handles, asked_again)
    finally:
        second.kill()
    reasked = 0
    for handle in handles:
        decisions = audit_report(await handle.fetch_history()).decisions
        versions = [
            d.decision.input["agento"].get("activity_version")
            for d in decisions
            if isinstance(d.decision.input["agento"], dict)
        ]
        reasked += versions == ["1.0.0", "2.0.0"]
    ran_v1 = sum(h.ledger.effects_of(f"{r.run}@1.0.0") for r in requests)
    ran_v2 = sum(h.ledger.effects_of(f"{r.run}@2.0.0") == 1 for r in requests)
    return [
        Figure.all_of(
            name,
            "runs paused in review under 1.0.0",
            len(_paused(paused, ReviewReason.POLICY_DENIED)),
            trials,
        ),
        Figure.all_of(
            name, "approvals of a 1.0.0 decision that asked again for 2.0.0", reasked, trials
        ),
        Figure.exactly(name, "effects by 1.0.0 after the redeploy", ran_v1, 0),
        Figure.all_of(
            name,
            "completed under 2.0.0 with one effect",
            min(ended.count("completed"), ran_v2),
            trials,
        ),
        Figure.exactly(name, "governance violations", await violations(handles, [release_v2]), 0),
    ]


def _duplicates(h: Harness, requests: list[Charge]) -> int:
    return sum(max(0, len(h.ledger.arrivals_of(r.run)) - 1) for r in requests)
