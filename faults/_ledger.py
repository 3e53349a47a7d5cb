"""A loopback ledger: the external system every fault scenario's side effects land in.

It deduplicates on the ``Idempotency-Key`` header, as payment APIs do, and counts raw arrivals
as well as effects, so a scenario sees both what was sent and what took hold.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Arrival:
    run: str
    key: str
    """The ``Idempotency-Key`` header; empty when the caller sent none."""


@dataclass
class Ledger:
    url: str = ""
    arrivals: list[Arrival] = field(default_factory=list)
    effects: dict[str, str] = field(default_factory=dict)
    """Idempotency key (or a fresh token for unkeyed arrivals) -> the run it charged."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, run: str, key: str) -> None:
        with self._lock:
            self.arrivals.append(Arrival(run, key))
            self.effects.setdefault(key or f"unkeyed-{len(self.arrivals)}", run)

    def arrivals_of(self, run: str) -> list[Arrival]:
        with self._lock:
            return [a for a in self.arrivals if a.run == run]

    def effects_of(self, run: str) -> int:
        with self._lock:
            return sum(1 for charged in self.effects.values() if charged == run)


@contextmanager
def running_ledger() -> Iterator[Ledger]:
    ledger = Ledger()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            ledger.record(str(body["run"]), self.headers.get("Idempotency-Key", ""))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ledger.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ledger
    finally:
        server.shutdown()
        server.server_close()
