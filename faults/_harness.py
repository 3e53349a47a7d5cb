"""What every scenario stands on: a Temporal dev server on a SQLite file (restartable), the
ledger, the OPA-compatible server, worker processes to kill, and the checks that end a run."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowHistory,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError

import agento
from agento import AnyActivity, PendingReview, ResolveReview, ReviewOutcome
from agento.testing import governance_violations, server_binary
from faults._governed import BUNDLE, VANISHED
from faults._ledger import Ledger
from faults._opa import OpaCompatibleServer

ROOT = Path(__file__).parents[1]
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class DevServer:
    """``temporal server start-dev`` on a SQLite file: stopped with SIGTERM, it starts again on
    the same file and port with everything it had."""

    def __init__(self, db: Path, log: Path) -> None:
        self.db, self.log = db, log
        self.port, self.http_port = free_port(), free_port()
        self._process: asyncio.subprocess.Process | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> Client:
        """Start the server; a client (with agento's converter, no engine) once it answers."""
        with self.log.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                server_binary("temporal"),
                *("server", "start-dev", "--headless", "--log-level", "error"),
                *("--db-filename", str(self.db), "--ip", "127.0.0.1"),
                *("--port", str(self.port), "--http-port", str(self.http_port)),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        for _ in range(600):
            with contextlib.suppress(RuntimeError):
                client = await Client.connect(self.address, plugins=[agento.AgentoPlugin()])
                await agento.ensure_search_attributes(client)
                return client
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the dev server did not start; see {self.log}")

    async def stop(self) -> None:
        if self._process is None or self._process.returncode is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self._process.wait(), timeout=30)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()


Engine = Literal["embedded", "opa"]


class WorkerProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no goodbye to the server."""
        if self._process.returncode is None:
            os.kill(self._process.pid, signal.SIGKILL)


class Workers:
    """Worker processes, one kept warm per kind so that starting one costs no import time."""

    def __init__(self, address: str, opa_url: str, log: Path) -> None:
        self.address, self.opa_url, self.log = address, opa_url, log
        self._warm: dict[tuple[Engine, str], asyncio.Task[asyncio.subprocess.Process]] = {}
        self._started: list[asyncio.subprocess.Process] = []

    async def _spawn(self, engine: Engine, deployment: str) -> asyncio.subprocess.Process:
        with self.log.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "faults._worker", self.address),
                "embedded" if engine == "embedded" else self.opa_url,
                deployment,
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        self._started.append(process)
        await self._expect(process, "warm")
        return process

    async def _expect(self, process: asyncio.subprocess.Process, word: str) -> None:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=120)
        if line.strip() != word.encode():
            raise RuntimeError(f"a worker process did not get {word}; see {self.log}")

    async def start(
        self, task_queue: str, *, engine: Engine = "embedded", deployment: str = "v1"
    ) -> WorkerProcess:
        kind = (engine, deployment)
        warm = self._warm.pop(kind, None) or asyncio.create_task(self._spawn(*kind))
        self._warm[kind] = asyncio.create_task(self._spawn(*kind))
        process = await warm
        assert process.stdin is not None
        process.stdin.write(f"{task_queue}\n".encode())
        await process.stdin.drain()
        await self._expect(process, "ready")
        return WorkerProcess(process)

    async def cool(self) -> None:
        """Stop the warm processes (their server went away); new ones start on demand."""
        warm, self._warm = list(self._warm.values()), {}
        for task in warm:
            task.cancel()
            with contextlib.suppress(BaseException):
                (await task).kill()

    async def close(self) -> None:
        for task in self._warm.values():
            task.cancel()
        for process in self._started:
            if process.returncode is None:
                process.kill()
            await process.wait()


@dataclass
class Harness:
    server: DevServer
    client: Client
    ledger: Ledger
    opa: OpaCompatibleServer
    workers: Workers
    workdir: Path
    parallel: int

    async def each(self, items: Iterable[T], trial: Callable[[T], Awaitable[Any]]) -> list[Any]:
        """Run ``trial`` on every item, ``parallel`` at a time."""
        gate = asyncio.Semaphore(self.parallel)

        async def gated(item: T) -> Any:
            async with gate:
                return await trial(item)

        return list(await asyncio.gather(*(gated(item) for item in items)))

    async def restart_server(self) -> None:
        await self.workers.cool()
        await self.server.stop()
        self.client = await self.server.start()


@contextlib.asynccontextmanager
async def harness(workdir: Path, ledger: Ledger, parallel: int) -> AsyncIterator[Harness]:
    server = DevServer(workdir / "temporal.db", workdir / "server.log")
    client = await server.start()
    opa = OpaCompatibleServer(agento.EmbeddedEngine(BUNDLE), vanished=frozenset({VANISHED}))
    opa.start()
    workers = Workers(server.address, opa.url, workdir / "workers.log")
    try:
        yield Harness(server, client, ledger, opa, workers, workdir, parallel)
    finally:
        await workers.close()
        opa.stop()
        await server.stop()


# The end of a run, as a scenario sees it.

Settled = Literal["completed", "failed", "stuck"] | PendingReview


async def settle(handle: WorkflowHandle[Any, Any], *, timeout: float = 60) -> Settled:
    """How the run stands once it stops moving: closed, paused in a review, or stuck."""
    for _ in range(int(timeout * 10)):
        status = (await handle.describe()).status
        if status == WorkflowExecutionStatus.COMPLETED:
            return "completed"
        if status != WorkflowExecutionStatus.RUNNING:
            return "failed"
        with contextlib.suppress(RPCError):
            reviews: list[PendingReview] = await handle.query(
                "agento.pending_reviews", result_type=list[PendingReview]
            )
            if reviews:
                return reviews[0]
        await asyncio.sleep(0.1)
    return "stuck"


async def resolve(
    handle: WorkflowHandle[Any, Any], review_id: str, *, approve: bool, reviewer: str = "ops"
) -> ReviewOutcome | str:
    """The recorded outcome, or the refusal's message."""
    try:
        outcome: ReviewOutcome = await handle.execute_update(
            "agento.resolve_review",
            ResolveReview(review_id=review_id, approve=approve, reviewer=reviewer),
            result_type=ReviewOutcome,
        )
    except WorkflowUpdateFailedError as e:
        return str(e.cause)
    except RPCError as e:  # the run closed before this update was taken
        return e.message
    return outcome


async def violations(
    handles: Sequence[WorkflowHandle[Any, Any]], activities: Sequence[AnyActivity]
) -> int:
    """`agento.testing.governance_violations` over every finished run's history."""
    found = 0
    for handle in handles:
        history = await handle.fetch_history()
        found += len(governance_violations(history, activities))
    return found


def failed_workflow_tasks(history: WorkflowHistory) -> int:
    return sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in history.events)
