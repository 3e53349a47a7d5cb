"""Attacks on reviews, tried as an attacker would: against the review service as
`agento review serve` runs it (its own uvicorn process), and with the ``agento.resolve_review``
update sent by a raw Temporal client. Each approval that must not be accepted is refused and
leaves the review pending; each malformed request is a 4xx or `ReviewRefused`, never a 500."""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from agento import (
    AgentoPlugin,
    EmbeddedEngine,
    PendingReview,
    ResolutionSigner,
    ResolveReview,
    ReviewerIdentity,
    VerificationKey,
    resolve_review,
)
from agento._audit.report import ReviewResolved, audit_report, render
from agento._identity import confusable
from agento._reviews.resolution import AUDIENCE as RESOLUTION_AUDIENCE
from agento.testing import assert_replays, governance_violations, governed_client
from tests.support.engines import POLICY_BUNDLE, REVIEWERS
from tests.support.governed_activities import GOVERNED
from tests.support.governed_workflows import WORKFLOWS
from tests.support.keys import AUDIENCE, ISSUER, Idp, es256_key_pair
from tests.support.review_service import Serving, review_service
from tests.support.reviews import paused, pending_reviews, refusal, token
from tests.support.runs import governed_worker

APPROVERS = {"X-Forwarded-Groups": "approvers"}
FULLWIDTH_ALICE = "\uff41\uff4c\uff49\uff43\uff45"


@pytest.fixture(scope="module")
def service_key() -> tuple[str, str]:
    return es256_key_pair()


@pytest.fixture
def key_file(tmp_path: Path, service_key: tuple[str, str]) -> Path:
    path = tmp_path / "review-service.pem"
    path.write_text(service_key[0])
    return path


@pytest.fixture
async def governed(
    agento_dev_server: WorkflowEnvironment, service_key: tuple[str, str]
) -> AsyncIterator[tuple[Client, str]]:
    """A worker that trusts only the service's key and asks the tests' reviewer policy (only
    ``approvers`` approve); its runs are requested by alice."""
    client = governed_client(
        agento_dev_server,
        EmbeddedEngine(POLICY_BUNDLE),
        review_keys={"review-service": VerificationKey.from_pem(service_key[1])},
        reviewer_policy=REVIEWERS,
    )
    task_queue = f"attacks-{uuid.uuid4()}"
    async with governed_worker(client, task_queue):
        yield client, task_queue


@contextlib.asynccontextmanager
async def behind_a_proxy(
    env: WorkflowEnvironment, governed: tuple[Client, str], key_file: Path, trusted: str
) -> AsyncIterator[tuple[Serving, WorkflowHandle[Any, str], PendingReview]]:
    """The service in proxy-header mode trusting ``trusted``, and a run paused on its review."""
    proxy = ["--proxy-header", "X-Forwarded-User", "--trusted-proxy", trusted]
    async with review_service(env, key_file, *proxy) as service:
        yield service, *await paused(*governed)


async def test_a_spoofed_forwarded_for_does_not_make_a_local_peer_the_proxy(
    agento_dev_server: WorkflowEnvironment, governed: tuple[Client, str], key_file: Path
) -> None:
    async with behind_a_proxy(agento_dev_server, governed, key_file, "10.0.0.0/8") as (
        service,
        handle,
        review,
    ):
        spoofed = {"X-Forwarded-User": "carol", "X-Forwarded-For": "10.0.0.5", **APPROVERS}
        answer = await service.api.post(
            f"/api/reviews/{review.review_id}/approve",
            params={"workflow_id": handle.id},
            json={"comment": "from a sidecar"},
            headers=spoofed,
        )
        assert answer.status_code == 401, answer.text
        assert "127.0.0.1 is not one of its addresses" in answer.json()["message"]
        assert [r.review_id for r in await pending_reviews(handle)] == [review.review_id]
        await handle.terminate()


async def test_an_identity_header_sent_twice_is_refused(
    agento_dev_server: WorkflowEnvironment, governed: tuple[Client, str], key_file: Path
) -> None:
    async with behind_a_proxy(agento_dev_server, governed, key_file, "127.0.0.1") as (
        service,
        handle,
        review,
    ):
        url, where = f"/api/reviews/{review.review_id}/approve", {"workflow_id": handle.id}
        twice = {
            "user": [
                ("X-Forwarded-User", "carol"),
                ("X-Forwarded-User", "dave"),
                *APPROVERS.items(),
            ],
            "groups": [
                ("X-Forwarded-User", "carol"),
                ("X-Forwarded-Groups", "approvers"),
                ("X-Forwarded-Groups", "engineers"),
            ],
        }
        for what, headers in twice.items():
            answer = await service.api.post(
                url, params=where, json={"comment": "ok"}, headers=headers
            )
            assert answer.status_code == 401, f"{what}: {answer.text}"
            assert "arrives 2 times" in answer.json()["message"], what
        assert [r.review_id for r in await pending_reviews(handle)] == [review.review_id]
        once = {"X-Forwarded-User": "carol", **APPROVERS}
        approved = await service.api.post(url, params=where, json={"comment": "ok"}, headers=once)
        assert approved.status_code == 200, approved.text
        assert (await handle.result()).startswith("routed"), "the side effect ran"


