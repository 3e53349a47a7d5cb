"""Governed calls against raw Temporal activity calls, on Temporal's dev server, in one run.

- latency: one workflow making one call, governed (decision as a local activity, then the
  activity) and raw, alternated, medians;
- throughput: 200 concurrent workflows x 3 calls each, governed, raw, and the floor of a governed
  call (a raw local activity recorded before each raw activity call), two rounds in opposite
  orders, with the CPU time per call of this process (worker and client) and of the dev server,
  which share the machine's cores; governed calls are also run on an engine that evaluates
  nothing, which splits agento's cost over the floor into the policy evaluation and the rest;
- history: events and bytes a governed call adds over a raw one.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import JsonValue
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import agento
from agento._decision.record import Decision, make_decision, now
from agento.testing import server_binary
from benchmarks._execution_workflows import (
    BUNDLE,
    FloorOrders,
    GovernedOrders,
    Order,
    RawOrders,
    decide_raw,
    place,
    place_raw,
)
from benchmarks._timing import children_cpu_seconds

LATENCY_RUNS = 40
ROUNDS = 2
WORKFLOWS = 200
CALLS = 3
ORDER = Order(project_id="bess-7", amount=40)


class StandInEngine:
    """Allows everything without evaluating a policy, and still returns the Decision agento
    records (input, its digest, a decision id): agento's work around the engine, alone."""

    name = "stand-in"

    def policies(self) -> frozenset[str]:
        return frozenset({"bench/orders"})

    async def decide(self, policy: str, document: Mapping[str, JsonValue]) -> Decision:
        return make_decision(
            policy=policy,
            document=dict(document),
            result={"allow": True},
            error=None,
            bundle_revision="stand-in",
            engine=self.name,
            engine_version="0",
            evaluated_at=now(),
            evaluation_ms=0.0,
        )


async def _run(client: Client, workflow: Any, calls: int, task_queue: str) -> float:
    start = time.perf_counter()
    await client.execute_workflow(
        workflow, args=[ORDER, calls], id=f"bench-{uuid.uuid4()}", task_queue=task_queue
    )
    return time.perf_counter() - start


@dataclass(frozen=True)
class Round:
    calls_per_second: float
    worker_cpu_ms: float
    """CPU of this process (the worker and the client) per call."""
    server_cpu_ms: float
    """CPU of the dev server per call: it shares the cores, so its work costs throughput too."""


async def _throughput(client: Client, workflow: Any, task_queue: str) -> Round:
    start, cpu, server = time.perf_counter(), time.process_time(), children_cpu_seconds()
    await asyncio.gather(*(_run(client, workflow, CALLS, task_queue) for _ in range(WORKFLOWS)))
    calls = WORKFLOWS * CALLS
    return Round(
        calls / (time.perf_counter() - start),
        (time.process_time() - cpu) * 1e3 / calls,
        (children_cpu_seconds() - server) * 1e3 / calls,
    )


async def _history_cost(client: Client, workflow: Any, task_queue: str) -> tuple[int, int]:
    handle = await client.start_workflow(
        workflow, args=[ORDER, 1], id=f"bench-{uuid.uuid4()}", task_queue=task_queue
    )
    await handle.result()
    history = await handle.fetch_history()
    return len(history.events), sum(e.ByteSize() for e in history.events)


