"""A stand-in ledger service on loopback, and governed activities that book into it.

The ledger deduplicates on the ``Idempotency-Key`` header, as payment and booking APIs do: the
same key twice records one entry. It runs in the test process; the activities run wherever the
worker runs (a separate process in the crash tests) and reach it over real HTTP.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from temporalio import activity, workflow
from temporalio.common import RetryPolicy

import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput

LEDGER_ROUTE = "agento/tests/route"


class Booking(PolicyInput):
    ledger_url: str
    amount: int
    started_file: str
    """Written when the body has acted, so a test knows when to kill the worker."""


class Ledger:
    def __init__(self) -> None:
        self.requests: list[str] = []
        self.entries: dict[str, int] = {}
        self.lock = threading.Lock()

    def book(self, key: str, amount: int) -> None:
        with self.lock:
            self.requests.append(key)
            self.entries.setdefault(key, amount)


@contextmanager
def running_ledger() -> Iterator[tuple[Ledger, str]]:
    ledger = Ledger()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            ledger.book(self.headers.get("Idempotency-Key", ""), int(body["amount"]))
            self.send_response(201)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ledger, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def _book_then_stall(key: IdempotencyKey, request: Booking) -> str:
    async with httpx.AsyncClient(transport=agento.IdempotencyKeyTransport(key)) as client:
        response = await client.post(
            f"{request.ledger_url}/entries", json={"amount": request.amount}
        )
        response.raise_for_status()
    Path(request.started_file).write_text(key)
    if activity.info().attempt == 1:
        await asyncio.sleep(3600)  # the test kills the worker here
    return key


@agento.activity(
    idempotency=Idempotency.NON_IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=LEDGER_ROUTE,
    version="1.0.0",
)
async def book_once(key: IdempotencyKey, request: Booking) -> str:
    return await _book_then_stall(key, request)


@agento.activity(
    idempotency=Idempotency.KEYED,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=LEDGER_ROUTE,
    version="1.0.0",
)
async def book_keyed(key: IdempotencyKey, request: Booking) -> str:
    return await _book_then_stall(key, request)


LEDGER_ACTIVITIES = [book_once, book_keyed]


@workflow.defn
class BookOnceWorkflow:
    @workflow.run
    async def run(self, request: Booking) -> str:
        return await agento.execute_activity(
            book_once, request, start_to_close_timeout=timedelta(seconds=4)
        )


@workflow.defn
class BookKeyedWorkflow:
    @workflow.run
    async def run(self, request: Booking) -> str:
        return await agento.execute_activity(
            book_keyed,
            request,
            start_to_close_timeout=timedelta(seconds=4),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200)),
        )


LEDGER_WORKFLOWS = [BookOnceWorkflow, BookKeyedWorkflow]


@agento.activity(
    idempotency=Idempotency.KEYED,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=LEDGER_ROUTE,
    version="1.0.0",
)
async def refund(key: IdempotencyKey, request: Booking) -> str:
    """Books at once and returns the key it booked with: a payee that deduplicates on it."""
    async with httpx.AsyncClient(transport=agento.IdempotencyKeyTransport(key)) as client:
        response = await client.post(
            f"{request.ledger_url}/entries", json={"amount": request.amount}
        )
        response.raise_for_status()
    return key


@workflow.defn
class RefundWorkflow:
    @workflow.run
    async def run(self, request: Booking) -> str:
        return await agento.execute_activity(
            refund, request, start_to_close_timeout=timedelta(seconds=10)
        )
