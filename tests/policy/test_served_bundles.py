"""Bundles served and hot-swapped while a worker runs workflows: a real HTTP bundle service on
loopback serves revision A, then B, then a broken C, then an unsigned D."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import logging
import secrets
import tarfile
import threading
import tracemalloc
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from agento import (
    BundleError,
    BundleService,
    BundleVerification,
    PolicyBundle,
    PolicyError,
    ServedBundleEngine,
    VerificationKey,
)
from agento._audit.replay import replay_decisions
from agento._audit.report import audit_report
from agento._policy import served as bundle_service
from agento._policy.bundle import build_tarball
from agento._policy.signing import SIGNATURES, sign
from agento.testing import governed_client
from tests.support.governed_activities import Transfer
from tests.support.governed_workflows import RouteWorkflow
from tests.support.history import recorded_decisions
from tests.support.keys import es256_key_pair
from tests.support.runs import governed_worker

ROUTE = "package agento.tests.route\n\ndefault allow := false\n\nallow if input.amount <= {limit}\n"


@dataclass
class Served:
    """The bundle service: one resource, its ETag the bundle's revision."""

    bundles: dict[str, bytes]
    current: str = ""
    downloads: list[str] = field(default_factory=list)
    not_modified: int = 0
    url: str = ""
    token: str = ""
    """When set, requests without ``Authorization: Bearer <token>`` get a 401."""
    length_header: bool = True
    """Whether responses say their length (else the body ends when the connection closes)."""


@pytest.fixture
def served() -> Iterator[Served]:
    state = Served(bundles={})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if state.token and self.headers.get("Authorization") != f"Bearer {state.token}":
                self.send_response(401)
                self.end_headers()
                return
            if self.path != "/bundles/route.tar.gz" or not state.current:
                self.send_response(404)
                self.end_headers()
                return
            etag = f'"{state.current}"'
            if self.headers.get("If-None-Match") == etag:
                state.not_modified += 1
                self.send_response(304)
                self.end_headers()
                return
            body = state.bundles[state.current]
            state.downloads.append(state.current)
            self.send_response(200)
            self.send_header("ETag", etag)
            if state.length_header:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def bundle(revision: str, policy: str, private: str | None) -> bytes:
    files = {
        ".manifest": f'{{"revision": "{revision}"}}'.encode(),
        "agento/tests/route.rego": policy.encode(),
    }
    if private is not None:
        files[SIGNATURES] = sign(files, key=private, algorithm="ES256", key_id="compliance")
    return build_tarball(files)


async def until(condition: object, what: str) -> None:
    for _ in range(200):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


HISTORIES: list[WorkflowHistory] = []


async def route(client: Client, task_queue: str, amount: int) -> str:
    handle = await client.start_workflow(
        RouteWorkflow.run,
        Transfer(project_id="p", amount=amount),
        id=f"served-{uuid.uuid4()}",
        task_queue=task_queue,
    )
    await asyncio.wait_for(handle.result(), timeout=60)
    history = await handle.fetch_history()
    HISTORIES.append(history)
    [decision] = recorded_decisions(history)
    assert decision.allow
    return decision.bundle_revision


