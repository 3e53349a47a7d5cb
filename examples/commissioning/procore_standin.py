"""A LOCAL STAND-IN for the Procore API, serving fixture data on loopback.

The real Procore is not reachable from here. This stand-in answers the few calls the example
makes, with the fixture projects below, and records report submissions, deduplicating on the
``Idempotency-Key`` header as a real submission API would. Nothing else about Procore is modelled.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCHEDULE = {
    "frequency_hz": {"expected": 50.0, "tolerance": 0.05},
    "overvoltage_trip_v": {"expected": 253.0, "tolerance": 2.0},
}

PROJECTS: dict[str, dict[str, object]] = {
    # Everything closed and within tolerance: the report may be routed.
    "bess-7": {
        "punch_items_open_bess": [],
        "test_results": [
            {"parameter": "frequency_hz", "value": 50.02},
            {"parameter": "overvoltage_trip_v", "value": 252.1},
        ],
    },
    # One open punch item: the policy denies, recoverably; an engineer reviews.
    "bess-9": {
        "punch_items_open_bess": ["PI-104 inverter cabinet label missing"],
        "test_results": [
            {"parameter": "frequency_hz", "value": 49.98},
            {"parameter": "overvoltage_trip_v", "value": 253.4},
        ],
    },
}


class StandIn:
    def __init__(self) -> None:
        self.submissions: dict[str, dict[str, object]] = {}
        self.lock = threading.Lock()

    def submit(self, key: str, body: dict[str, object]) -> tuple[str, bool]:
        with self.lock:
            created = key not in self.submissions
            self.submissions.setdefault(key, body)
            return f"SUB-{list(self.submissions).index(key) + 1:04d}", created


@contextmanager
def procore_standin() -> Iterator[tuple[StandIn, str]]:
    """Run the stand-in on a free loopback port; yields it and its base URL."""
    standin = StandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            if len(parts) == 3 and parts[0] == "projects" and parts[1] in PROJECTS:
                project = PROJECTS[parts[1]]
                answers = {
                    "punch_items": project["punch_items_open_bess"],
                    "test_results": project["test_results"],
                    "protection_settings": SCHEDULE,
                }
                if parts[2] in answers:
                    return self._json(200, answers[parts[2]])
            self._json(404, {"error": f"no such resource: {self.path}"})

        def do_POST(self) -> None:
            if self.path != "/submissions":
                return self._json(404, {"error": f"no such resource: {self.path}"})
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = self.headers.get("Idempotency-Key")
            if not key:
                return self._json(400, {"error": "Idempotency-Key header required"})
            submission_id, created = standin.submit(key, body)
            self._json(201 if created else 200, {"submission_id": submission_id})

        def _json(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield standin, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
