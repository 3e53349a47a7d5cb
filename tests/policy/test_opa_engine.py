"""OpaServerEngine against OPA's documented REST shapes, and against a live OPA when given one.

No OPA binary installs here, so the contract runs against ``httpx.MockTransport`` serving the
response shapes of OPA's REST API documentation (openpolicyagent.org/docs/rest-api): "Data API /
Get a Document (with Input)" for results, ``provenance`` and ``decision_id``, and "Errors" for
the ``code``/``message`` error body. Set ``AGENTO_OPA_URL`` (an OPA serving
examples/commissioning/policy) to run the same contract live.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import httpx
import pytest
from pydantic import JsonValue

from agento import OpaServerEngine, PolicyEngineUnavailable, PolicyError
from tests.support.engines import listing
from tests.support.routing_cases import CASES, ROUTING

PROVENANCE = {
    "version": "1.4.2",
    "build_commit": "c73b6cd",
    "build_timestamp": "2025-04-28T17:01:29Z",
    "build_hostname": "opa-sidecar",
    "bundles": {"commissioning": {"revision": "7c1d2f0"}},
}
Handler = Callable[[httpx.Request], httpx.Response]


def mock_engine(handler: Handler) -> OpaServerEngine:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return OpaServerEngine("http://opa.test:8181/", client=client)


async def test_allowed_decision_records_opa_provenance_and_decision_id() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "result": {"allow": True, "reason": []},
                "provenance": PROVENANCE,
                "decision_id": "4ca636c1-55e4-417a-b1d8-4aceb67960d1",
            },
        )

    document: dict[str, JsonValue] = {"project": "bess-7", "agento": {"activity": "route"}}
    decision = await mock_engine(handler).decide(ROUTING, document)
    [request] = seen
    assert request.method == "POST"
    assert request.url.path == "/v1/data/agento/commissioning/routing"
    assert request.url.params["provenance"] == "true"
    assert json.loads(request.content) == {"input": document}
    assert decision.allow is True
    assert decision.decision_id == "4ca636c1-55e4-417a-b1d8-4aceb67960d1"
    assert decision.bundle_revision == "7c1d2f0"
    assert (decision.engine, decision.engine_version) == ("opa", "opa 1.4.2")
    assert decision.input == document


async def test_an_undefined_document_is_a_configuration_error_not_a_deny() -> None:
    # OPA omits `result` when nothing defines the path: no policy is there to deny or allow,
    # and a recoverable deny would let a reviewer run the activity with no policy behind it.
    engine = mock_engine(lambda _: httpx.Response(200, json={"decision_id": "d-1"}))
    with pytest.raises(PolicyError, match="defines nothing at 'agento/commissioning/routing'"):
        await engine.decide(ROUTING, {})


async def test_a_policy_that_derives_no_allow_is_an_ordinary_deny() -> None:
    # A defined package with no rule true for this input is the empty object.
    decision = await mock_engine(lambda _: httpx.Response(200, json={"result": {}})).decide(
        ROUTING, {}
    )
    assert decision.allow is False
    assert decision.recoverable is True
    assert decision.reasons == ("policy result has no allow",)
    assert decision.bundle_revision == "unbundled"
    assert decision.decision_id  # a fresh id when OPA's decision log is off


def checked_engine(handler: Handler) -> OpaServerEngine:
    check = httpx.Client(transport=httpx.MockTransport(handler))
    return OpaServerEngine("http://opa.test:8181", check_client=check)


def test_policies_lists_the_package_of_every_loaded_module() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=listing(ROUTING, "payments/transfer", ROUTING))

    assert checked_engine(handler).policies() == {ROUTING, "payments/transfer"}
    [request] = seen
    assert (request.method, request.url.path) == ("GET", "/v1/policies")


def test_policies_fails_closed_on_anything_but_a_listing() -> None:
    with pytest.raises(PolicyError, match="did not list its policies"):
        checked_engine(lambda _: httpx.Response(200, json={"result": {"x": 1}})).policies()
    with pytest.raises(PolicyError, match="401"):
        checked_engine(lambda _: httpx.Response(401, json={"code": "unauthorized"})).policies()
    with pytest.raises(PolicyEngineUnavailable, match="did not answer"):
        OpaServerEngine("http://127.0.0.1:9", timeout=1.0).policies()


async def test_several_bundles_are_all_recorded() -> None:
    provenance = {**PROVENANCE, "bundles": {"b": {"revision": "2"}, "a": {"revision": "1"}}}
    answer = {"result": {"allow": False}, "provenance": provenance}
    decision = await mock_engine(lambda _: httpx.Response(200, json=answer)).decide(ROUTING, {})
    assert decision.bundle_revision == "a=1,b=2"


async def test_client_error_is_a_policy_error_carrying_opas_body() -> None:
    body = {"code": "invalid_parameter", "message": "input document is not an object"}
    engine = mock_engine(lambda _: httpx.Response(400, json=body))
    with pytest.raises(PolicyError, match="400: invalid_parameter") as raised:
        await engine.decide(ROUTING, {})
    assert raised.value.body == body


@pytest.mark.parametrize(
    "failure",
    [
        lambda request: httpx.Response(500, json={"code": "internal_error", "message": "boom"}),
        lambda request: httpx.Response(503, text="upstream unavailable"),
    ],
)
async def test_server_errors_are_retryable(failure: Handler) -> None:
    with pytest.raises(PolicyEngineUnavailable, match="failed with 5"):
        await mock_engine(failure).decide(ROUTING, {})


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ReadTimeout])
async def test_transport_failures_are_retryable(error: type[httpx.TransportError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("down", request=request)

    with pytest.raises(PolicyEngineUnavailable, match="did not answer"):
        await mock_engine(handler).decide(ROUTING, {})


async def test_unreachable_server_is_retryable() -> None:
    async with OpaServerEngine("http://127.0.0.1:9", timeout=1.0) as engine:
        with pytest.raises(PolicyEngineUnavailable):
            await engine.decide(ROUTING, {})


@pytest.mark.skipif(
    "AGENTO_OPA_URL" not in os.environ,
    reason="set AGENTO_OPA_URL to an OPA serving examples/commissioning/policy to run live",
)
@pytest.mark.parametrize("case", CASES)
async def test_live_opa_gives_the_embedded_engines_verdicts(case: str) -> None:
    document, allow, reasons = CASES[case]
    async with OpaServerEngine(os.environ["AGENTO_OPA_URL"]) as engine:
        decision = await engine.decide(ROUTING, document)
    assert (decision.allow, decision.reasons) == (allow, reasons)
