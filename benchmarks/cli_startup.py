"""The ``agento`` executable's start-up, against the floor a Temporal client needs.

A CI step that runs ``agento replay`` or ``agento audit`` once per run pays the interpreter's
start and the command's imports every time. Each figure is the median wall time of fresh
processes, run alternately with the floor so that drift in the machine hits both:

- ``python -c "import temporalio.client"``: the floor any command that talks to Temporal pays;
- ``agento --help``: parsing arguments alone imports none of what the commands run on
  (goal under 0.3 s);
- ``agento audit --history FILE``: a real command, on the exported history of a governed run.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import agento
from agento.testing import server_binary
from benchmarks._execution_workflows import BUNDLE, GovernedOrders, Order, place
from benchmarks._timing import paired_medians

REPEAT = 7
HELP_GOAL = 0.3
"""Seconds: `agento --help`, whatever the machine's floor."""


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        history = Path(directory) / "history.json"
        history.write_text(asyncio.run(_governed_history()))
        floor_command = [sys.executable, "-c", "import temporalio.client"]
        agento_command = [str(Path(sys.executable).parent / "agento")]
        floor, help_ = paired_medians(
            _run(floor_command), _run([*agento_command, "--help"]), repeat=REPEAT
        )
        _, audit = paired_medians(
            _run(floor_command),
            _run([*agento_command, "audit", "--history", str(history)]),
            repeat=REPEAT,
        )
    print(
        f"agento start-up: `import temporalio.client` {floor:.2f} s (the floor), "
        f"`agento --help` {help_:.2f} s (goal < {HELP_GOAL} s), "
        f"`agento audit --history FILE` {audit:.2f} s ({audit / floor:.2f}x the floor)"
    )


def _run(command: Sequence[str]) -> Callable[[], None]:
    """A call that runs ``command`` in a fresh process and checks it succeeded."""

    def run() -> None:
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    return run


async def _governed_history() -> str:
    """The exported history of one governed run with one allowed call."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server_binary("temporal-test-server"),
        plugins=[agento.AgentoPlugin(engine=agento.EmbeddedEngine(BUNDLE))],
    )
    async with env:
        task_queue = f"startup-{uuid.uuid4()}"
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[GovernedOrders],
            activities=agento.as_temporal_activities(place),
        ):
            handle = await env.client.start_workflow(
                GovernedOrders.run,
                args=[Order(project_id="bess-7", amount=40), 1],
                id=f"startup-{uuid.uuid4()}",
                task_queue=task_queue,
            )
            await handle.result()
        return (await handle.fetch_history()).to_json()


if __name__ == "__main__":
    main()
