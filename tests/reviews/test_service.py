"""The review service's API and pages against a dev server and a worker whose plugin trusts only
the service's key and asks the tests' reviewer policy: OIDC tokens verified against a JWKS, the
proxy-header mode, refusals as 401/403/409/422, CSRF on the forms."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from starlette.requests import Request
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from agento import (
    EmbeddedEngine,
    PendingReview,
    ResolutionSigner,
    ReviewerIdentity,
    VerificationKey,
)
from agento._reviews.models import ReviewReason
from agento._reviews.visibility import ListedReview
from agento.review import DevUserAuth, JwtAuth, ProxyHeaderAuth, Unauthenticated, review_app
from agento.review._pages import queue
from agento.testing import governance_violations, governed_client
from tests.support.engines import POLICY_BUNDLE
from tests.support.governed_activities import GOVERNED
from tests.support.keys import AUDIENCE, ISSUER, Idp, es256_key_pair
from tests.support.reviews import paused, pending_reviews
from tests.support.runs import governed_worker


@pytest.fixture(scope="module")
def service_key() -> tuple[str, str]:
    return es256_key_pair()


@pytest.fixture
def idp(tmp_path: Path) -> Idp:
    return Idp.create(tmp_path)


@pytest.fixture
async def governed(
    agento_dev_server: WorkflowEnvironment, service_key: tuple[str, str]
) -> AsyncIterator[tuple[Client, str]]:
    client = governed_client(
        agento_dev_server,
        EmbeddedEngine(POLICY_BUNDLE),
        review_keys={"review-service": VerificationKey.from_pem(service_key[1])},
        reviewer_policy="agento/tests/reviewers",
    )
    task_queue = f"service-{uuid.uuid4()}"
    async with governed_worker(client, task_queue):
        yield client, task_queue


def http(app: Any, peer: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://reviews.test")


def signer(service_key: tuple[str, str]) -> ResolutionSigner:
    return ResolutionSigner(key=service_key[0], key_id="review-service")


async def test_the_api_authenticates_with_oidc_and_answers_each_refusal_with_its_status(
    governed: tuple[Client, str], idp: Idp, service_key: tuple[str, str]
) -> None:
    client, task_queue = governed
    auth = JwtAuth(str(idp.jwks), issuer=ISSUER, audience=AUDIENCE)
    app = review_app(client, auth=auth, signer=signer(service_key), wait_seconds=20)
    handle, review = await paused(client, task_queue)
    where = {"workflow_id": handle.id}
    carol = idp.token("carol", email="carol@example.com", groups=["approvers"])
    bob = idp.token("bob", groups=["engineers"])
    alice = idp.token("alice", groups=["approvers"])
    other_private, _ = es256_key_pair()
    now = int(time.time())

    def signed_as_carol(key: str, algorithm: str, kid: str = "idp-1") -> dict[str, str]:
        """Carol's otherwise valid claims, signed with another key, algorithm or key id."""
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "carol", "exp": now + 60}
        token = jwt.encode(claims, key, algorithm, headers={"kid": kid})
        return {"Authorization": f"Bearer {token}"}

    unauthenticated = {
        "no token": {},
        "expired": {"Authorization": f"Bearer {idp.token('carol', exp=now - 120)}"},
        "another issuer": {"Authorization": f"Bearer {idp.token('carol', iss='https://evil')}"},
        "another audience": {"Authorization": f"Bearer {idp.token('carol', aud='other')}"},
        "forged": signed_as_carol(other_private, "ES256"),
        "alg none": signed_as_carol("", "none"),
        "unknown key": signed_as_carol(idp.private, "ES256", kid="idp-2"),
    }
    async with http(app) as api:
        for what, headers in unauthenticated.items():
            answer = await api.get("/api/reviews", headers=headers)
            assert answer.status_code == 401, what
            assert answer.json()["error"] == "Unauthenticated"

        as_carol = {"Authorization": f"Bearer {carol}"}
        listed = (await api.get("/api/reviews", headers=as_carol)).json()["reviews"]
        mine = [r for r in listed if r["workflow_id"] == handle.id]
        assert [(r["review_id"], r["reason"]) for r in mine] == [
            (review.review_id, ReviewReason.POLICY_DENIED)
        ]
        assert mine[0]["until"] is not None
        shown = await api.get(f"/api/reviews/{review.review_id}", params=where, headers=as_carol)
        assert shown.json()["decision_id"] == review.decision_id
        assert shown.json()["requester"] == "alice"

        url = f"/api/reviews/{review.review_id}/approve"
        denied = await api.post(
            url, params=where, json={"comment": "ok"}, headers={"Authorization": f"Bearer {bob}"}
        )
        assert denied.status_code == 403
        assert denied.json()["error"] == "ReviewerDenied"
        assert denied.json()["reasons"] == ["bob is not in the approvers group"]
        own = await api.post(
            url, params=where, json={"comment": "ok"}, headers={"Authorization": f"Bearer {alice}"}
        )
        assert own.status_code == 403
        assert "alice requested this run and may not review it" in own.json()["message"]
        empty = await api.post(url, params=where, json={"comment": " "}, headers=as_carol)
        assert empty.status_code == 422
        not_json = await api.post(url, params=where, content="comment=ok", headers=as_carol)
        assert not_json.status_code == 415

        approved = await api.post(
            url, params=where, json={"comment": "within the site's limit"}, headers=as_carol
        )
        assert approved.status_code == 200, approved.text
        outcome = approved.json()
        assert outcome["identity"] == ReviewerIdentity(
            subject="carol", email="carol@example.com", groups=("approvers",), issuer=ISSUER
        ).model_dump(mode="json")
        assert outcome["signing_key_id"] == "review-service"
        again = await api.post(url, params=where, json={"comment": "twice"}, headers=as_carol)
        assert again.status_code == 409
        assert (await handle.result()).startswith("routed")
        spec = (await api.get("/api/openapi.json")).json()
        assert "/api/reviews/{review_id}/approve" in spec["paths"]
    assert governance_violations(await handle.fetch_history(), GOVERNED) == []


