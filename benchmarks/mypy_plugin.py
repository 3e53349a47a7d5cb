"""mypy's CPU time over a synthetic project, with agento's plugin and without it.

The project: 1,000 governed activities in 40 modules, and 40 workflow modules that call every
activity through ``agento.execute_activity``. Both configurations check the same files, cold
(``--no-incremental``) and as a recheck after one workflow module changes, alternated; medians of
the mypy process's CPU time (user + sys), which a busy shared machine disturbs far less than wall
time. The plugin's own share comes from a profile of one cold check.
"""

from __future__ import annotations

import contextlib
import cProfile
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

MODULES = 40
ACTIVITIES = 1_000
RUNS = 7

_HEADER = """\
import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput


class Request(PolicyInput):
    project_id: str
"""

_SHAPES = [
    'idempotency=Idempotency.IDEMPOTENT, policy_class=PolicyClass.READ_ONLY, version="1.0.0"',
    "idempotency=Idempotency.NON_IDEMPOTENT, policy_class=PolicyClass.SIDE_EFFECT, "
    'policy="agento/bench/route", version="1.0.0"',
    "idempotency=Idempotency.KEYED, policy_class=PolicyClass.SIDE_EFFECT, "
    'policy="agento/bench/upsert", version="1.0.0"',
]
_SIGNATURES = ["p: str", "key: IdempotencyKey, request: Request", "key: IdempotencyKey, r: Request"]
_ARGUMENTS = [
    '"bess-7"',
    'activities_{m}.Request(project_id="p")',
    'activities_{m}.Request(project_id="p")',
]


def write_project(root: Path) -> list[Path]:
    per_module = ACTIVITIES // MODULES
    files = []
    for m in range(MODULES):
        lines = [_HEADER]
        for i in range(per_module):
            shape = (m * per_module + i) % len(_SHAPES)
            lines.append(
                f"\n@agento.activity({_SHAPES[shape]})\n"
                f"async def act_{i}({_SIGNATURES[shape]}) -> int:\n    return {i}\n"
            )
        files.append(root / f"activities_{m}.py")
        files[-1].write_text("".join(lines))
        calls = "\n".join(
            f"    total += await agento.execute_activity(activities_{m}.act_{i}, "
            f"{_ARGUMENTS[(m * per_module + i) % len(_SHAPES)].format(m=m)}, "
            "start_to_close_timeout=MINUTE)"
            for i in range(per_module)
        )
        workflow = root / f"workflow_{m}.py"
        workflow.write_text(
            f"from datetime import timedelta\n\nimport agento\n\nimport activities_{m}\n\n"
            f"MINUTE = timedelta(minutes=1)\n\n\nasync def run() -> int:\n"
            f"    total = 0\n{calls}\n    return total\n"
        )
        files.append(workflow)
    return files


def _mypy(root: Path, config: str, *args: str) -> float:
    """CPU seconds (user + sys) of one mypy process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", config, *args, "."],
        cwd=root,
        check=True,
        capture_output=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _plugin_share(root: Path) -> float:
    """The share of a cold check's CPU spent in agento's own code (the plugin and the rules)."""
    from mypy import api

    profile = cProfile.Profile()
    with contextlib.chdir(root):
        profile.runcall(api.run, ["--config-file", "with.ini", "--no-incremental", "."])
    stats = pstats.Stats(profile)
    entries: dict[tuple[str, int, str], tuple[Any, Any, float, Any, Any]]
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(tottime for _, _, tottime, _, _ in entries.values())
    agento_dir = os.sep + "agento" + os.sep
    own = sum(
        tottime
        for (filename, _, _), (_, _, tottime, _, _) in entries.items()
        if agento_dir in filename
    )
    return own / total


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_project(root)
        configs = {
            "without": "[mypy]\nstrict = True\n",
            "with": "[mypy]\nstrict = True\nplugins = agento.mypy\n",
        }
        for name, text in configs.items():
            (root / f"{name}.ini").write_text(text)
        cold: dict[str, list[float]] = {name: [] for name in configs}
        recheck: dict[str, list[float]] = {name: [] for name in configs}
        for run in range(RUNS):
            for name in configs:
                cache = f"--cache-dir=.cache-{name}"
                cold[name].append(_mypy(root, f"{name}.ini", "--no-incremental"))
                _mypy(root, f"{name}.ini", cache)
                (root / "workflow_0.py").write_text(
                    (root / "workflow_0.py").read_text() + f"\n# edit {run}\n"
                )
                recheck[name].append(_mypy(root, f"{name}.ini", cache))
        share = _plugin_share(root)
    for label, samples in (("cold check", cold), ("recheck after one edit", recheck)):
        without = statistics.median(samples["without"])
        with_plugin = statistics.median(samples["with"])
        print(
            f"mypy {label}, {ACTIVITIES} activities in {MODULES} modules, CPU median of {RUNS}: "
            f"without plugin {without:.2f} s, with {with_plugin:.2f} s, "
            f"ratio {with_plugin / without:.2f} (goal <= 1.10)"
        )
    print(f"  the plugin's own share of a cold check (profiled): {share:.1%}")


if __name__ == "__main__":
    main()
