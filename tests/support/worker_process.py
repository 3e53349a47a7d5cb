"""A governed worker in its own process, for tests that kill it: ``python -m
tests.support.worker_process ADDRESS TASK_QUEUE``."""

from __future__ import annotations

import asyncio
import sys

from temporalio.client import Client
from temporalio.worker import Worker

import agento
from tests.support.engines import POLICY_BUNDLE
from tests.support.ledger import LEDGER_ACTIVITIES, LEDGER_WORKFLOWS


async def main(address: str, task_queue: str) -> None:
    engine = agento.EmbeddedEngine(POLICY_BUNDLE)
    client = await Client.connect(address, plugins=[agento.AgentoPlugin(engine=engine)])
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=LEDGER_WORKFLOWS,
        activities=agento.as_temporal_activities(*LEDGER_ACTIVITIES),
    )
    print("ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