async def test_revisions_swap_in_while_runs_go_on_and_bad_ones_never_do(
    agento_dev_server: WorkflowEnvironment, served: Served, tmp_path: Path
) -> None:
    private, public = es256_key_pair()
    served.bundles = {
        "A": bundle("A", ROUTE.format(limit=100), private),
        "B": bundle("B", ROUTE.format(limit=1000), private),
        "C": bundle("C", "package agento.tests.route\n\nallow if input.amount <=\n", private),
        "D": bundle("D", "package agento.tests.route\n\nallow := true\n", None),
    }
    served.current = "A"
    service = BundleService(
        url=served.url,
        resource="bundles/route.tar.gz",
        min_delay_seconds=0.05,
        max_delay_seconds=0.1,
        verification=BundleVerification({"compliance": VerificationKey(public, "ES256")}),
    )
    async with await ServedBundleEngine.start(service) as engine:
        assert engine.status.active_revision == "A"
        client = governed_client(agento_dev_server, engine)
        task_queue = f"served-{uuid.uuid4()}"
        async with governed_worker(client, task_queue):
            assert await route(client, task_queue, 50) == "A"

            served.current = "B"
            await until(lambda: engine.status.active_revision == "B", "B is active")
            assert await route(client, task_queue, 500) == "B", "B allows what A denied"
            unchanged = served.not_modified
            await engine.poll_once()
            assert served.not_modified > unchanged, "an unchanged revision is answered 304"

            served.current = "C"
            await until(lambda: engine.status.last_error is not None, "C is refused")
            assert "does not compile" in (engine.status.last_error or "")
            assert await route(client, task_queue, 500) == "B", "B keeps deciding"

            served.current = "D"
            await until(lambda: ".signatures.json" in (engine.status.last_error or ""), "D")
            assert "missing: verification is configured" in (engine.status.last_error or "")
            assert await route(client, task_queue, 500) == "B"
            assert engine.status.active_revision == "B"
    assert served.downloads[:2] == ["A", "B"]
    assert served.downloads.count("B") == 1, "B was downloaded once"
    assert set(served.downloads) == {"A", "B", "C", "D"}
    # Replay finds each decision's own revision among the served bundles.
    for name in ("A", "B"):
        (tmp_path / f"{name}.tar.gz").write_bytes(served.bundles[name])
    bundles = {b.revision: b for b in map(PolicyBundle.load, tmp_path.glob("*.tar.gz"))}
    replayed = [r for h in HISTORIES for r in replay_decisions(audit_report(h), bundles)]
    assert [(r.bundle_revision, r.verdict) for r in replayed] == [
        ("A", "identical"),
        *[("B", "identical")] * 3,
    ]
    refused = "\n".join(engine.status.refused)
    assert "does not compile" in refused
    assert ".signatures.json:1:1: missing" in refused


async def test_no_first_bundle_means_no_engine(served: Served) -> None:
    service = BundleService(url=served.url, resource="bundles/route.tar.gz")
    with pytest.raises(PolicyError, match="answered 404"):
        await ServedBundleEngine.start(service)
    down = BundleService(url="http://127.0.0.1:1", resource="bundles/route.tar.gz")
    with pytest.raises(PolicyError, match="did not answer"):
        await ServedBundleEngine.start(down)


async def test_a_service_that_wants_a_token_gets_it(served: Served) -> None:
    served.bundles = {"A": bundle("A", ROUTE.format(limit=100), None)}
    served.current, served.token = "A", "s3cret"
    without = BundleService(url=served.url, resource="bundles/route.tar.gz")
    with pytest.raises(PolicyError, match="answered 401"):
        await ServedBundleEngine.start(without)
    async with await ServedBundleEngine.start(
        BundleService(url=served.url, resource="bundles/route.tar.gz", token="s3cret")
    ) as engine:
        assert engine.bundle.revision == "A"
        assert engine.bundle.signing_key_id is None, "no verification configured"


