"""`ServedBundleEngine`: the embedded engine with its bundle pulled from a bundle service, the
way OPA's bundle plugin pulls one, and swapped in while the worker runs.

A new revision reaches every worker without a redeploy. Each download is streamed under a size
limit, unpacked under another, verified (when verification is configured) and compiled off the
event loop before it replaces the active bundle, in one reference swap; a download, verification
or compilation that fails never replaces it, and neither does a revision this engine has seen
superseded (a rollback) unless the service allows rollbacks: the worker keeps deciding with the
last good revision and reports the refusal in `status` and a log line. Every Decision records the
revision that actually decided it.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import logging
import random
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

import httpx
from pydantic import JsonValue

from agento._decision.record import Decision, now
from agento._errors import BundleError, PolicyError
from agento._policy.bundle import PolicyBundle
from agento._policy.embedded import EmbeddedEngine
from agento._policy.signing import BundleVerification

_log = logging.getLogger("agento.bundles")


@dataclass(frozen=True)
class BundleService:
    """Where a bundle is served, as OPA's ``services`` and ``bundles`` configure it."""

    url: str
    """The service's base URL (``https://bundles.example.com``)."""
    resource: str
    """The bundle's path on it (``bundles/commissioning.tar.gz``)."""
    min_delay_seconds: float = 60.0
    max_delay_seconds: float = 120.0
    """Polls happen a random time between the two apart, so that workers spread their polls."""
    token: str | None = None
    """A bearer token the service requires."""
    verification: BundleVerification | None = None
    """Require every download to be signed (`agento.BundleVerification`)."""
    timeout_seconds: float = 30.0
    download_limit_bytes: int = 32 * 2**20
    """The most a download may be; a larger one is refused as it arrives."""
    size_limit_bytes: int = 128 * 2**20
    """The most the bundle may unpack to (all its members, as OPA's ``size_limit_bytes``
    bounds each): a small download of a huge member is refused before it is unpacked."""
    allow_rollback: bool = False
    """Activate a revision this engine has seen superseded, when the service serves it again.
    Off, such a rollback is refused (and logged): a validly signed old revision may be more
    permissive than the one that replaced it."""


@dataclass(frozen=True)
class BundleStatus:
    """What the poller last did, as OPA's status API reports it."""

    active_revision: str
    last_successful_activation: datetime
    last_request: datetime | None = None
    last_successful_download: datetime | None = None
    last_error: str | None = None
    """Why the last download did not replace the active bundle; ``None`` after a success."""
    refused: tuple[str, ...] = field(default=())
    """The last errors, oldest first (at most 20)."""
    activations: tuple[BundleActivation, ...] = field(default=())
    """The last activations, oldest first (at most 20), the first revision's included."""


@dataclass(frozen=True)
class BundleActivation:
    """A revision that became the active one."""

    revision: str
    at: datetime
    rollback: bool = False
    """It had been superseded, and the service allows rollbacks."""


