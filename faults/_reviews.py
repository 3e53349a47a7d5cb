"""Two reviewers resolve the same review at the same moment: exactly one resolution is taken."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from agento import PendingReview, ReviewOutcome
from agento._audit.report import ReviewResolved, audit_report
from faults._governed import Charge, ChargeKeyed, charge_keyed
from faults._harness import Harness, resolve, settle, violations
from faults._report import Figure

VOTES = ((True, False), (True, True), (False, False))
"""The pairs, in turn: approve against reject, two approvals, two rejections."""


async def concurrent_resolutions(h: Harness, trials: int) -> list[Figure]:
    name = "Concurrent review resolutions"
    task_queue = f"faults-race-{uuid.uuid4().hex[:8]}"
    tag = uuid.uuid4().hex[:8]
    requests = [
        Charge(run=f"race-{n}-{tag}", ledger_url=h.ledger.url, amount=150) for n in range(trials)
    ]
    worker = await h.workers.start(task_queue)
    try:
        handles = [
            await h.client.start_workflow(ChargeKeyed.run, r, id=r.run, task_queue=task_queue)
            for r in requests
        ]
        reviews = await h.each(handles, settle)

        async def race(n: int) -> list[ReviewOutcome | str]:
            review, votes = reviews[n], VOTES[n % len(VOTES)]
            if not isinstance(review, PendingReview):
                return [f"no review: {review}"]
            return list(
                await asyncio.gather(
                    *(
                        resolve(handles[n], review.review_id, approve=vote, reviewer=who)
                        for vote, who in zip(votes, ("bob", "carol"), strict=True)
                    )
                )
            )

        results = await asyncio.gather(*(race(n) for n in range(trials)))
        ended = await h.each(handles, settle)
    finally:
        worker.kill()
    one_accepted = sum(sum(isinstance(r, ReviewOutcome) for r in pair) == 1 for pair in results)
    one_recorded, consistent = 0, 0
    for n, handle in enumerate(handles):
        resolutions = [
            e
            for e in audit_report(await handle.fetch_history()).entries
            if isinstance(e, ReviewResolved)
        ]
        one_recorded += len(resolutions) == 1
        winners = [r for r in results[n] if isinstance(r, ReviewOutcome)]
        consistent += bool(winners) and _ended_as(ended[n], winners[0], h, requests[n].run)
    return [
        Figure.info(name, "pairs (approve+reject / approve+approve / reject+reject)", _mix(trials)),
        Figure.all_of(name, "pairs with exactly one resolution accepted", one_accepted, trials),
        Figure.all_of(name, "runs with exactly one resolution in history", one_recorded, trials),
        Figure.all_of(name, "runs that ended as the accepted resolution said", consistent, trials),
        Figure.exactly(name, "governance violations", await violations(handles, [charge_keyed]), 0),
    ]


def _ended_as(ended: Any, winner: ReviewOutcome, h: Harness, run: str) -> bool:
    if winner.approved:
        return bool(ended == "completed" and h.ledger.effects_of(run) == 1)
    return bool(ended == "failed" and h.ledger.effects_of(run) == 0)


def _mix(trials: int) -> str:
    counts = [sum(1 for n in range(trials) if n % len(VOTES) == i) for i in range(len(VOTES))]
    return " / ".join(map(str, counts))
