"""`agento review serve` as a real process: a free loopback port, the service's own uvicorn, and
an HTTP client once it answers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).parents[2]


@dataclass
class Serving:
    api: httpx.AsyncClient
    errors: str = ""
    """The service's stderr, once it has stopped."""


@contextlib.asynccontextmanager
async def review_service(
    env: WorkflowEnvironment, signing_key: Path, *options: str
) -> AsyncIterator[Serving]:
    """The review service for ``env``'s runs, signing with ``signing_key``; ``options`` say how
    reviewers are authenticated."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = env.client.service_client.config.target_host
    command = [
        sys.executable, "-m", "agento", "review", "serve", "--address", address,
        "--port", str(port), "--signing-key", str(signing_key), *options,
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    api = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
    serving = Serving(api)
    try:
        for _ in range(200):
            try:
                if (await api.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                if server.poll() is not None:
                    break
                await asyncio.sleep(0.1)
        yield serving
    finally:
        await api.aclose()
        server.terminate()
        _, serving.errors = server.communicate(timeout=30)
