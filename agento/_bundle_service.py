"""`ServedBundleEngine`: the embedded engine with its bundle pulled from a bundle service, the
way OPA's bundle plugin pulls one, and swapped in while the worker runs.

A new revision reaches every worker without a redeploy. Each download is verified (when
verification is configured) and compiled off the event loop before it replaces the active
bundle, in one reference swap; a download, verification or compilation that fails never replaces
it: the worker keeps deciding with the last good revision and reports the failure in `status` and
a log line. Every Decision records the revision that actually decided it.
"""

from __future__ import annotations

import asyncio
import io
import logging
import random
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

import httpx
from pydantic import JsonValue

from agento._bundle import PolicyBundle
from agento._decision import Decision, now
from agento._embedded import EmbeddedEngine
from agento._errors import PolicyError
from agento._signing import BundleVerification

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
        self.status = BundleStatus(
            active_revision=first.bundle.revision,
            last_successful_activation=now(),
            last_request=now(),
            last_successful_download=now(),
        )
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
            response = await _get(client, service, etag=None)
        if response is None:
            raise PolicyError(f"{_where(service)} answered 304 to a first request")
        engine = await asyncio.to_thread(
            _compiled, service, response.content, environment, reproducible
        )
        served = cls(
            service,
            engine,
            response.headers.get("ETag"),
            environment=environment,
            reproducible=reproducible,
        )
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
            response = await _get(self._client, self.service, etag=self._etag)
            if response is None:  # 304: the active revision is current
                self.status = replace(self.status, last_request=requested, last_error=None)
                return
            downloaded = now()
            engine = await asyncio.to_thread(
                _compiled, self.service, response.content, self._environment, self._reproducible
            )
        except PolicyError as e:
            self._refused(requested, str(e))
            return
        self._engine, self._etag = engine, response.headers.get("ETag")
        self.status = replace(
            self.status,
            active_revision=engine.bundle.revision,
            last_request=requested,
            last_successful_download=downloaded,
            last_successful_activation=now(),
            last_error=None,
        )
        _log.info(
            "bundle activated revision=%s source=%s", engine.bundle.revision, _where(self.service)
        )

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
) -> httpx.Response | None:
    """The bundle's bytes, ``None`` when unchanged (304); `PolicyError` when not downloaded."""
    headers = {"If-None-Match": etag} if etag else {}
    try:
        response = await client.get(_where(service), headers=headers)
    except httpx.HTTPError as e:
        raise PolicyError(f"{_where(service)} did not answer: {e!r}") from e
    if response.status_code == 304:
        return None
    if response.status_code != 200:
        raise PolicyError(f"{_where(service)} answered {response.status_code}")
    return response


def _compiled(
    service: BundleService,
    content: bytes,
    environment: Mapping[str, str] | None,
    reproducible: bool,
) -> EmbeddedEngine:
    """Read, verify and compile a downloaded bundle (in a thread: compiling takes a while)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as archive:
            files = {
                m.name: handle.read()
                for m in archive.getmembers()
                if m.isfile() and (handle := archive.extractfile(m)) is not None
            }
    except (tarfile.TarError, OSError, EOFError) as e:
        raise PolicyError(f"{_where(service)} served something that is not a .tar.gz: {e}") from e
    bundle = PolicyBundle.from_files(
        files, source=_where(service), verification=service.verification
    )
    return EmbeddedEngine(bundle, environment=environment, reproducible=reproducible)