async def _main() -> None:
    ungoverned: list[Callable[..., object]] = [place_raw, decide_raw]
    plugin = agento.AgentoPlugin(engine=agento.EmbeddedEngine(BUNDLE), ungoverned=ungoverned)
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=server_binary("temporal"),
        dev_server_log_level="error",
        plugins=[plugin],
    ) as env:
        await agento.ensure_search_attributes(env.client)
        client, task_queue = env.client, "bench"
        stand_in = await Client.connect(
            client.service_client.config.target_host,
            plugins=[agento.AgentoPlugin(engine=StandInEngine(), ungoverned=ungoverned)],
        )
        activities: list[Callable[..., object]] = [
            *agento.as_temporal_activities(place),
            *ungoverned,
        ]
        async with (
            Worker(
                client,
                task_queue=task_queue,
                workflows=[GovernedOrders, RawOrders, FloorOrders],
                activities=activities,
            ),
            Worker(
                stand_in,
                task_queue="bench-stand-in",
                workflows=[GovernedOrders],
                activities=activities,
            ),
        ):
            queues = {"raw": task_queue, "floor": task_queue, "governed": task_queue}
            queues["no evaluation"] = "bench-stand-in"
            for workflow in (RawOrders.run, FloorOrders.run, GovernedOrders.run):  # warm up
                await _run(client, workflow, 1, task_queue)
            await _run(client, GovernedOrders.run, 1, queues["no evaluation"])
            raw: list[float] = []
            governed: list[float] = []
            for _ in range(LATENCY_RUNS):
                raw.append(await _run(client, RawOrders.run, 1, task_queue))
                governed.append(await _run(client, GovernedOrders.run, 1, task_queue))
            raw_ms, governed_ms = statistics.median(raw) * 1e3, statistics.median(governed) * 1e3
            print(
                f"one-call workflow, median of {LATENCY_RUNS}: raw {raw_ms:.1f} ms, "
                f"governed {governed_ms:.1f} ms, ratio {governed_ms / raw_ms:.2f} (goal <= 1.10)"
            )

            workflows: dict[str, Any] = {
                "raw": RawOrders.run,
                "floor": FloorOrders.run,
                "governed": GovernedOrders.run,
                "no evaluation": GovernedOrders.run,
            }
            rounds: dict[str, list[Round]] = {name: [] for name in workflows}
            for i in range(ROUNDS):
                # Every other round in reverse order: the server slows as its store fills, and
                # no kind of workflow should always run last.
                for name in list(workflows)[:: -1 if i % 2 else 1]:
                    rounds[name].append(await _throughput(client, workflows[name], queues[name]))

            def median(figure: Callable[[Round], float]) -> dict[str, float]:
                return {name: statistics.median(map(figure, runs)) for name, runs in rounds.items()}

            rate = median(lambda r: r.calls_per_second)
            cpu = median(lambda r: r.worker_cpu_ms)
            server = median(lambda r: r.server_cpu_ms)
            print(
                f"throughput, {WORKFLOWS} workflows x {CALLS} calls, median of {ROUNDS} rounds: "
                + ", ".join(f"{name} {rate[name]:.0f} calls/s" for name in rate)
            )
            print(
                f"  governed / raw {rate['governed'] / rate['raw']:.2f}, "
                f"floor / raw {rate['floor'] / rate['raw']:.2f}, "
                f"governed / floor {rate['governed'] / rate['floor']:.2f} (goal >= 0.95); "
                f"governed on an engine that evaluates nothing / floor "
                f"{rate['no evaluation'] / rate['floor']:.2f}"
            )
            for figure, side in ((cpu, "the worker process"), (server, "the dev server")):
                print(
                    f"  CPU of {side} per call: "
                    + ", ".join(f"{name} {figure[name]:.2f} ms" for name in figure)
                    + f"; over the floor: governed {figure['governed'] - figure['floor']:.2f} ms, "
                    f"no evaluation {figure['no evaluation'] - figure['floor']:.2f} ms"
                )

            raw_events, raw_bytes = await _history_cost(client, RawOrders.run, task_queue)
            gov_events, gov_bytes = await _history_cost(client, GovernedOrders.run, task_queue)
            print(
                f"history of a one-call workflow: raw {raw_events} events / {raw_bytes} bytes, "
                f"governed {gov_events} events / {gov_bytes} bytes "
                f"(+{gov_events - raw_events} events, +{gov_bytes - raw_bytes} bytes)"
            )


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
