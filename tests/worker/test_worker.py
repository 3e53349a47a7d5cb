"""A real Temporal worker (time-skipping server) with agento's plugin on its client."""

from __future__ import annotations

import uuid
import warnings
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from agento import AgentoPlugin, EmbeddedEngine, MisdeclaredActivityError, as_temporal_activities
from tests.support.activities import WELL_DECLARED, check_specs, count_specs
from tests.support.engines import POLICY_BUNDLE
from tests.support.factory import build
from tests.support.workflows import CountSpecsWorkflow, PlainCountSpecsWorkflow


@activity.defn
async def plain_activity(project_id: str) -> None: ...


def test_worker_refuses_to_start_with_a_misdeclared_activity(
    agento_time_skipping_env: WorkflowEnvironment,
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
            agento_time_skipping_env.client,
            task_queue=f"refused-{uuid.uuid4()}",
            workflows=[CountSpecsWorkflow],
            activities=as_temporal_activities(*WELL_DECLARED, misdeclared),
        )
    assert [(v.activity, v.rule.id) for v in raised.value.violations] == [
        ("route", "agento-dynamic-declaration"),
        ("route", "agento-dynamic-declaration"),
    ]


def test_plain_activities_need_the_explicit_opt_out(
    agento_time_skipping_env: WorkflowEnvironment,
) -> None:
    activities = [plain_activity, check_specs.declaration.fn]
    with pytest.raises(MisdeclaredActivityError) as raised:
        Worker(
            agento_time_skipping_env.client, task_queue=f"q-{uuid.uuid4()}", activities=activities
        )
    assert [(v.activity, v.rule.id) for v in raised.value.violations] == [
        ("plain_activity", "agento-ungoverned"),
        ("check_specs", "agento-ungoverned"),
    ]
    opted_out = Client(
        agento_time_skipping_env.client.service_client,
        plugins=[AgentoPlugin(ungoverned=[plain_activity])],
    )
    Worker(opted_out, task_queue=f"q-{uuid.uuid4()}", activities=[plain_activity])


def deciding(env: WorkflowEnvironment, **options: Any) -> Client:
    """A client whose workers can decide (the session's client only starts workflows)."""
    engine = EmbeddedEngine(POLICY_BUNDLE)
    return Client(env.client.service_client, plugins=[AgentoPlugin(engine=engine, **options)])


async def test_worker_runs_a_well_declared_activity(
    agento_time_skipping_env: WorkflowEnvironment,
) -> None:
    client = deciding(agento_time_skipping_env)
    task_queue = f"governed-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[CountSpecsWorkflow],
        activities=as_temporal_activities(count_specs),
    ):
        result = await client.execute_workflow(
            CountSpecsWorkflow.run, "bess-7", id=f"wf-{uuid.uuid4()}", task_queue=task_queue
        )
    assert result == 3


async def test_client_plugin_registers_its_activities_on_every_worker(
    agento_time_skipping_env: WorkflowEnvironment,
) -> None:
    client = deciding(agento_time_skipping_env, activities=[count_specs])
    task_queue = f"registered-{uuid.uuid4()}"
    async with Worker(client, task_queue=task_queue, workflows=[CountSpecsWorkflow]):
        result = await client.execute_workflow(
            CountSpecsWorkflow.run, "bess-9", id=f"wf-{uuid.uuid4()}", task_queue=task_queue
        )
    assert result == 3


async def test_a_plain_temporal_worker_runs_a_governed_activity(
    agento_time_skipping_env: WorkflowEnvironment,
) -> None:
    client = Client(
        agento_time_skipping_env.client.service_client, data_converter=pydantic_data_converter
    )
    task_queue = f"plain-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[PlainCountSpecsWorkflow],
        activities=as_temporal_activities(check_specs, count_specs),
    ):
        result = await client.execute_workflow(
            PlainCountSpecsWorkflow.run, "bess-8", id=f"wf-{uuid.uuid4()}", task_queue=task_queue
        )
    assert result == 3


def test_a_worker_that_runs_workflows_needs_an_engine(
    agento_time_skipping_env: WorkflowEnvironment,
) -> None:
    # The session's client has AgentoPlugin() without an engine: fine for starting workflows.
    with pytest.raises(ValueError, match="no policy engine") as raised:
        Worker(
            agento_time_skipping_env.client,
            task_queue=f"q-{uuid.uuid4()}",
            workflows=[CountSpecsWorkflow],
            activities=as_temporal_activities(count_specs),
        )
    assert "AgentoPlugin(engine=" in str(raised.value), "the message names the fix"
    # Without workflows there is nothing to decide: an activity-only worker is built.
    Worker(
        agento_time_skipping_env.client,
        task_queue=f"q-{uuid.uuid4()}",
        activities=as_temporal_activities(count_specs),
    )


async def test_a_worker_without_a_cache_is_warned_about_local_decisions(
    agento_time_skipping_env: WorkflowEnvironment,
) -> None:
    def build_worker(plugin: AgentoPlugin, **options: Any) -> Worker:
        client = Client(agento_time_skipping_env.client.service_client, plugins=[plugin])
        return Worker(
            client,
            task_queue=f"q-{uuid.uuid4()}",
            workflows=[CountSpecsWorkflow],
            activities=as_temporal_activities(count_specs),
            **options,
        )

    engine = EmbeddedEngine(POLICY_BUNDLE)
    with pytest.warns(RuntimeWarning, match="max_cached_workflows=0") as warned:
        build_worker(AgentoPlugin(engine=engine), max_cached_workflows=0)
    assert "decide_locally=False" in str(warned[0].message), "the message names the fix"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_worker(AgentoPlugin(engine=engine))
        build_worker(AgentoPlugin(engine=engine, decide_locally=False), max_cached_workflows=0)
