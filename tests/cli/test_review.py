"""`agento review` as a reviewer's script runs it, on the dev server: every outcome has its exit
status and one line; listing needs no worker, resolving says when none took it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

import agento
from agento import EmbeddedEngine
from agento.testing import governed_client
from tests.support.engines import POLICY_BUNDLE, flaky
from tests.support.governed_activities import Transfer
from tests.support.governed_workflows import RouteWorkflow
from tests.support.reviews import pending_reviews
from tests.support.runs import governed_worker

ROOT = Path(__file__).parents[2]


async def cli(env: WorkflowEnvironment, *args: str) -> subprocess.CompletedProcess[str]:
    """The real executable, in a thread so that this process's worker keeps answering."""
    address = env.client.service_client.config.target_host
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "agento", *args, "--address", address],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


async def paused_run(client: Client, task_queue: str) -> tuple[WorkflowHandle[Any, Any], str]:
    handle = await client.start_workflow(
        RouteWorkflow.run,
        Transfer(project_id="bess-9", amount=150),
        id=f"cli-{uuid.uuid4()}",
        task_queue=task_queue,
    )
    [review] = await pending_reviews(handle)
    return handle, review.review_id


@pytest.fixture
def client(agento_dev_server: WorkflowEnvironment) -> Client:
    return governed_client(agento_dev_server, EmbeddedEngine(POLICY_BUNDLE))


async def test_refusals_are_one_line_and_exit_2(
    agento_dev_server: WorkflowEnvironment, client: Client
) -> None:
    task_queue = f"q-{uuid.uuid4()}"
    async with governed_worker(client, task_queue):
        handle, review_id = await paused_run(client, task_queue)
        events = len((await handle.fetch_history()).events)
        for review, reviewer, reason in [
            (review_id, "Alice", "Alice requested this run and may not review it"),
            ("nope", "bob", "review 'nope' is not pending in this workflow"),
        ]:
            run = await cli(
                agento_dev_server,
                "review",
                "approve",
                handle.id,
                review,
                "--reviewer",
                reviewer,
                "--comment",
                "ok",
            )
            assert run.returncode == 2
            assert run.stderr == f"agento: refused: {reason}\n"
        silent = await cli(
            agento_dev_server, "review", "approve", handle.id, review_id, "--reviewer", "bob"
        )
        assert silent.returncode == 2
        assert silent.stderr == (
            "agento: a comment is required: say why (it is recorded in the audit trail): "
            "--comment TEXT\n"
        ), "the service's rule"
        assert len((await handle.fetch_history()).events) == events, "refusals wrote nothing"
        retry = await cli(
            agento_dev_server, "review", "retry", handle.id, review_id, "--reviewer", "bob"
        )
        assert retry.returncode == 2
        assert "is policy_denied, not engine_unavailable" in retry.stderr
        shown = await cli(agento_dev_server, "review", "show", handle.id, review_id)
        assert shown.returncode == 0, shown.stderr
        fields = dict(line.split(None, 1) for line in shown.stdout.splitlines())
        assert fields["reason"] == "policy_denied"
        assert fields["because"] == "amount over the limit of 100"
        assert fields["requester"] == "alice"
        assert fields["time-left"].startswith("48.0 h, the run fails at "), "review_timeout 48 h"
        assert json.loads(fields["request"]) == {"amount": 150, "project_id": "bess-9"}
        approved = await cli(
            agento_dev_server,
            "review",
            "approve",
            handle.id,
            review_id,
            "--reviewer",
            "bob",
            "--comment",
            "checked",
        )
        assert approved.returncode == 0, approved.stderr
        assert json.loads(approved.stdout)["approved"] is True
        await handle.result()


async def listed(env: WorkflowEnvironment, query: str, count: int) -> list[dict[str, Any]]:
    """``agento review list --json`` once visibility (eventually consistent) shows ``count``."""
    for _ in range(100):
        run = await cli(env, "review", "list", "--json", "--query", query)
        assert run.returncode == 0, run.stderr
        reviews: list[dict[str, Any]] = json.loads(run.stdout)["reviews"]
        if len(reviews) == count:
            return reviews
        await asyncio.sleep(0.1)
    raise AssertionError(f"visibility never listed {count} reviews for {query}")


async def test_reviews_are_listed_with_every_worker_down(
    agento_dev_server: WorkflowEnvironment, client: Client
) -> None:
    task_queue = f"down-{uuid.uuid4()}"
    async with governed_worker(client, task_queue):
        handle, review_id = await paused_run(client, task_queue)
    # The worker is gone; visibility still lists what the run waits for.
    query = f'WorkflowId="{handle.id}"'
    [entry] = await listed(agento_dev_server, query, 1)
    assert (entry["workflow_id"], entry["review_id"]) == (handle.id, review_id)
    assert (entry["activity"], entry["reason"]) == ("route", "policy_denied")
    assert entry["reasons"] == ["amount over the limit of 100"], "a list, as everywhere"
    text = await cli(agento_dev_server, "review", "list", "--query", query)
    assert text.stdout.startswith(f"{handle.id} {review_id} route policy_denied since ")
    assert text.stdout.rstrip().endswith(": amount over the limit of 100")
    approve = await cli(
        agento_dev_server,
        "review",
        "approve",
        handle.id,
        review_id,
        "--reviewer",
        "bob",
        "--comment",
        "checked",
        "--wait",
        "2",
    )
    assert approve.returncode == 2
    assert approve.stderr.startswith("agento: no worker took the resolution within 2 s")
    assert f"(task queue '{task_queue}')" in approve.stderr
    assert "Traceback" not in approve.stderr
    shown = await cli(agento_dev_server, "review", "show", handle.id, review_id)
    assert shown.returncode == 0, shown.stderr
    fields = dict(line.split(None, 1) for line in shown.stdout.splitlines())
    assert (fields["activity"], fields["because"]) == ("route", "amount over the limit of 100")
    assert fields["notice"].startswith(
        f"no worker is answering on task queue '{task_queue}': shown from visibility"
    )
    # A worker again: it takes the approval the server kept, and the review leaves the list.
    async with governed_worker(client, task_queue):
        assert (await asyncio.wait_for(handle.result(), timeout=60)).startswith("routed")
    assert await listed(agento_dev_server, query, 0) == []


async def test_retry_asks_the_engine_again_after_an_outage(
    agento_dev_server: WorkflowEnvironment,
) -> None:
    engine = flaky(1)
    client = Client(
        agento_dev_server.client.service_client,
        plugins=[agento.AgentoPlugin(engine=engine, decision_attempts=1)],
    )
    task_queue = f"q-{uuid.uuid4()}"
    async with governed_worker(client, task_queue):
        handle = await client.start_workflow(
            RouteWorkflow.run,
            Transfer(project_id="p", amount=10),
            id=f"cli-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        [review] = await pending_reviews(handle)
        shown = await cli(agento_dev_server, "review", "show", handle.id, review.review_id)
        assert "`agento review retry` asks it again" in shown.stdout
        retry = await cli(
            agento_dev_server, "review", "retry", handle.id, review.review_id, "--reviewer", "ops"
        )
        assert retry.returncode == 0, retry.stderr
        assert json.loads(retry.stdout)["comment"] == "ask the policy engine again"
        assert (await handle.result()).startswith("routed p")
    assert engine.asked == 2
