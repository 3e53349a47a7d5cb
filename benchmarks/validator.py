"""Registration-time validation of 1,000 governed activities, against raw Temporal.

Reports the validator alone (goal: under 50 ms), and building a ``temporalio.worker.Worker``
over the same activities with ``AgentoPlugin`` and without it, as a ratio.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any, cast

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import agento
from agento import (
    AnyActivity,
    Idempotency,
    IdempotencyKey,
    PolicyClass,
    PolicyInput,
)
from agento.testing import server_binary
from benchmarks._timing import median_seconds, paired_medians

COUNT = 1_000


class Request(PolicyInput):
    project_id: str


_SHAPES: list[tuple[dict[str, object], str]] = [
    ({"idempotency": Idempotency.IDEMPOTENT, "policy_class": PolicyClass.READ_ONLY}, "p: str"),
    (
        {
            "idempotency": Idempotency.NON_IDEMPOTENT,
            "policy_class": PolicyClass.SIDE_EFFECT,
            "policy": "agento/bench/route",
        },
        "key: IdempotencyKey, request: Request",
    ),
    (
        {
            "idempotency": Idempotency.KEYED,
            "policy_class": PolicyClass.SIDE_EFFECT,
            "policy": "agento/bench/upsert",
        },
        "key: IdempotencyKey, request: Request",
    ),
]


def governed_activities(count: int) -> list[AnyActivity]:
    declare = cast(Callable[..., Callable[[Callable[..., Any]], Any]], agento.activity)
    made = []
    for i in range(count):
        declaration, signature = _SHAPES[i % len(_SHAPES)]
        namespace: dict[str, object] = {"IdempotencyKey": IdempotencyKey, "Request": Request}
        exec(f"async def act_{i}({signature}) -> None: ...", namespace)
        made.append(declare(**declaration, version="1.0.0")(cast(Any, namespace[f"act_{i}"])))
    return made


def main() -> None:
    asyncio.run(_main())


async def _main() -> None:
    activities = governed_activities(COUNT)
    validate = median_seconds(lambda: agento.validate_activities(activities), repeat=20)
    print(f"validator: {COUNT} activities in {validate * 1e3:.1f} ms (goal < 50 ms)")

    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server_binary("temporal-test-server")
    ) as env:
        _compare_worker_construction(env.client, activities)


def _compare_worker_construction(client: Client, activities: list[AnyActivity]) -> None:
    # Each worker needs its own task queue: Temporal refuses two on one queue.
    queues = (f"bench-{i}" for i in itertools.count())
    # Raw: the same functions, which @agento.activity registered as plain Temporal activities.
    functions = [a.declaration.fn for a in activities]
    governed_client = Client(client.service_client, plugins=[agento.AgentoPlugin()])
    registrable = agento.as_temporal_activities(*activities)
    raw, governed = paired_medians(
        lambda: Worker(client, task_queue=next(queues), activities=functions),
        lambda: Worker(governed_client, task_queue=next(queues), activities=registrable),
        repeat=15,
    )
    print(
        f"Worker construction over {COUNT} activities: raw {raw * 1e3:.1f} ms, "
        f"with AgentoPlugin {governed * 1e3:.1f} ms, ratio {governed / raw:.2f}"
    )


if __name__ == "__main__":
    main()
