"""Workers SIGKILLed mid-step: in a NON_IDEMPOTENT activity, in a KEYED one, and while the
decision itself is being asked."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle

from agento import PendingReview, ReviewOutcome, ReviewReason
from agento._audit.report import audit_report
from faults._governed import STAGES, Charge, ChargeKeyed, ChargeOnce, charge_keyed, charge_once
from faults._harness import Harness, resolve, settle, violations
from faults._report import Figure

TASK_TIMEOUT = timedelta(seconds=2)
"""A killed worker's workflow task is handed to the next worker after this."""


async def _marked(path: Path, *, timeout: float = 60) -> None:
    for _ in range(int(timeout * 50)):
        if path.exists():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{path} never appeared")


async def _start_killed(
    h: Harness, workflow: Any, request: Charge, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """Start the run on a worker, and SIGKILL the worker when the body reaches its stage."""
    first = await h.workers.start(task_queue)
    try:
        handle = await h.client.start_workflow(
            workflow,
            request,
            id=request.run,
            task_queue=task_queue,
            task_timeout=TASK_TIMEOUT,
        )
        await _marked(Path(request.marker))
    finally:
        first.kill()
    return handle


def _request(h: Harness, kind: str, n: int) -> Charge:
    run = f"{kind}-{n}-{uuid.uuid4().hex[:8]}"
    return Charge(
        run=run,
        ledger_url=h.ledger.url,
        amount=10,
        kill_at=STAGES[n % len(STAGES)],
        marker=str(h.workdir / f"{run}.marker"),
    )


async def non_idempotent(h: Harness, trials: int) -> list[Figure]:
    name = "SIGKILL in a NON_IDEMPOTENT activity"
    finished, reviewed, lost, duplicates = Counter[str](), Counter[str](), 0, 0
    approved_reran, approvals, rejected_failed, rejections = 0, 0, 0, 0
    handles: list[WorkflowHandle[Any, Any]] = []

    async def trial(n: int) -> None:
        nonlocal lost, duplicates, approved_reran, approvals, rejected_failed, rejections
        request = _request(h, "once", n)
        task_queue = f"faults-{request.run}"
        handle = await _start_killed(h, ChargeOnce.run, request, task_queue)
        handles.append(handle)
        second = await h.workers.start(task_queue)
        try:
            settled = await settle(handle)
            before = h.ledger.arrivals_of(request.run)
            duplicates += max(0, len(before) - 1)
            if settled == "completed":
                finished[request.kill_at] += 1
                return
            if not isinstance(settled, PendingReview):
                lost += 1
                return
            if settled.reason is ReviewReason.OUTCOME_UNKNOWN:
                reviewed[request.kill_at] += 1
            approve = n % 2 == 0
            outcome = await resolve(handle, settled.review_id, approve=approve)
            if not isinstance(outcome, ReviewOutcome):
                raise RuntimeError(f"{request.run}: the review was not resolved: {outcome}")
            after = await settle(handle)
            arrivals = h.ledger.arrivals_of(request.run)
            if approve:
                approvals += 1
                keys = {a.key for a in arrivals}
                approved_reran += (
                    after == "completed" and len(arrivals) == len(before) + 1 and len(keys) == 1
                )
            else:
                rejections += 1
                rejected_failed += after == "failed" and arrivals == before
        finally:
            second.kill()

    await h.each(range(trials), trial)
    unfinished = trials - sum(finished.values())
    return [
        Figure.info(
            name,
            "trials (before / after / returning)",
            _by_stage(Counter(STAGES[n % len(STAGES)] for n in range(trials))),
        ),
        Figure.exactly(name, "duplicate arrivals at the ledger before a review", duplicates, 0),
        Figure.info(name, "finished before the kill took effect", _by_stage(finished)),
        Figure.all_of(
            name,
            "unfinished runs paused in an outcome_unknown review",
            sum(reviewed.values()),
            unfinished,
        ),
        Figure.exactly(name, "runs lost or stuck", lost, 0),
        Figure.all_of(
            name, "approvals that re-ran once, with the same key", approved_reran, approvals
        ),
        Figure.all_of(
            name, "rejections that failed the run, nothing re-run", rejected_failed, rejections
        ),
        Figure.exactly(name, "governance violations", await violations(handles, [charge_once]), 0),
    ]


async def keyed(h: Harness, trials: int) -> list[Figure]:
    name = "SIGKILL in a KEYED activity"
    once, one_key, lost, arrivals_total = 0, 0, 0, 0
    handles: list[WorkflowHandle[Any, Any]] = []

    async def trial(n: int) -> None:
        nonlocal once, one_key, lost, arrivals_total
        request = _request(h, "keyed", n)
        task_queue = f"faults-{request.run}"
        handle = await _start_killed(h, ChargeKeyed.run, request, task_queue)
        handles.append(handle)
        second = await h.workers.start(task_queue)
        try:
            settled = await settle(handle)
        finally:
            second.kill()
        arrivals = h.ledger.arrivals_of(request.run)
        arrivals_total += len(arrivals)
        lost += settled != "completed"
        once += h.ledger.effects_of(request.run) == 1
        one_key += len({a.key for a in arrivals}) == 1 and all(a.key for a in arrivals)

    await h.each(range(trials), trial)
    return [
        Figure.info(name, "trials", trials),
        Figure.info(name, "raw arrivals at the ledger", arrivals_total),
        Figure.all_of(name, "runs with exactly one deduplicated effect", once, trials),
        Figure.all_of(name, "runs whose arrivals all carry one key", one_key, trials),
        Figure.exactly(name, "runs lost or stuck", lost, 0),
        Figure.exactly(name, "governance violations", await violations(handles, [charge_keyed]), 0),
    ]


async def decision_step(h: Harness, trials: int) -> list[Figure]:
    """The worker dies with the decision asked and unanswered, or answered but not yet in
    history: the next worker asks again, and the history holds exactly one decision."""
    name = "SIGKILL during the decision step"
    one_decision, effects_once, lost, asks = 0, 0, 0, 0
    handles: list[WorkflowHandle[Any, Any]] = []

    async def trial(n: int) -> None:
        nonlocal one_decision, effects_once, lost, asks
        run = f"decision-{n}-{uuid.uuid4().hex[:8]}"
        request = Charge(run=run, ledger_url=h.ledger.url, amount=10)
        task_queue = f"faults-{run}"
        hold = h.opa.hold(run)
        first = await h.workers.start(task_queue, engine="opa")
        try:
            handle = await h.client.start_workflow(
                ChargeKeyed.run, request, id=run, task_queue=task_queue, task_timeout=TASK_TIMEOUT
            )
            handles.append(handle)
            await asyncio.to_thread(hold.arrived.wait, 60)
            if n % 2:  # answered, then killed before the answer reaches history
                hold.release.set()
                await asyncio.sleep(random.uniform(0, 0.05))
        finally:
            first.kill()
            hold.release.set()
        second = await h.workers.start(task_queue, engine="opa")
        try:
            settled = await settle(handle)
        finally:
            second.kill()
        lost += settled != "completed"
        report = audit_report(await handle.fetch_history())
        one_decision += len(report.decisions) == 1
        effects_once += h.ledger.effects_of(run) == 1
        asks += h.opa.asks.count(run)

    await h.each(range(trials), trial)
    return [
        Figure.info(
            name,
            "trials (killed before / after the engine answered)",
            f"{(trials + 1) // 2} / {trials // 2}",
        ),
        Figure.info(name, "times the engine was asked", asks),
        Figure.all_of(name, "runs with exactly one decision in history", one_decision, trials),
        Figure.all_of(name, "runs with exactly one effect", effects_once, trials),
        Figure.exactly(name, "runs lost or stuck", lost, 0),
        Figure.exactly(name, "governance violations", await violations(handles, [charge_keyed]), 0),
    ]


def _by_stage(counts: Counter[str]) -> str:
    return " / ".join(str(counts[stage]) for stage in STAGES)