async def test_proxy_headers_are_believed_only_from_the_proxy(
    governed: tuple[Client, str], service_key: tuple[str, str]
) -> None:
    client, task_queue = governed
    auth = ProxyHeaderAuth(["10.1.0.0/16"])
    app = review_app(client, auth=auth, signer=signer(service_key), wait_seconds=20)
    handle, review = await paused(client, task_queue)
    headers = {"X-Forwarded-User": "carol", "X-Forwarded-Groups": "approvers, ops"}
    async with http(app, peer="192.168.7.7") as outsider:
        refused = await outsider.get("/api/reviews", headers=headers)
        assert refused.status_code == 401
        assert "192.168.7.7 is not one of its addresses" in refused.json()["message"]
    async with http(app, peer="10.1.2.3") as proxied:
        assert (await proxied.get("/api/reviews")).status_code == 401, "no user header"
        approved = await proxied.post(
            f"/api/reviews/{review.review_id}/approve",
            params={"workflow_id": handle.id},
            json={"comment": "checked on site"},
            headers=headers,
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["identity"]["groups"] == ["approvers", "ops"]
        assert approved.json()["identity"]["issuer"] == "proxy"
    await handle.result()


async def test_the_forms_refuse_a_missing_token_and_another_origin(
    governed: tuple[Client, str], service_key: tuple[str, str]
) -> None:
    client, task_queue = governed
    auth = DevUserAuth("carol", ["approvers"])
    app = review_app(client, auth=auth, signer=signer(service_key), wait_seconds=20)
    handle, review = await paused(client, task_queue)
    async with http(app) as browser:
        page = await browser.get("/review", params={"workflow_id": handle.id, **_id(review)})
        assert "Development mode" in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        form = {"workflow_id": handle.id, **_id(review), "action": "approve", "comment": "ok"}
        missing = await browser.post("/review", data=form)
        assert missing.status_code == 403
        assert "stale or not ours" in missing.text
        foreign = await browser.post(
            "/review",
            data=form | {"csrf_token": token[1]},
            headers={"Origin": "https://evil.example"},
        )
        assert foreign.status_code == 403
        assert [r.review_id for r in await pending_reviews(handle)] == [review.review_id]
        accepted = await browser.post("/review", data=form | {"csrf_token": token[1]})
        assert accepted.status_code == 200
        assert "Approved: the run continues" in accepted.text
    await handle.result()


def _id(review: PendingReview) -> dict[str, str]:
    return {"review_id": review.review_id}


def test_values_from_runs_are_escaped_in_pages() -> None:
    hostile = ListedReview(
        workflow_id='"><script>alert(1)</script>',
        review_id="r",
        activity="<img src=x onerror=alert(1)>",
        reason="policy_denied",
        since=datetime.now(UTC),
        reasons=["<b>bold</b>"],
    )
    html = queue([hostile], datetime.now(UTC))
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


async def test_a_jwks_url_is_fetched_and_an_unknown_key_refused(idp: Idp) -> None:
    """The IdP's JWKS served over HTTP, as ``--jwks https://...`` reads it."""
    jwks = idp.jwks.read_bytes()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(jwks)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        auth = JwtAuth(
            f"http://127.0.0.1:{server.server_port}/jwks.json", issuer=ISSUER, audience=AUDIENCE
        )

        def request(token: str) -> Request:
            headers = [(b"authorization", f"Bearer {token}".encode())]
            return Request({"type": "http", "headers": headers})

        carol = await auth.identify(request(idp.token("carol", groups=["approvers"])))
        assert (carol.subject, carol.groups, carol.issuer) == ("carol", ("approvers",), ISSUER)
        elsewhere = idp.jwks.parent / "elsewhere"
        elsewhere.mkdir()
        stranger = Idp.create(elsewhere)  # another key under the same kid
        with pytest.raises(Unauthenticated, match="the token is not accepted"):
            await auth.identify(request(stranger.token("carol")))
    finally:
        server.shutdown()


async def test_temporal_refusing_is_a_502_and_an_unknown_run_a_404(
    governed: tuple[Client, str], service_key: tuple[str, str], idp: Idp
) -> None:
    client, _ = governed
    auth = JwtAuth(str(idp.jwks), issuer=ISSUER, audience=AUDIENCE)
    broken = review_app(client, auth=auth, signer=signer(service_key), query="this is not a query")
    as_carol = {"Authorization": f"Bearer {idp.token('carol', groups=['approvers'])}"}
    async with http(broken) as api:
        listed = await api.get("/api/reviews", headers=as_carol)
        assert listed.status_code == 502
        assert listed.json()["message"].startswith("cannot list the pending reviews: ")
        page = await api.get("/", headers=as_carol)
        assert page.status_code == 502
        assert "cannot list the pending reviews" in page.text
        unknown = await api.get(
            "/api/reviews/r-1", params={"workflow_id": f"nobody-{uuid.uuid4()}"}, headers=as_carol
        )
        assert unknown.status_code == 404
        bare = await api.get("/api/reviews")
        assert bare.status_code == 401
        assert bare.headers["WWW-Authenticate"] == "Bearer"
