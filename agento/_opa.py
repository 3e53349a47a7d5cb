"""`OpaServerEngine`: decisions from a running OPA (a sidecar, say) over its REST Data API.

``POST /v1/data/{path}?provenance=true`` with ``{"input": ...}``. OPA answers with ``result``
(absent when the document is undefined), ``decision_id`` when its decision log is on, and
``provenance``: its version and the revision of each bundle it serves, which the Decision
records so that the decision can be replayed later against the same bundle.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import JsonValue

from agento._decision import Decision, canonical_json, make_decision, now
from agento._errors import PolicyEngineUnavailable, PolicyError


class OpaServerEngine:
    """Asks an OPA server. Connection failures, timeouts and 5xx raise the retryable
    `agento.PolicyEngineUnavailable`; 4xx raise `agento.PolicyError` carrying OPA's error body.

    Args:
        url: OPA's base URL, e.g. ``http://localhost:8181``.
        client: An ``httpx.AsyncClient`` to send requests with (TLS, auth headers, transport);
            by default the engine makes and owns one. A given client is not closed by `aclose`.
        timeout: Seconds per request, for the client the engine makes.
    """

    name = "opa"

    def __init__(
        self, url: str, *, client: httpx.AsyncClient | None = None, timeout: float = 5.0
    ) -> None:
        self.url = url.rstrip("/")
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout)

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
        provenance = answer.get("provenance")
        provenance = provenance if isinstance(provenance, dict) else {}
        decision_id = answer.get("decision_id")
        return make_decision(
            policy=policy,
            document=dict(document),
            result=answer.get("result"),
            defined="result" in answer,
            error=None,
            bundle_revision=_revision(provenance),
            engine=self.name,
            engine_version=f"opa {provenance.get('version', 'unknown')}",
            evaluated_at=evaluated_at,
            evaluation_ms=elapsed_ms,
            decision_id=decision_id if isinstance(decision_id, str) else None,
        )


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
