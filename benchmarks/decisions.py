"""Per-decision latency of the embedded engine on the seed's routing policy.

Also measures how long decisions, which run inline, hold up the worker's event loop, and how long
one takes beside a busy Python thread (a worker's sync activities, its SDK threads): a native
library whose every call releases the GIL waits for it again at each call.

Compares agento's path (bundle compiled once, each decision evaluated from the compiled form)
with the naive one (an ad-hoc ``query`` per decision, which recompiles), in one run.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from pathlib import Path

from pydantic import JsonValue

from agento import EmbeddedEngine
from agento._policy.native import Interpreter, LogLevel  # regopy as agento loads it

BUNDLE = Path(__file__).parents[1] / "examples" / "commissioning" / "policy"
ROUTING = "agento/commissioning/routing"
DOCUMENT: dict[str, JsonValue] = {
    "procore": {"punch_items_open_bess": ["PI-104"]},
    "test_results": [
        {"parameter": "frequency_hz", "value": 50.02},
        {"parameter": "overvoltage_trip_v", "value": 252.0},
    ],
    "protection_settings_schedule": {
        "frequency_hz": {"expected": 50.0, "tolerance": 0.05},
        "overvoltage_trip_v": {"expected": 253.0, "tolerance": 2.0},
    },
    "agento": {"activity": "generate_and_route_report", "activity_version": "1.4.0"},
}


def _percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100)
    return statistics.median(samples), cuts[98]


def _time(fn: object, count: int) -> list[float]:
    assert callable(fn)
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    engine = EmbeddedEngine(BUNDLE)
    compiled = _time(lambda: engine.evaluate(ROUTING, DOCUMENT), 5_000)
    # What each Decision records as evaluation_ms: handing the input over, and the query.
    recorded = [engine.evaluate(ROUTING, DOCUMENT).evaluation_ms for _ in range(5_000)]

    naive = Interpreter()
    naive.log_level = LogLevel.NONE
    for name, source in engine.bundle.modules.items():
        naive.add_module(name, source)

    def recompile() -> None:
        naive.set_input(DOCUMENT)
        str(naive.query("data." + ROUTING.replace("/", ".")))

    requeried = _time(recompile, 500)
    for label, samples in (
        ("whole Decision, compiled bundle (agento)", compiled),
        ("input hand-over and query only", recorded),
        ("query per decision (recompiles)", requeried),
    ):
        p50, p99 = _percentiles(samples)
        print(f"embedded engine, {label}: p50 {p50:.3f} ms, p99 {p99:.3f} ms")
    print(
        "ratio of p50s (query per decision / compiled): "
        f"{statistics.median(requeried) / statistics.median(compiled):.1f}x"
    )
    beside_busy = _beside_busy_thread(lambda: engine.evaluate(ROUTING, DOCUMENT), 300)
    alone, busy = statistics.median(compiled), statistics.median(beside_busy)
    print(
        f"embedded engine, whole Decision beside one busy Python thread: p50 {busy:.3f} ms, "
        f"{busy / alone:.1f}x alone (goal: <= 2x)"
    )
    lags = asyncio.run(_loop_lag(engine, CONCURRENT))
    p50, p99 = _percentiles(lags)
    print(
        f"event-loop lag while {CONCURRENT} decisions are asked at once: p50 {p50:.3f} ms, "
        f"p99 {p99:.3f} ms, max {max(lags):.3f} ms (a decision runs inline: goal, no more "
        "than one decision's time)"
    )


CONCURRENT = 200


def _beside_busy_thread(fn: object, count: int) -> list[float]:
    """`_time` while another thread runs Python without pause."""
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(1000))

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        return _time(fn, count)
    finally:
        stop.set()
        thread.join()


async def _loop_lag(engine: EmbeddedEngine, concurrent: int) -> list[float]:
    """How late a 1 ms timer fires while ``concurrent`` decisions run on the same loop."""
    lags: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append((time.perf_counter() - start) * 1000 - 1)

    async def ask() -> None:
        await asyncio.sleep(0)
        await engine.decide(ROUTING, DOCUMENT)

    watcher = asyncio.create_task(probe())
    for _ in range(10):
        await asyncio.gather(*(ask() for _ in range(concurrent)))
    done.set()
    await watcher
    return lags


if __name__ == "__main__":
    main()
