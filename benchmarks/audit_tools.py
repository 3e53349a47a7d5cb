"""The auditor's tools at scale, on Temporal's dev server.

- ``agento impact`` over 1,000 runs (half completed, half paused in review): runs per second
  fetching one history at a time (how it worked before) and 16 at a time, and the peak of
  Python's traced memory over 250 runs against 1,000 (flat when runs are streamed);
- ``agento review list`` over 1,000 runs paused in review with every worker stopped (visibility
  alone answers it);
- ``agento audit`` (the report and its rendering) of histories of about 1k, 4k and 16k events,
  and ``agento.testing.governance_violations`` over the same: time per event shows the slope.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
import tracemalloc
import uuid
from typing import Any

from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import agento
from agento._audit.replay import ImpactTally
from agento._audit.report import audit_report, render
from agento._cli.audit import reports_of
from agento._reviews.visibility import LISTING_QUERY, listed_reviews
from agento.testing import governance_violations, server_binary
from benchmarks._execution_workflows import BUNDLE, GovernedOrders, ManyOrders, Order, place

QUEUES = 4
RUNS_PER_QUEUE = 250
PAUSED = 1_000
"""Runs paused in review when the workers stop: the impact runs' half, and more."""


PAUSED_RUNS = 'ExecutionStatus="Running" AND WorkflowType="GovernedOrders"'


IMPACT_PAUSED = QUEUES * RUNS_PER_QUEUE // 2
"""The impact runs that pause (every other one)."""


HISTORY_CALLS = (200, 800, 3_200)
"""Governed calls per long history: about 5 events each."""


async def _populate(client: Client, task_queue: str) -> None:
    """Half the runs complete, half pause in review (the bench policy denies over 1,000)."""
    handles = [
        await client.start_workflow(
            GovernedOrders.run,
            args=[Order(project_id="bess-7", amount=40 if n % 2 else 5_000), 1],
            id=f"impact-{task_queue}-{n}",
            task_queue=task_queue,
        )
        for n in range(RUNS_PER_QUEUE)
    ]
    await asyncio.gather(*(h.result() for n, h in enumerate(handles) if n % 2))


async def _listed(client: Client, query: str, expected: int) -> None:
    for _ in range(600):  # visibility is eventually consistent
        if (await client.count_workflows(query)).count >= expected:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"visibility never listed {expected} runs for {query}")


async def _impact(client: Client, query: str, concurrency: int) -> tuple[int, float]:
    """(runs, seconds) of one impact pass, as ``agento impact`` makes it."""
    tally = ImpactTally(agento.EmbeddedEngine(BUNDLE))
    start = time.perf_counter()
    async for report in reports_of(client, query, concurrency=concurrency):
        tally.add(report)
    return tally.report().runs, time.perf_counter() - start


async def _peak_memory(client: Client, query: str) -> float:
    """Peak traced memory (MiB) of one streamed impact pass."""
    tracemalloc.start()
    try:
        await _impact(client, query, 16)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _per_event_us(fn: Any, history: WorkflowHistory, repeat: int = 5) -> float:
    best = min(_timed(fn, history) for _ in range(repeat))
    return best * 1e6 / len(history.events)


def _timed(fn: Any, history: WorkflowHistory) -> float:
    start = time.perf_counter()
    fn(history)
    return time.perf_counter() - start


async def _main() -> None:
    plugin = agento.AgentoPlugin(engine=agento.EmbeddedEngine(BUNDLE))
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=server_binary("temporal"),
        dev_server_log_level="error",
        plugins=[plugin],
    ) as env:
        await agento.ensure_search_attributes(env.client)
        client, tag = env.client, uuid.uuid4().hex[:6]
        queues = [f"impact-{tag}-{q}" for q in range(QUEUES)]
        workers = [
            Worker(
                client,
                task_queue=queue,
                workflows=[GovernedOrders, ManyOrders],
                activities=agento.as_temporal_activities(place),
            )
            for queue in queues
        ]
        async with contextlib.AsyncExitStack() as stack:
            for worker in workers:
                await stack.enter_async_context(worker)
            for queue in queues:
                await _populate(client, queue)
            paused_queue = f"impact-{tag}-paused"
            await stack.enter_async_context(
                Worker(
                    client,
                    task_queue=paused_queue,
                    workflows=[GovernedOrders],
                    activities=agento.as_temporal_activities(place),
                )
            )
            for n in range(PAUSED - IMPACT_PAUSED):
                await client.start_workflow(
                    GovernedOrders.run,
                    args=[Order(project_id="bess-7", amount=5_000), 1],
                    id=f"paused-{tag}-{n}",
                    task_queue=paused_queue,
                )
            long_histories = []
            for calls in HISTORY_CALLS:
                handle = await client.start_workflow(
                    ManyOrders.run,
                    args=[Order(project_id="bess-7", amount=40), calls, 100],
                    id=f"long-{tag}-{calls}",
                    task_queue=queues[0],
                )
                await handle.result()
                long_histories.append(await handle.fetch_history())
            await _listed(client, f"{LISTING_QUERY} AND {PAUSED_RUNS}", PAUSED)
        # Every worker has stopped: the listing below asks visibility, not the runs.
        one = f'TaskQueue="{queues[0]}" AND WorkflowType="GovernedOrders"'
        every = " OR ".join(f'TaskQueue="{q}"' for q in queues)
        every = f'({every}) AND WorkflowType="GovernedOrders"'
        total = QUEUES * RUNS_PER_QUEUE
        await _listed(client, every, total)

        sequential = await _impact(client, every, 1)
        concurrent = await _impact(client, every, 16)
        print(
            f"impact over {concurrent[0]} runs (half paused in review): one history at a time "
            f"{sequential[0] / sequential[1]:.0f} runs/s, 16 at a time "
            f"{concurrent[0] / concurrent[1]:.0f} runs/s (goal >= 500)"
        )
        small, large = await _peak_memory(client, one), await _peak_memory(client, every)
        print(
            f"  peak traced memory: {RUNS_PER_QUEUE} runs {small:.1f} MiB, {total} runs "
            f"{large:.1f} MiB (ratio {large / small:.2f}; flat is 1)"
        )
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            reviews = await listed_reviews(client, PAUSED_RUNS)
            timings.append(time.perf_counter() - start)
        print(
            f"agento review list over {len(reviews)} paused runs, every worker stopped: "
            f"{statistics.median(timings):.2f} s (goal < 2 s; median of 3)"
        )

        for history in long_histories:
            events = len(history.events)
            whole = min(_timed(lambda h: render(audit_report(h)), history) for _ in range(3))
            audit_us = _per_event_us(lambda h: render(audit_report(h)), history)
            check_us = _per_event_us(lambda h: governance_violations(h, [place]), history)
            print(
                f"history of {events} events: agento audit {whole * 1e3:.0f} ms "
                f"({audit_us:.1f} us/event), governance_violations {check_us:.1f} us/event"
                + (" (goal: audit under 1 s at 10k events)" if events >= 10_000 else "")
            )


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