class ServedBundleEngine:
    """The embedded engine over a served bundle. Build it with `start` (it downloads the first
    bundle, so a worker can check its policies), and `aclose` it to stop polling.

    Args as `agento.EmbeddedEngine`'s (``environment``, ``reproducible``) apply to every revision.
    """

    name = "embedded"

    def __init__(
        self,
        service: BundleService,
        first: EmbeddedEngine,
        etag: str | None,
        *,
        environment: Mapping[str, str] | None,
        reproducible: bool,
    ) -> None:
        self.service = service
        self._engine = first
        self._etag = etag
        self._environment, self._reproducible = environment, reproducible
        activated = now()
        self.status = BundleStatus(
            active_revision=first.bundle.revision,
            last_successful_activation=activated,
            last_request=activated,
            last_successful_download=activated,
            activations=(BundleActivation(first.bundle.revision, activated),),
        )
        self._superseded: dict[str, str] = {}
        """Revision -> the revision that replaced it."""
        self._client = _client(service)
        self._poller: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls,
        service: BundleService,
        *,
        environment: Mapping[str, str] | None = None,
        reproducible: bool = False,
    ) -> ServedBundleEngine:
        """Download, verify and compile the first bundle, then poll for new revisions. Raises
        `agento.PolicyError` (`BundleError` when the bundle is refused) when there is no first
        bundle to decide with."""
        async with _client(service) as client:
            download = await _get(client, service, etag=None)
        if download is None:
            raise PolicyError(f"{_where(service)} answered 304 to a first request")
        content, etag = download
        engine = await asyncio.to_thread(_compiled, service, content, environment, reproducible, {})
        served = cls(service, engine, etag, environment=environment, reproducible=reproducible)
        served._poller = asyncio.get_running_loop().create_task(served._poll())
        _log.info("bundle activated revision=%s source=%s", engine.bundle.revision, _where(service))
        return served

    @property
    def engine(self) -> EmbeddedEngine:
        """The engine deciding now (its ``bundle`` is the active revision)."""
        return self._engine

    @property
    def bundle(self) -> PolicyBundle:
        return self._engine.bundle

    def policies(self) -> frozenset[str]:
        return self._engine.policies()

    async def decide(self, policy: str, document: Mapping[str, JsonValue]) -> Decision:
        return await self._engine.decide(policy, document)  # one engine for the whole decision

    async def poll_once(self) -> None:
        """Ask the service once (the poller does this on its own; tests and operators may)."""
        requested = now()
        try:
            download = await _get(self._client, self.service, etag=self._etag)
            if download is None:  # 304: the active revision is current
                self.status = replace(self.status, last_request=requested, last_error=None)
                return
            downloaded = now()
            content, etag = download
            engine = await asyncio.to_thread(
                _compiled,
                self.service,
                content,
                self._environment,
                self._reproducible,
                {} if self.service.allow_rollback else dict(self._superseded),
            )
        except PolicyError as e:
            self._refused(requested, str(e))
            return
        self._activate(engine, etag, requested=requested, downloaded=downloaded)

    def _activate(
        self, engine: EmbeddedEngine, etag: str | None, *, requested: datetime, downloaded: datetime
    ) -> None:
        revision, previous = engine.bundle.revision, self.status.active_revision
        rollback = self._superseded.pop(revision, None) is not None
        if revision != previous:
            self._superseded[previous] = revision
        self._engine, self._etag = engine, etag
        activated = now()
        self.status = replace(
            self.status,
            active_revision=revision,
            last_request=requested,
            last_successful_download=downloaded,
            last_successful_activation=activated,
            last_error=None,
            activations=(
                *self.status.activations,
                BundleActivation(revision, activated, rollback=rollback),
            )[-20:],
        )
        if rollback:
            _log.warning(
                "bundle rolled back revision=%s from=%s source=%s (allow_rollback is set)",
                revision,
                previous,
                _where(self.service),
            )
        else:
            _log.info("bundle activated revision=%s source=%s", revision, _where(self.service))

    def _refused(self, requested: datetime, error: str) -> None:
        self.status = replace(
            self.status,
            last_request=requested,
            last_error=error,
            refused=(*self.status.refused, error)[-20:],
        )
        _log.warning(
            "bundle refused; still deciding with revision=%s source=%s reason=%r",
            self.status.active_revision,
            _where(self.service),
            error.splitlines()[0] + (" ..." if "\n" in error else ""),
        )

    async def _poll(self) -> None:
        service = self.service
        while True:
            await asyncio.sleep(
                random.uniform(service.min_delay_seconds, service.max_delay_seconds)
            )
            try:
                await self.poll_once()
            except Exception as e:  # anything unforeseen is a refusal too: keep polling
                self._refused(now(), f"{type(e).__name__}: {e}")

    async def aclose(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        await self._client.aclose()

    async def __aenter__(self) -> ServedBundleEngine:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _client(service: BundleService) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {service.token}"} if service.token else {}
    return httpx.AsyncClient(headers=headers, timeout=service.timeout_seconds)


def _where(service: BundleService) -> str:
    return f"{service.url.rstrip('/')}/{service.resource.lstrip('/')}"


async def _get(
    client: httpx.AsyncClient, service: BundleService, *, etag: str | None
) -> tuple[bytes, str | None] | None:
    """The bundle's bytes and ETag, ``None`` when unchanged (304); `PolicyError` when not
    downloaded, `BundleError` when larger than ``download_limit_bytes`` (refused as it arrives,
    or from its ``Content-Length`` before)."""
    where, limit = _where(service), service.download_limit_bytes
    headers = {"If-None-Match": etag} if etag else {}
    too_large = BundleError(f"{where} serves more than download_limit_bytes ({limit} bytes)")
    try:
        async with client.stream("GET", where, headers=headers) as response:
            if response.status_code == 304:
                return None
            if response.status_code != 200:
                raise PolicyError(f"{where} answered {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise too_large
            content = bytearray()
            async for chunk in response.aiter_bytes():
                content += chunk
                if len(content) > limit:
                    raise too_large
            return bytes(content), response.headers.get("ETag")
    except httpx.HTTPError as e:
        raise PolicyError(f"{where} did not answer: {e!r}") from e


def _compiled(
    service: BundleService,
    content: bytes,
    environment: Mapping[str, str] | None,
    reproducible: bool,
    superseded: Mapping[str, str],
) -> EmbeddedEngine:
    """Unpack, verify and compile a downloaded bundle (in a thread: compiling takes a while),
    refusing a revision in ``superseded`` (revision -> what replaced it): a rollback."""
    bundle = PolicyBundle.from_files(
        _unpacked(service, content), source=_where(service), verification=service.verification
    )
    if (successor := superseded.get(bundle.revision)) is not None:
        raise BundleError(
            f"{_where(service)} serves revision {bundle.revision}, which revision {successor} "
            "superseded: a rollback is refused (BundleService(allow_rollback=True) allows it)"
        )
    return EmbeddedEngine(bundle, environment=environment, reproducible=reproducible)


def _unpacked(service: BundleService, content: bytes) -> dict[str, bytes]:
    """The bundle's files, unpacked as a stream that may not exceed ``size_limit_bytes``: each
    member's declared size counts before it is read, and the stream itself is bounded for
    headers that lie."""
    where, limit = _where(service), service.size_limit_bytes
    too_large = BundleError(f"{where} unpacks to more than size_limit_bytes ({limit} bytes)")
    files, declared = {}, 0
    try:
        with (
            gzip.GzipFile(fileobj=io.BytesIO(content)) as decompressed,
            tarfile.open(fileobj=_Bounded(decompressed, limit, too_large), mode="r|") as archive,
        ):
            for member in archive:
                declared += member.size
                if declared > limit:
                    raise too_large
                if member.isfile() and (handle := archive.extractfile(member)) is not None:
                    files[member.name] = handle.read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise PolicyError(f"{where} served something that is not a .tar.gz: {e}") from e
    return files


class _Bounded(io.RawIOBase):
    """A readable stream that raises ``error`` past ``limit`` bytes."""

    def __init__(self, stream: gzip.GzipFile, limit: int, error: BundleError) -> None:
        self._stream, self._left, self._error = stream, limit, error

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        wanted = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        data = self._stream.read(wanted)
        self._left -= len(data)
        if self._left < 0:
            raise self._error
        return data
