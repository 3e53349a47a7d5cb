"""Small timing helpers shared by the benchmarks."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def median_seconds(fn: Callable[[], object], *, repeat: int) -> float:
    """Median wall time of ``repeat`` calls of ``fn`` (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def paired_medians(
    baseline: Callable[[], object], candidate: Callable[[], object], *, repeat: int
) -> tuple[float, float]:
    """Median wall times of two calls, alternated so that drift in the machine hits both."""
    baseline()
    candidate()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((baseline, samples[0]), (candidate, samples[1])):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return statistics.median(samples[0]), statistics.median(samples[1])


def children_cpu_seconds() -> float:
    """CPU time (user + system) of this process's running children, such as the Temporal dev
    server it started, which shares the machine's cores with the worker: ``time.process_time``
    counts this process alone. Reads ``/proc``, so Linux only."""
    ticks = 0
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except FileNotFoundError:  # exited since
                continue
            fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")