async def test_an_unforeseen_error_in_a_poll_does_not_stop_polling(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    served.bundles = {
        "A": bundle("A", ROUTE.format(limit=100), None),
        "B": bundle("B", ROUTE.format(limit=1000), None),
    }
    served.current = "A"
    service = BundleService(
        url=served.url,
        resource="bundles/route.tar.gz",
        min_delay_seconds=0.02,
        max_delay_seconds=0.05,
    )
    async with await ServedBundleEngine.start(service) as engine:
        compile_bundle = bundle_service._compiled
        failures = iter([RuntimeError("the worker ran short")])

        def flaky(*args: Any) -> Any:
            for failure in failures:
                raise failure
            return compile_bundle(*args)

        monkeypatch.setattr(bundle_service, "_compiled", flaky)
        served.current = "B"
        await until(lambda: engine.status.active_revision == "B", "B is active after all")
    assert "RuntimeError: the worker ran short" in engine.status.refused[0]


def _tarball(members: dict[str, bytes | int]) -> bytes:
    """A .tar.gz with these member names as given (not normalised); an int is that many zero
    bytes, streamed so that the test never holds them."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w|") as archive,
    ):
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = content if isinstance(content, int) else len(content)
            data = _Zeros(content) if isinstance(content, int) else io.BytesIO(content)
            archive.addfile(info, data)
    return buffer.getvalue()


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        size = self.left if size is None or size < 0 else min(size, self.left)
        self.left -= size
        return bytes(size)


ROUTE_FILES = {".manifest": b'{"revision": "A"}', "agento/tests/route.rego": b"package x\n"}


async def test_a_member_named_outside_the_bundle_is_a_bundle_error(served: Served) -> None:
    served.bundles = {
        "evil": _tarball({**ROUTE_FILES, "//x/evil.rego": b"package x\n"}),
        "A": bundle("A", ROUTE.format(limit=100), None),
    }
    service = BundleService(url=served.url, resource="bundles/route.tar.gz")
    served.current = "evil"
    with pytest.raises(BundleError, match=r"'//x/evil\.rego', which is not a plain relative path"):
        await ServedBundleEngine.start(service)
    served.current = "A"
    async with await ServedBundleEngine.start(service) as engine:
        served.current = "evil"
        await engine.poll_once()
        assert "not a plain relative path" in (engine.status.last_error or "")
        assert engine.status.active_revision == "A"


async def test_a_small_download_of_a_huge_member_is_refused_before_it_is_unpacked(
    served: Served,
) -> None:
    served.bundles = {"bomb": _tarball({**ROUTE_FILES, "padding.bin": 256 * 2**20})}
    served.current = "bomb"
    assert len(served.bundles["bomb"]) < 300 * 2**10, "a quarter of a megabyte"
    service = BundleService(url=served.url, resource="bundles/route.tar.gz")
    tracemalloc.start()
    try:
        with pytest.raises(BundleError, match=r"unpacks to more than size_limit_bytes \(134217728"):
            await ServedBundleEngine.start(service)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"unpacking it took {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("length_header", [True, False])
async def test_a_download_over_its_limit_is_refused_as_it_arrives(
    served: Served, length_header: bool
) -> None:
    padding = {"data.json": json.dumps({"pad": secrets.token_hex(4096)}).encode()}
    served.bundles = {
        "A": bundle("A", ROUTE.format(limit=100), None),
        "big": build_tarball({**ROUTE_FILES, **padding}),
    }
    served.current, served.length_header = "A", length_header
    service = BundleService(
        url=served.url, resource="bundles/route.tar.gz", download_limit_bytes=2048
    )
    async with await ServedBundleEngine.start(service) as engine:
        served.current = "big"
        await engine.poll_once()
        assert "serves more than download_limit_bytes (2048 bytes)" in (
            engine.status.last_error or ""
        )
        assert engine.status.active_revision == "A"


async def test_a_superseded_revision_served_again_is_refused_unless_rollback_is_allowed(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    private, public = es256_key_pair()
    served.bundles = {
        "A": bundle("A", ROUTE.format(limit=100_000), private),  # the permissive one
        "B": bundle("B", ROUTE.format(limit=100), private),
    }
    verification = BundleVerification({"compliance": VerificationKey(public, "ES256")})
    service = BundleService(
        url=served.url, resource="bundles/route.tar.gz", verification=verification
    )
    caplog.set_level(logging.INFO, logger="agento.bundles")
    for allowed in (False, True):
        served.current = "A"
        async with await ServedBundleEngine.start(
            replace(service, allow_rollback=allowed)
        ) as engine:
            served.current = "B"
            await engine.poll_once()
            served.current = "A"
            await engine.poll_once()
            activations = [(a.revision, a.rollback) for a in engine.status.activations]
            if allowed:
                assert engine.status.active_revision == "A"
                assert activations == [("A", False), ("B", False), ("A", True)]
            else:
                assert engine.status.active_revision == "B", "the rollback was refused"
                assert activations == [("A", False), ("B", False)]
                assert "revision A, which revision B superseded" in (engine.status.last_error or "")
    logged = caplog.text
    assert "bundle refused; still deciding with revision=B" in logged
    assert "superseded: a rollback is refused" in logged
    assert "bundle rolled back revision=A from=B" in logged
