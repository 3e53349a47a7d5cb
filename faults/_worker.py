"""A governed worker in its own process, so a scenario can SIGKILL it for real.

``python -m faults._worker ADDRESS ENGINE DEPLOYMENT`` imports and connects, prints ``warm``,
then waits for a task queue on standard input: a scenario keeps one warm so that starting a
worker costs no import time. ENGINE is ``embedded`` or an OPA URL; DEPLOYMENT (``v1``, ``v2``)
picks the Release workflow's version. It prints ``ready`` once it polls.
"""

from __future__ import annotations

import asyncio
import sys

from temporalio.client import Client
from temporalio.worker import Worker

import agento
from faults._governed import (
    ACTIVITIES,
    BUNDLE,
    DEPLOYMENTS,
    WORKFLOWS,
    VanishedPolicy,
    charge_vanished,
)

DECISION_ATTEMPTS = 3
"""An engine refusing three times in a row (about 3 s) opens an ``engine_unavailable`` review."""


async def main(address: str, engine_spec: str, deployment: str) -> None:
    release_workflow, release = DEPLOYMENTS[deployment]
    workflows, activities = [*WORKFLOWS, release_workflow], [*ACTIVITIES, release]
    engine: agento.PolicyEngine
    if engine_spec == "embedded":
        engine = agento.EmbeddedEngine(BUNDLE)
    else:
        engine = agento.OpaServerEngine(engine_spec)
        workflows.append(VanishedPolicy)
        activities.append(charge_vanished)
    plugin = agento.AgentoPlugin(engine=engine, decision_attempts=DECISION_ATTEMPTS)
    client = await Client.connect(address, plugins=[plugin])
    print("warm", flush=True)
    task_queue = (await asyncio.to_thread(sys.stdin.readline)).strip()
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=workflows,
        activities=agento.as_temporal_activities(*activities),
    )
    print("ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    agento.run(main(*sys.argv[1:4]))
