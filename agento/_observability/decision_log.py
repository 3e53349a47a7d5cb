"""Every decision, as it is made, as an OPA decision-log event: for the SIEM that already reads
OPA's decision logs.

The event is OPA's (``decision_id``, ``path``, ``input``, ``result``, ``bundles``, ``timestamp``,
``labels``, ``masked``, ``metrics``) with agento's context under ``custom.agento`` (workflow,
run, activity and its version). The input is the one the Decision records: `agento.Sensitive`
fields are hashes there, and ``masked`` names them as OPA's masking does.

A sink never blocks or changes a decision: `emit` only puts the event in a bounded buffer (a full
buffer drops it and counts the drop); a background task delivers batches, retrying with backoff
while the destination is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import httpx
from pydantic import JsonValue

from agento._decision.record import Decision
from agento._observability import metrics

_log = logging.getLogger("agento")


@runtime_checkable
class DecisionLog(Protocol):
    """Where decision-log events go (`agento.FileDecisionLog`, `agento.HttpDecisionLog`)."""

    def emit(self, event: dict[str, JsonValue]) -> None:
        """Take one event without blocking; never raise."""
        ...

    async def aclose(self) -> None:
        """Deliver what is buffered (best effort), then stop."""
        ...


def opa_event(decision: Decision, context: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """The OPA decision-log event of a recorded Decision."""
    timestamp = decision.evaluated_at.isoformat().replace("+00:00", "Z")
    return {
        "decision_id": decision.decision_id,
        "path": decision.policy,
        "input": decision.input,
        "result": decision.result,
        "bundles": _bundles(decision.bundle_revision),
        "timestamp": timestamp,
        "labels": {"app": "agento", "engine": decision.engine, "version": decision.engine_version},
        "masked": [f"/input/{field}" for field in decision.input_redacted],
        "metrics": {"timer_rego_query_eval_ns": round(decision.evaluation_ms * 1_000_000)},
        "custom": {
            "agento": {**context, "allow": decision.allow, "reasons": list(decision.reasons)}
        },
    }


def _bundles(revision: str) -> dict[str, JsonValue]:
    """OPA's ``bundles`` map from a recorded revision (``name=rev,...`` when OPA served several)."""
    pairs = [part.split("=", 1) for part in revision.split(",")]
    if len(pairs) > 1 and all(len(pair) == 2 for pair in pairs):
        return {name: {"revision": rev} for name, rev in pairs}
    return {"agento": {"revision": revision}}


class _BufferedLog:
    """A bounded buffer and the task that drains it in batches, retrying with backoff."""

    def __init__(self, *, buffer: int, batch: int, max_backoff: float) -> None:
        self._queue: asyncio.Queue[dict[str, JsonValue]] | None = None
        self._buffer, self._batch, self._max_backoff = buffer, batch, max_backoff
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0
        self.dropped = 0
        """Events lost because the buffer was full (also the ``agento_decision_log_dropped``
        metric)."""

    def emit(self, event: dict[str, JsonValue]) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue(self._buffer)
        if self._task is None or self._task.done():  # first event, or first since a close
            self._task = asyncio.get_running_loop().create_task(self._drain())
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            metrics.decision_log_dropped()

    async def aclose(self) -> None:
        if self._task is None or self._queue is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), timeout=5)
        except TimeoutError:
            _log.warning("decision log closed with %d events undelivered", self._queue.qsize())
        task, self._task = self._task, None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _drain(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            delay = 0.1
            while True:
                try:
                    await self._deliver(batch)
                    break
                except Exception as e:  # the destination is down: keep the batch, try again
                    _log.warning("decision log delivery failed, retrying in %.1fs: %s", delay, e)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._max_backoff)
            self.delivered += len(batch)
            for _ in batch:
                self._queue.task_done()

    async def _deliver(self, batch: Sequence[dict[str, JsonValue]]) -> None:
        raise NotImplementedError


class FileDecisionLog(_BufferedLog):
    """Decision-log events as JSON lines appended to ``path`` (written off the event loop)."""

    def __init__(
        self, path: str | Path, *, buffer: int = 10_000, batch: int = 100, max_backoff: float = 30
    ) -> None:
        super().__init__(buffer=buffer, batch=batch, max_backoff=max_backoff)
        self.path = Path(path)

    async def _deliver(self, batch: Sequence[dict[str, JsonValue]]) -> None:
        lines = "".join(json.dumps(event, separators=(",", ":")) + "\n" for event in batch)
        await asyncio.to_thread(self._append, lines)

    def _append(self, lines: str) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(lines)


class HttpDecisionLog(_BufferedLog):
    """Decision-log events POSTed in batches the way OPA's decision-log plugin sends them: a
    gzip-compressed JSON array (``Content-Encoding: gzip``) to ``url`` (a service's ``/logs``).

    Args:
        url: Where to POST, e.g. ``https://logs.example/logs``.
        headers: Sent with every batch (an ``Authorization`` bearer token, say).
        buffer: Events held while the service is slow or down; past it, new events are dropped
            and counted.
        batch: Events per request at most.
        max_backoff: Seconds between retries at most (doubling from 0.1 s).
        timeout: Seconds per request.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        buffer: int = 10_000,
        batch: int = 100,
        max_backoff: float = 30,
        timeout: float = 5,
    ) -> None:
        super().__init__(buffer=buffer, batch=batch, max_backoff=max_backoff)
        self.url = url
        self._headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        self._headers.update(headers or {})
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def _deliver(self, batch: Sequence[dict[str, JsonValue]]) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        body = gzip.compress(json.dumps(list(batch)).encode())
        response = await self._client.post(self.url, content=body, headers=self._headers)
        response.raise_for_status()

    async def aclose(self) -> None:
        await super().aclose()
        if self._client is not None:
            await self._client.aclose()
            self._client = None  # a later event (another worker's) opens a new one


def record(log: DecisionLog, decision: Decision, context: dict[str, Any]) -> None:
    """Emit ``decision`` to ``log``; a sink that misbehaves is logged, never raised."""
    try:
        log.emit(opa_event(decision, context))
    except Exception:
        _log.exception("decision log sink failed to take an event")
