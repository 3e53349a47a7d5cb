"""Governed runs on a test server: a worker for every test workflow and governed activity, a run
started beside its worker, and the typed error a run failed with."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

import agento
from agento import PolicyInput
from tests.support.governed_activities import GOVERNED
from tests.support.governed_workflows import WORKFLOWS


def governed_worker(client: Client, task_queue: str, **options: Any) -> Worker:
    """A worker running every test workflow and governed activity (async ones)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=agento.as_temporal_activities(*GOVERNED),
        **options,
    )


async def start(
    client: Client, workflow: Any, request: PolicyInput
) -> tuple[WorkflowHandle[Any, Any], Worker]:
    """``workflow`` started on a queue of its own, and the (not yet running) worker for it."""
    task_queue = f"q-{uuid.uuid4()}"
    worker = governed_worker(client, task_queue)
    handle = await client.start_workflow(
        workflow, request, id=f"wf-{uuid.uuid4()}", task_queue=task_queue
    )
    return handle, worker


async def failure_of(handle: WorkflowHandle[Any, Any]) -> ApplicationError:
    """The typed error a workflow failed with."""
    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    assert isinstance(raised.value.cause, ApplicationError), raised.value.cause
    return raised.value.cause
