"""A worker process SIGKILLed in the middle of a side effect (dev server, real HTTP ledger)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from agento import PendingReview, ResolveReview, ReviewOutcome, ReviewReason
from agento.testing import governance_violations
from tests.support.ledger import (
    LEDGER_ACTIVITIES,
    Booking,
    BookKeyedWorkflow,
    BookOnceWorkflow,
    Ledger,
    running_ledger,
)

ROOT = Path(__file__).parents[2]


@pytest.fixture
def ledger() -> Iterator[tuple[Ledger, str]]:
    with running_ledger() as running:
        yield running


def start_worker(env: WorkflowEnvironment, task_queue: str) -> subprocess.Popen[str]:
    address = env.client.service_client.config.target_host
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.support.worker_process", address, task_queue],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == "ready"
    return worker


async def wait_for(path: Path) -> None:
    for _ in range(300):
        if path.exists():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def kill(worker: subprocess.Popen[str]) -> None:
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)


async def run_until_killed(
    env: WorkflowEnvironment, workflow: Any, ledger_url: str, tmp_path: Path
) -> tuple[WorkflowHandle[Any, Any], str]:
    task_queue = f"crash-{uuid.uuid4()}"
    started = tmp_path / "acted"
    first = start_worker(env, task_queue)
    try:
        handle = await env.client.start_workflow(
            workflow,
            Booking(ledger_url=ledger_url, amount=25, started_file=str(started)),
            id=f"crash-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        await wait_for(started)
    finally:
        kill(first)
    return handle, task_queue


async def test_killed_non_idempotent_activity_ends_in_reconciliation_review(
    agento_dev_server: WorkflowEnvironment, ledger: tuple[Ledger, str], tmp_path: Path
) -> None:
    book, url = ledger
    handle, task_queue = await run_until_killed(
        agento_dev_server, BookOnceWorkflow.run, url, tmp_path
    )
    second = start_worker(agento_dev_server, task_queue)
    try:
        review = await pending(handle)
        assert review.reason is ReviewReason.OUTCOME_UNKNOWN
        await asyncio.sleep(1)
        assert len(book.requests) == 1, "the body ran once: no silent re-run after the crash"
        await handle.execute_update(
            "agento.resolve_review",
            ResolveReview(
                review_id=review.review_id,
                approve=False,
                reviewer="ops",
                comment="ledger shows the entry: nothing to redo",
            ),
            result_type=ReviewOutcome,
        )
    finally:
        kill(second)
    assert len(book.entries) == 1
    history = await handle.fetch_history()
    assert governance_violations(history, LEDGER_ACTIVITIES) == []


async def test_killed_keyed_activity_reruns_with_the_same_key_and_books_once(
    agento_dev_server: WorkflowEnvironment, ledger: tuple[Ledger, str], tmp_path: Path
) -> None:
    book, url = ledger
    handle, task_queue = await run_until_killed(
        agento_dev_server, BookKeyedWorkflow.run, url, tmp_path
    )
    second = start_worker(agento_dev_server, task_queue)
    try:
        key = await asyncio.wait_for(handle.result(), timeout=60)
    finally:
        kill(second)
    assert book.requests == [key, key], "re-run after the crash, with the same key"
    assert book.entries == {key: 25}, "the ledger recorded exactly one effect"
    assert governance_violations(await handle.fetch_history(), LEDGER_ACTIVITIES) == []


async def pending(handle: WorkflowHandle[Any, Any]) -> PendingReview:
    for _ in range(600):
        reviews: list[PendingReview] = await handle.query(
            "agento.pending_reviews", result_type=list[PendingReview]
        )
        if reviews:
            return reviews[0]
        await asyncio.sleep(0.1)
    raise AssertionError("no review became pending")
