"""A real Temporal worker (time-skipping server) with agento's plugin."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from agento import AgentoPlugin, MisdeclaredActivityError
from tests.support.activities import WELL_DECLARED, check_specs
from tests.support.factory import build
from tests.support.workflows import CheckSpecsWorkflow


def test_worker_refuses_to_start_with_a_misdeclared_activity(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    misdeclared = build(
        "async def route(request: Request) -> None: ...",
        idempotency="non_idempotent",
        policy_class="side_effect",
        policy="agento/commissioning/routing",
        version="1.0.0",
    )
    with pytest.raises(MisdeclaredActivityError) as raised:
        Worker(
            time_skipping_env.client,
            task_queue=f"refused-{uuid.uuid4()}",
            workflows=[CheckSpecsWorkflow],
            activities=[*WELL_DECLARED, misdeclared],
        )
    assert [v.rule.id for v in raised.value.violations] == [
        "agento-dynamic-declaration",
        "agento-dynamic-declaration",
    ]


async def test_worker_runs_a_well_declared_activity(time_skipping_env: WorkflowEnvironment) -> None:
    task_queue = f"governed-{uuid.uuid4()}"
    async with Worker(
        time_skipping_env.client,
        task_queue=task_queue,
        workflows=[CheckSpecsWorkflow],
        activities=WELL_DECLARED,
    ):
        result = await time_skipping_env.client.execute_workflow(
            CheckSpecsWorkflow.run, "bess-7", id=f"wf-{uuid.uuid4()}", task_queue=task_queue
        )
    assert result == ["frequency"]


async def test_plugin_on_the_worker_alone_also_validates(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    plain_client = Client(time_skipping_env.client.service_client)
    bad = build(
        "async def fetch(key: IdempotencyKey) -> None: ...",
        idempotency="idempotent",
        policy_class="read_only",
        version="1.0.0",
    )
    with pytest.raises(MisdeclaredActivityError, match="agento-dynamic-declaration"):
        Worker(plain_client, task_queue="x", activities=[bad], plugins=[AgentoPlugin()])


async def test_a_plain_temporal_worker_runs_a_governed_activity(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    client = Client(time_skipping_env.client.service_client, data_converter=pydantic_data_converter)
    task_queue = f"plain-{uuid.uuid4()}"
    async with Worker(
        client, task_queue=task_queue, workflows=[CheckSpecsWorkflow], activities=[check_specs]
    ):
        result = await client.execute_workflow(
            CheckSpecsWorkflow.run, "bess-8", id=f"wf-{uuid.uuid4()}", task_queue=task_queue
        )
    assert result == ["frequency"]