def _jwks_with_an_rsa_key(idp: Idp) -> None:
    """Add an RSA key (kid ``idp-rsa``) beside the IdP's EC key."""
    document = json.loads(idp.jwks.read_text())
    rsa_public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_public))
    document["keys"].append({**jwk, "kid": "idp-rsa"})
    idp.jwks.write_text(json.dumps(document))


async def test_malformed_requests_to_the_service_are_4xx_and_resolve_nothing(
    agento_dev_server: WorkflowEnvironment,
    governed: tuple[Client, str],
    key_file: Path,
    tmp_path: Path,
) -> None:
    client, task_queue = governed
    idp = Idp.create(tmp_path)
    _jwks_with_an_rsa_key(idp)
    oidc = ["--jwks", str(idp.jwks), "--issuer", ISSUER, "--audience", AUDIENCE]
    async with review_service(agento_dev_server, key_file, *oidc) as service:
        api = service.api
        handle, review = await paused(client, task_queue)
        url, where = f"/api/reviews/{review.review_id}/approve", {"workflow_id": handle.id}
        carol = {"Authorization": f"Bearer {idp.token('carol', groups=['approvers'])}"}

        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "carol", "groups": ["approvers"]}
        rsa_kid = jwt.encode(claims, idp.private, "ES256", headers={"kid": "idp-rsa"})
        answer = await api.get("/api/reviews", headers={"Authorization": f"Bearer {rsa_kid}"})
        assert answer.status_code == 401, "an ES256 token naming the RSA key"
        assert answer.json()["error"] == "Unauthenticated"

        bodies = {
            "nested 100,000 levels": (b"[" * 100_000, 413),
            "nested 10,000 levels, under the size limit": (b"[" * 10_000, 422),
            "nested 17 levels": (b'{"comment": ' + b"[" * 17 + b"]" * 17 + b"}", 422),
            "a megabyte of comment": (json.dumps({"comment": "x" * 2**20}).encode(), 413),
        }
        for what, (body, status) in bodies.items():
            answer = await api.post(
                url,
                params=where,
                content=body,
                headers={**carol, "Content-Type": "application/json"},
            )
            assert answer.status_code == status, f"{what}: {answer.status_code} {answer.text}"

        page = await api.get(
            "/review", params={**where, "review_id": review.review_id}, headers=carol
        )
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None, page.text
        form = {"workflow_id": handle.id, "review_id": review.review_id, "action": "approve"}
        forms = {
            "a CSRF time of 5,000 digits": (form | {"csrf_token": "9" * 5000 + ".00"}, 403),
            "a CSRF time in other digits": (form | {"csrf_token": "١٢٣.00"}, 403),
            "no workflow_id": (form | {"workflow_id": "", "csrf_token": csrf[1]}, 422),
            "no review_id": (form | {"review_id": "", "csrf_token": csrf[1]}, 422),
        }
        for what, (fields, status) in forms.items():
            answer = await api.post("/review", data=fields | {"comment": "ok"}, headers=carol)
            assert answer.status_code == status, f"{what}: {answer.status_code} {answer.text}"

        # The requester, under a look-alike spelling of her name, signed in through the IdP.
        fullwidth = {"Authorization": f"Bearer {idp.token(FULLWIDTH_ALICE, groups=['approvers'])}"}
        own = await api.post(url, params=where, json={"comment": "mine"}, headers=fullwidth)
        assert own.status_code == 403, own.text
        assert "can be taken for 'alice', who requested this run" in own.json()["message"]
        assert [r.review_id for r in await pending_reviews(handle)] == [review.review_id]

        approved = await api.post(url, params=where, json={"comment": "checked"}, headers=carol)
        assert approved.status_code == 200, approved.text
        assert approved.json()["requester_check"] == "uts39-skeleton"
        assert (await handle.result()).startswith("routed")
    assert "Traceback" not in service.errors, service.errors


