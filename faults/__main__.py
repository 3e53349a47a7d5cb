"""``python -m faults [--trials N] [--only SCENARIO ...]``: run the fault scenarios, print the
table of figures, exit 1 when an invariant broke."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import agento
from faults import _inputs, _kills, _outages, _reviews
from faults._harness import Harness, harness
from faults._ledger import running_ledger
from faults._report import Figure, broken, table

Scenario = Callable[[Harness, int], Awaitable[list[Figure]]]
SCENARIOS: dict[str, Scenario] = {
    "kill-non-idempotent": _kills.non_idempotent,
    "kill-keyed": _kills.keyed,
    "kill-decision": _kills.decision_step,
    "server-restart": _outages.server_restart,
    "engine-down": _outages.engine_down,
    "redeploy": _outages.redeploy,
    "review-race": _reviews.concurrent_resolutions,
    "bad-inputs": _inputs.bad_inputs,
}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__)
    parser.add_argument("--trials", type=int, default=50, help="trials per scenario (50)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=sorted(SCENARIOS),
        default=list(SCENARIOS),
        metavar="NAME",
        help=f"scenarios to run: {', '.join(SCENARIOS)}",
    )
    parser.add_argument("--parallel", type=int, default=4, help="trials at once (4)")
    return parser.parse_args()


async def main() -> None:
    args = arguments()
    figures: list[Figure] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="agento-faults-") as tmp, running_ledger() as ledger:
        async with harness(Path(tmp), ledger, args.parallel) as h:
            for name in args.only:
                began = time.perf_counter()
                found = await SCENARIOS[name](h, args.trials)
                print(f"{name}: {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
                figures += found
    print(table(figures))
    print(f"\n{len(args.only)} scenarios, {time.perf_counter() - started:.0f} s", flush=True)
    failed = broken(figures)
    if failed:
        print(f"{len(failed)} invariants broken", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    agento.run(main())
