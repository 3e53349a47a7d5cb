"""An OPA-API-compatible server over loopback, evaluating with the embedded Rego engine.

No OPA binary installs on the machines this suite runs on; this server speaks the two endpoints
agento's `OpaServerEngine` uses (``POST /v1/data/{path}``, ``GET /v1/policies``) in OPA's
documented shapes, with real Rego evaluation behind them. A scenario can close its port (the
engine is down), open it again, and hold answers to kill a worker while a decision is in flight.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agento import EmbeddedEngine, PolicyError


@dataclass
class Hold:
    """One held decision: ``arrived`` is set when the ask comes in; the answer waits for
    ``release``."""

    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class OpaCompatibleServer:
    def __init__(self, engine: EmbeddedEngine, *, vanished: frozenset[str] = frozenset()) -> None:
        self.engine = engine
        self.vanished = vanished
        """Policies listed as loaded but answered as undefined: a bundle swapped under a worker."""
        self.port = 0
        self.asks: list[str] = []
        """The ``run`` field of every input asked about, in order."""
        self.holds: dict[str, Hold] = {}
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hold(self, run: str) -> Hold:
        """Hold the next answer about ``run``'s input until released."""
        with self._lock:
            hold = self.holds[run] = Hold()
        return hold

    def start(self) -> None:
        """Open the port (the same one again after `stop`)."""
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Close the port: asks are refused, as when OPA is down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        document = body.get("input", {})
        run = str(document.get("run", "")) if isinstance(document, dict) else ""
        with self._lock:
            self.asks.append(run)
            hold = self.holds.pop(run, None)
        if hold is not None:
            hold.arrived.set()
            hold.release.wait(timeout=120)
        if path in self.vanished:
            return 200, {"decision_id": str(uuid.uuid4())}  # OPA's answer when nothing is defined
        try:
            decision = self.engine.evaluate(path, document)
        except PolicyError as e:
            return 400, {"code": "invalid_parameter", "message": str(e)}
        return 200, {
            "result": decision.result,
            "decision_id": str(uuid.uuid4()),
            "provenance": {
                "version": "faults-compatible",
                "bundles": {"faults": {"revision": decision.bundle_revision}},
            },
        }

    def _listing(self) -> dict[str, Any]:
        modules = []
        for package in sorted(self.engine.policies() | self.vanished):
            path = [{"type": "var", "value": "data"}]
            path += [{"type": "string", "value": part} for part in package.split("/")]
            modules.append({"id": f"{package}.rego", "ast": {"package": {"path": path}}})
        return {"result": modules}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/v1/policies":
                    self._send(200, server._listing())
                else:
                    self._send(404, {"code": "resource_not_found", "message": self.path})

            def do_POST(self) -> None:
                path = self.path.split("?")[0]
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if not path.startswith("/v1/data/"):
                    self._send(404, {"code": "resource_not_found", "message": path})
                    return
                self._send(*server._answer(path.removeprefix("/v1/data/"), body))

            def _send(self, status: int, answer: dict[str, Any]) -> None:
                content = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(content)  # a killed worker asked this

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
