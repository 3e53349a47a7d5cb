"""`OpaServerEngine`: decisions from a running OPA (a sidecar, say) over its REST Data API.

``POST /v1/data/{path}?provenance=true`` with ``{"input": ...}``. OPA answers with ``result``
(absent when no policy or data defines the path), ``decision_id`` when its decision log is on,
and ``provenance``: its version and the revision of each bundle it serves, which the Decision
records so that the decision can be replayed later against the same bundle.

A worker built with this engine first lists the server's policies (``GET /v1/policies``) and
refuses to start when an activity declares a policy the server does not define.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import JsonValue

from agento._decision.record import Decision, canonical_json, make_decision, now
from agento._errors import PolicyEngineUnavailable, PolicyError


class OpaServerEngine:
    """Asks an OPA server. Connection failures, timeouts and 5xx raise the retryable
    `agento.PolicyEngineUnavailable`; 4xx raise `agento.PolicyError` carrying OPA's error body.

    Args:
        url: OPA's base URL, e.g. ``http://localhost:8181``.
        client: An ``httpx.AsyncClient`` to send requests with (TLS, auth headers, transport);
            by default the engine makes and owns one. A given client is not closed by `aclose`.
        timeout: Seconds per request, for the clients the engine makes.
        check_client: The synchronous ``httpx.Client`` a worker's start-up check lists policies
            with (it runs while the worker is built, which is synchronous); by default one made
            for the check with ``timeout``. Give one for TLS or auth settings OPA requires.
    """

    name = "opa"

    def __init__(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 5.0,
        check_client: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._check_client = check_client
        self._timeout = timeout

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> OpaServerEngine:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def decide(self, policy: str, document: Mapping[str, JsonValue]) -> Decision:
        body = '{"input":' + canonical_json(document) + "}"
        evaluated_at = now()
        start = time.perf_counter()
        try:
            response = await self._client.post(
                f"{self.url}/v1/data/{policy.strip('/')}",
                params={"provenance": "true"},
                content=body,
                headers={"Content-Type": "application/json"},
            )
        except httpx.TransportError as e:
            raise PolicyEngineUnavailable(f"OPA at {self.url} did not answer: {e!r}") from e
        elapsed_ms = (time.perf_counter() - start) * 1000
        answer = _json_body(response)
        if response.status_code >= 500:
            raise PolicyEngineUnavailable(
                f"OPA at {self.url} failed with {response.status_code}: {_describe(answer)}"
            )
        if response.status_code >= 400 or not isinstance(answer, dict):
            raise PolicyError(
                f"OPA refused {policy!r} with {response.status_code}: {_describe(answer)}",
                body=answer,
            )
        if "result" not in answer:
            raise PolicyError(
                f"OPA at {self.url} defines nothing at {policy!r} (its answer has no result): "
                "no loaded policy has that package. Load the bundle that defines it, or fix the "
                "activity's policy path"
            )
        provenance = answer.get("provenance")
        provenance = provenance if isinstance(provenance, dict) else {}
        decision_id = answer.get("decision_id")
        return make_decision(
            policy=policy,
            document=dict(document),
            result=answer["result"],
            error=None,
            bundle_revision=_revision(provenance),
            engine=self.name,
            engine_version=f"opa {provenance.get('version', 'unknown')}",
            evaluated_at=evaluated_at,
            evaluation_ms=elapsed_ms,
            decision_id=decision_id if isinstance(decision_id, str) else None,
        )

    def policies(self) -> frozenset[str]:
        """The policy paths (packages, ``a/b/c``) of every module the server has loaded.

        Raises `agento.PolicyEngineUnavailable` when the server does not answer, and
        `agento.PolicyError` when it answers with something other than its policy list.
        """
        url = f"{self.url}/v1/policies"
        try:
            if self._check_client is not None:
                response = self._check_client.get(url)
            else:
                with httpx.Client(timeout=self._timeout) as client:
                    response = client.get(url)
        except httpx.TransportError as e:
            raise PolicyEngineUnavailable(f"OPA at {self.url} did not answer: {e!r}") from e
        answer = _json_body(response)
        if response.status_code >= 500:
            raise PolicyEngineUnavailable(
                f"OPA at {self.url} failed with {response.status_code}: {_describe(answer)}"
            )
        modules = answer.get("result") if isinstance(answer, dict) else None
        if response.status_code >= 400 or not isinstance(modules, list):
            raise PolicyError(
                f"OPA at {self.url} did not list its policies ({response.status_code}): "
                f"{_describe(answer)}",
                body=answer,
            )
        return frozenset(path for module in modules if (path := _package_path(module)))


def _package_path(module: Any) -> str | None:
    """``a/b/c`` from a listed module's ``ast.package.path`` (``data``, then the name's parts)."""
    try:
        terms = module["ast"]["package"]["path"]
        parts = [str(term["value"]) for term in terms[1:]]
    except (KeyError, TypeError, IndexError):
        return None
    return "/".join(parts) or None


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _describe(answer: object) -> str:
    if isinstance(answer, dict):
        code, message = answer.get("code"), answer.get("message")
        if code or message:
            return f"{code}: {message}"
    return str(answer)[:500]


def _revision(provenance: Mapping[str, Any]) -> str:
    """One bundle's revision, or ``name=revision`` pairs when OPA serves several."""
    bundles = provenance.get("bundles")
    if not isinstance(bundles, dict) or not bundles:
        return "unbundled"
    revisions = {
        name: str(info.get("revision", "")) if isinstance(info, dict) else ""
        for name, info in bundles.items()
    }
    if len(revisions) == 1:
        return next(iter(revisions.values()))
    return ",".join(f"{name}={rev}" for name, rev in sorted(revisions.items()))