# The requester is alice: none of these spellings is someone else.
ALICE_SPELLED_OTHERWISE = {
    "upper case": ReviewerIdentity(subject="ALICE"),
    "surrounding blanks": ReviewerIdentity(subject=" alice "),
    "fullwidth": ReviewerIdentity(subject=FULLWIDTH_ALICE),
    "a zero-width space": ReviewerIdentity(subject="ali\u200bce"),
    "a zero-width joiner": ReviewerIdentity(subject="ali\u200dce"),
    "a word joiner and a fullwidth a": ReviewerIdentity(subject="\uff41lice\u2060"),
    "a soft hyphen": ReviewerIdentity(subject="ali\u00adce"),
    "a right-to-left override": ReviewerIdentity(subject="\u202ealice"),
    "a variation selector": ReviewerIdentity(subject="alice\ufe0f"),
    "a Cyrillic a": ReviewerIdentity(subject="\u0430lice"),
    "a Cyrillic i": ReviewerIdentity(subject="al\u0456ce"),
    "a Cyrillic e": ReviewerIdentity(subject="alic\u0435"),
    "a Latin alpha": ReviewerIdentity(subject="\u0251lice"),
    "a capital I for the l": ReviewerIdentity(subject="aIice"),
    "upper case with a Cyrillic I": ReviewerIdentity(subject="AL\u0406CE"),
    "another subject, her email with a Cyrillic a": ReviewerIdentity(
        subject="mallory", email="\u0430lice"
    ),
}


async def test_the_requester_under_another_spelling_of_her_name_is_refused(
    governed: tuple[Client, str], service_key: tuple[str, str]
) -> None:
    client, task_queue = governed
    signer = ResolutionSigner(key=service_key[0], key_id="review-service")
    handle, review = await paused(client, task_queue)
    events = len((await handle.fetch_history()).events)
    for what, spelling in ALICE_SPELLED_OTHERWISE.items():
        identity = spelling.model_copy(update={"groups": ("approvers",), "issuer": "test-idp"})
        signed = token(signer, handle, review, reviewer=identity)
        resolution = ResolveReview(
            review_id=review.review_id, approve=True, reviewer=identity.subject,
            comment="checked", signature=signed,
        )  # fmt: skip
        refused = await refusal(handle, resolution)
        assert refused.type == "ReviewRefused", what
        assert "may not review it" in refused.message, what
        assert "requested this run" in refused.message, what
    assert len((await handle.fetch_history()).events) == events, "refusals left no trace"

    carol = ReviewerIdentity(subject="carol", groups=("approvers",), issuer="test-idp")
    outcome = await resolve_review(
        client, handle.id, review.review_id, approve=True, reviewer=carol, comment="checked",
        signer=signer,
    )  # fmt: skip
    assert outcome.requester_check == "uts39-skeleton"
    await handle.result()
    history = await handle.fetch_history()
    [resolved] = [e for e in audit_report(history).entries if isinstance(e, ReviewResolved)]
    assert resolved.outcome.requester_check == "uts39-skeleton", "the comparison is in history"
    assert "(requester check: uts39-skeleton)" in render(audit_report(history))
    assert governance_violations(history, GOVERNED) == []
    await assert_replays([history], WORKFLOWS, plugin=AgentoPlugin(reviewer_policy=REVIEWERS))


RECORDED = Path(__file__).parents[1] / "support" / "histories"


async def test_a_look_alike_approval_recorded_before_the_requester_check_replays_as_made() -> None:
    """Recorded with agento as it was before: the requester alice, approved by a fullwidth
    alice with a signed resolution. The check that now refuses it must not change its replay."""
    text = (RECORDED / "lookalike-approved-before-the-requester-check.json").read_text()
    history = WorkflowHistory.from_json("paused-8014dae5-9bb3-461e-b3e0-f4cd0a6e6e41", text)
    [resolved] = [e for e in audit_report(history).entries if isinstance(e, ReviewResolved)]
    assert (resolved.outcome.reviewer, resolved.outcome.requester) == (FULLWIDTH_ALICE, "alice")
    assert resolved.outcome.requester_check is None
    await assert_replays([history], WORKFLOWS)


def test_distinct_names_stay_distinct() -> None:
    for name in ("alicia", "alice2", "malice", "alíce", "ali ce", "aiice", "carol"):
        assert not confusable(name, "alice"), name


async def test_a_resolution_dated_beyond_any_calendar_is_refused(
    governed: tuple[Client, str], service_key: tuple[str, str]
) -> None:
    client, task_queue = governed
    handle, review = await paused(client, task_queue)
    carol = ReviewerIdentity(subject="carol", groups=("approvers",), issuer="test-idp")
    for claim in ("iat", "exp"):
        claims = {
            "aud": RESOLUTION_AUDIENCE, "sub": "carol", "workflow_id": handle.id,
            "review_id": review.review_id, "decision_id": review.decision_id, "approve": True,
            "comment": "checked", "reviewer": carol.model_dump(mode="json"),
            "iat": 1_700_000_000, "exp": 1_700_000_600, claim: 10**20,
        }  # fmt: skip
        signed = jwt.encode(claims, service_key[0], "ES256", headers={"kid": "review-service"})
        resolution = ResolveReview(
            review_id=review.review_id, approve=True, reviewer="carol", comment="checked",
            signature=signed,
        )  # fmt: skip
        refused = await refusal(handle, resolution)
        assert refused.type == "ReviewRefused", f"{claim}: {refused.type} {refused.message}"
        assert "lacks a valid claim" in refused.message
    assert [r.review_id for r in await pending_reviews(handle)] == [review.review_id]
    await handle.terminate()
