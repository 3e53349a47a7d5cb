"""Who approved is proven, and who may approve is policy: signed resolutions refused when forged,
expired, tampered with or missing (writing nothing to history), verified again offline from
history alone; the reviewer policy decided through the recorded decision step."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.workflow import NondeterminismError

from agento import (
    AgentoPlugin,
    EmbeddedEngine,
    PendingReview,
    ResolutionSigner,
    ResolveReview,
    ReviewerIdentity,
    ReviewOutcome,
    ReviewRefused,
    VerificationKey,
    resolve_review,
)
from agento._audit.report import (
    DecisionFailed,
    DecisionRecorded,
    ReviewAttemptRefused,
    ReviewResolved,
    audit_report,
    render,
)
from agento.testing import OutageEngine, assert_replays, governance_violations, governed_client
from tests.support.cli import agento
from tests.support.engines import POLICY_BUNDLE, REVIEWERS
from tests.support.governed_activities import GOVERNED
from tests.support.governed_workflows import WORKFLOWS
from tests.support.history import doctored
from tests.support.keys import es256_key_pair
from tests.support.reviews import (
    CAROL,
    paused,
    pending_reviews,
    refusal,
    service_key,
    signer,
    token,
)
from tests.support.runs import governed_worker

__all__ = ["service_key", "signer"]  # fixtures this module uses


@pytest.fixture
def keys(service_key: tuple[str, str]) -> dict[str, VerificationKey]:
    return {"review-service": VerificationKey.from_pem(service_key[1])}


@pytest.fixture
def public_key_file(tmp_path: Path, service_key: tuple[str, str]) -> Path:
    path = tmp_path / "review-service.pub.pem"
    path.write_text(service_key[1])
    return path


async def test_forged_expired_tampered_and_unsigned_resolutions_are_refused_writing_nothing(
    agento_dev_server: WorkflowEnvironment,
    signer: ResolutionSigner,
    keys: dict[str, VerificationKey],
    public_key_file: Path,
) -> None:
    client = governed_client(agento_dev_server, EmbeddedEngine(POLICY_BUNDLE), review_keys=keys)
    task_queue = f"signed-{uuid.uuid4()}"
    async with governed_worker(client, task_queue):
        handle, review = await paused(client, task_queue)
        events = len((await handle.fetch_history()).events)
        other_key, _ = es256_key_pair()
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)

        def resolution(signature: str | None, comment: str = "checked") -> ResolveReview:
            return ResolveReview(
                review_id=review.review_id,
                approve=True,
                reviewer="carol",
                comment=comment,
                signature=signature,
            )

        attempts = {
            "unsigned": (resolution(None), "accepts only signed resolutions"),
            "forged (another key, the trusted key id)": (
                resolution(token(signer, handle, review, key=other_key)),
                "signature does not verify with key 'review-service'",
            ),
            "an untrusted key id": (
                resolution(token(signer, handle, review, key=other_key, key_id="mallory")),
                "key 'mallory', which is not trusted (trusted: review-service)",
            ),
            "expired": (
                resolution(token(signer, handle, review, issued_at=an_hour_ago)),
                "expired at",
            ),
            "a rejection's token sent as an approval": (
                resolution(token(signer, handle, review, approve=False)),
                "another verdict (False, not True)",
            ),
            "another comment than signed": (
                resolution(token(signer, handle, review), comment="waved through"),
                "another comment",
            ),
            "another review's token": (
                resolution(token(signer, handle, review, review_id="agento-9-route-review-1")),
                "another review",
            ),
            "not a JWS": (resolution("not.a.token"), "not a JWS"),
        }
        for what, (attempt, message) in attempts.items():
            refused = await refusal(handle, attempt)
            assert refused.type == "ReviewRefused", what
            assert message in refused.message, f"{what}: {refused.message}"
        assert len((await handle.fetch_history()).events) == events, "refusals left no trace"

        outcome = await resolve_review(
            client,
            handle.id,
            review.review_id,
            approve=True,
            reviewer=CAROL,
            comment="checked",
            signer=signer,
        )
        assert (outcome.identity, outcome.signing_key_id) == (CAROL, "review-service")
        assert (await handle.result()).startswith("routed")

    history = await handle.fetch_history()
    [resolved] = [e for e in audit_report(history).entries if isinstance(e, ReviewResolved)]
    assert resolved.outcome.signature is not None
    assert governance_violations(history, GOVERNED) == []

    # The auditor's check, from the history alone, with the public key alone.
    exported = public_key_file.parent / "history.json"
    exported.write_text(json.dumps(history.to_json_dict()))
    verified = agento(
        "audit", "--history", str(exported), "--verify", "--review-key",
        f"review-service={public_key_file}",
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    assert f"{review.review_id}: verified with key review-service" in verified.stdout
    _, wrong_public = es256_key_pair()
    wrong = public_key_file.parent / "wrong.pem"
    wrong.write_text(wrong_public)
    forged = agento(
        "audit", "--history", str(exported), "--verify", "--review-key", f"review-service={wrong}"
    )
    assert forged.returncode == 1
    assert "FAILED: the resolution's signature does not verify" in forged.stdout
    rendered = agento("audit", "--history", str(exported)).stdout
    assert "signed, key review-service" in rendered
    assert "carol@example.com (sub carol; via test-idp; groups approvers)" in rendered


def test_a_signer_refuses_a_key_that_cannot_sign(service_key: tuple[str, str]) -> None:
    private, public = service_key
    for key in (public, "not a key"):
        with pytest.raises(ValueError, match="not a PEM private key"):
            ResolutionSigner(key=key, key_id="review-service")
    assert ResolutionSigner(key=private, key_id="review-service").key_id == "review-service"


async def test_an_unsigned_resolution_shows_as_unsigned_and_fails_verification(
    agento_time_skipping_env: WorkflowEnvironment, tmp_path: Path, public_key_file: Path
) -> None:
    client = governed_client(agento_time_skipping_env, EmbeddedEngine(POLICY_BUNDLE))
    task_queue = f"unsigned-{uuid.uuid4()}"
    async with governed_worker(client, task_queue):
        handle, review = await paused(client, task_queue)
        outcome = await resolve_review(
            client, handle.id, review.review_id, approve=True, reviewer="bob"
        )
        assert (outcome.signature, outcome.signing_key_id) == (None, None)
        assert outcome.identity == ReviewerIdentity(subject="bob")
        await handle.result()
    history = await handle.fetch_history()
    exported = tmp_path / "history.json"
    exported.write_text(json.dumps(history.to_json_dict()))

    # Where the server attributes events to a principal, the audit names it beside the review.
    events = list(History(events=history.events).events)
    accepted = next(
        e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    )
    accepted.principal.type, accepted.principal.name = "jwt", "bob@corp.example"
    attributed = audit_report(WorkflowHistory(history.workflow_id, events))
    [resolved] = [e for e in attributed.entries if isinstance(e, ReviewResolved)]
    assert resolved.principal == "jwt:bob@corp.example"
    assert "[unsigned; sent by jwt:bob@corp.example]" in render(attributed)
    # Setting a reviewer policy later is safe for this run: its resolution replays as made.
    await assert_replays([history], WORKFLOWS, plugin=AgentoPlugin(reviewer_policy=REVIEWERS))
    checked = agento(
        "audit", "--history", str(exported), "--verify", "--review-key",
        f"review-service={public_key_file}",
    )  # fmt: skip
    assert checked.returncode == 1
    assert f"{review.review_id}: unsigned" in checked.stdout
    assert "0 of 1 resolutions signed and verified" in checked.stdout


def reviewer_worker(client: Client, task_queue: str) -> Worker:
    return governed_worker(client, task_queue, max_concurrent_workflow_tasks=10)


async def test_the_reviewer_policy_decides_who_may_approve_and_is_recorded(
    agento_dev_server: WorkflowEnvironment,
    signer: ResolutionSigner,
    keys: dict[str, VerificationKey],
) -> None:
    client = governed_client(
        agento_dev_server,
        EmbeddedEngine(POLICY_BUNDLE),
        review_keys=keys,
        reviewer_policy=REVIEWERS,
    )
    task_queue = f"reviewers-{uuid.uuid4()}"
    bob = ReviewerIdentity(subject="bob", groups=("engineers",), issuer="test-idp")
    async with reviewer_worker(client, task_queue):
        handle, review = await paused(client, task_queue)
        with pytest.raises(ReviewRefused) as raised:
            await resolve_review(
                client, handle.id, review.review_id, approve=True, reviewer=bob, signer=signer
            )
        assert raised.value.kind == "ReviewerDenied"
        assert raised.value.reasons == ("bob is not in the approvers group",)
        assert "bob may not approve this review: bob is not in the approvers group" in str(
            raised.value
        )
        assert [r.review_id for r in await pending_reviews(handle)] == [review.review_id]

        outcome = await resolve_review(
            client,
            handle.id,
            review.review_id,
            approve=True,
            reviewer=CAROL,
            comment="within the site's limit",
            signer=signer,
        )
        assert outcome.reviewer_decision_id is not None
        assert (await handle.result()).startswith("routed")

    history = await handle.fetch_history()
    entries = audit_report(history).entries
    reviewer_decisions = [
        e for e in entries if isinstance(e, DecisionRecorded) and e.decision.policy == REVIEWERS
    ]
    assert [d.decision.allow for d in reviewer_decisions] == [False, True]
    denied, allowed = reviewer_decisions
    assert denied.decision.input["reviewer"] == {**bob.model_dump(mode="json"), "verified": True}
    assert denied.decision.input["action"] == "approve"
    review_input = allowed.decision.input["review"]
    assert isinstance(review_input, dict)
    assert (review_input["review_id"], review_input["requester"]) == (review.review_id, "alice")
    assert review_input["bundle_revision"] == EmbeddedEngine(POLICY_BUNDLE).bundle.revision
    [attempt] = [e for e in entries if isinstance(e, ReviewAttemptRefused)]
    assert attempt.review_id == review.review_id
    assert "not in the approvers group" in attempt.refusal
    assert denied.event_id < attempt.event_id < allowed.event_id
    [resolved] = [e for e in entries if isinstance(e, ReviewResolved)]
    assert resolved.outcome.reviewer_decision_id == allowed.decision.decision_id
    assert governance_violations(history, GOVERNED) == []

    # The reviewer policy's decisions are steps of the run: a worker replays them only when it
    # is configured to ask one (which policy does not matter: the answers come from history).
    await assert_replays([history], WORKFLOWS, plugin=AgentoPlugin(reviewer_policy=REVIEWERS))
    with pytest.raises(NondeterminismError):
        await assert_replays([history], WORKFLOWS)

    # A worker that let a denied reviewer through would have written this: the checker says so.
    denied_id = denied.decision.decision_id
    forged = await doctored(
        history, lambda o: o.model_copy(update={"reviewer_decision_id": denied_id})
    )
    assert governance_violations(forged, GOVERNED) == [
        f"event {resolved.event_id}: review {review.review_id} was resolved by "
        f"carol@example.com citing reviewer decision {denied_id}, which is not a recorded "
        "allow before it"
    ]


async def test_two_allowed_approvals_at_once_accept_exactly_one(
    agento_dev_server: WorkflowEnvironment,
    signer: ResolutionSigner,
    keys: dict[str, VerificationKey],
) -> None:
    """The handler now awaits the reviewer policy's decision; both updates pass the validator,
    and the board still accepts only the first."""
    client = governed_client(
        agento_dev_server,
        EmbeddedEngine(POLICY_BUNDLE),
        review_keys=keys,
        reviewer_policy=REVIEWERS,
    )
    task_queue = f"reviewers-race-{uuid.uuid4()}"
    dave = ReviewerIdentity(subject="dave", groups=("approvers",))
    async with reviewer_worker(client, task_queue):
        runs = [await paused(client, task_queue) for _ in range(8)]

        async def attempt(
            handle: WorkflowHandle[Any, Any], review: PendingReview, who: ReviewerIdentity
        ) -> ReviewOutcome | ReviewRefused:
            try:
                return await resolve_review(
                    client, handle.id, review.review_id, approve=True, reviewer=who, signer=signer
                )
            except ReviewRefused as e:
                return e

        for handle, review in runs:
            first, second = await asyncio.gather(
                attempt(handle, review, CAROL), attempt(handle, review, dave)
            )
            outcomes = [r for r in (first, second) if isinstance(r, ReviewOutcome)]
            refusals = [r for r in (first, second) if isinstance(r, ReviewRefused)]
            assert len(outcomes) == 1, (first, second)
            assert refusals[0].kind == "ReviewNotPending", refusals[0]
            await handle.result()
            history = await handle.fetch_history()
            resolved = [e for e in audit_report(history).entries if isinstance(e, ReviewResolved)]
            assert len(resolved) == 1
            assert governance_violations(history, GOVERNED) == []


async def test_the_reviewer_policy_engine_down_resolves_nothing_and_says_try_again(
    agento_dev_server: WorkflowEnvironment,
    signer: ResolutionSigner,
    keys: dict[str, VerificationKey],
) -> None:
    outage = OutageEngine(EmbeddedEngine(POLICY_BUNDLE), failures=0)
    client = governed_client(
        agento_dev_server,
        outage,
        review_keys=keys,
        reviewer_policy=REVIEWERS,
        decision_attempts=1,
    )
    task_queue = f"reviewers-down-{uuid.uuid4()}"
    async with reviewer_worker(client, task_queue):
        handle, review = await paused(client, task_queue)
        outage.failures = outage.asked + 1  # the engine is down for the next decision
        with pytest.raises(ReviewRefused) as raised:
            await resolve_review(
                client, handle.id, review.review_id, approve=True, reviewer=CAROL, signer=signer
            )
        assert raised.value.kind == "ReviewerUndecided"
        assert "policy engine unavailable" in raised.value.reason
        assert "nothing was resolved: try again" in raised.value.reason
        assert [r.review_id for r in await pending_reviews(handle)] == [review.review_id]
        outcome = await resolve_review(
            client, handle.id, review.review_id, approve=True, reviewer=CAROL, signer=signer
        )
        assert outcome.reviewer_decision_id is not None
        assert (await handle.result()).startswith("routed")
    history = await handle.fetch_history()
    entries = audit_report(history).entries
    [failed] = [e for e in entries if isinstance(e, DecisionFailed)]
    assert failed.step_id == f"{review.review_id}-reviewer-1"
    [refused] = [e for e in entries if isinstance(e, ReviewAttemptRefused)]
    assert refused.refusal.startswith("ReviewerUndecided: ")
    assert governance_violations(history, GOVERNED) == []


async def test_a_reviewer_policy_without_review_keys_is_warned_about(
    agento_time_skipping_env: WorkflowEnvironment,
) -> None:
    client = governed_client(
        agento_time_skipping_env, EmbeddedEngine(POLICY_BUNDLE), reviewer_policy=REVIEWERS
    )
    with pytest.warns(RuntimeWarning, match="set without review_keys: it decides on identities"):
        governed_worker(client, "never")


def test_a_worker_refuses_a_reviewer_policy_the_engine_does_not_define(
    agento_time_skipping_env: WorkflowEnvironment,
) -> None:
    client = governed_client(
        agento_time_skipping_env,
        EmbeddedEngine(POLICY_BUNDLE),
        reviewer_policy="agento/tests/nobody",
    )
    with pytest.raises(ValueError, match="reviewer_policy 'agento/tests/nobody' is not defined"):
        governed_worker(client, "never")


async def test_a_signed_resolution_to_a_worker_without_keys_is_kept_for_the_auditor(
    agento_dev_server: WorkflowEnvironment,
    signer: ResolutionSigner,
    tmp_path: Path,
    public_key_file: Path,
) -> None:
    """Workers not given keys yet (the service rolled out first) accept it unverified, and say
    so; its token is in history, so the auditor verifies it later."""
    client = governed_client(agento_dev_server, EmbeddedEngine(POLICY_BUNDLE))
    task_queue = f"unverified-{uuid.uuid4()}"
    async with governed_worker(client, task_queue):
        handle, review = await paused(client, task_queue)
        outcome = await resolve_review(
            client, handle.id, review.review_id, approve=True, reviewer=CAROL, signer=signer
        )
        assert outcome.signature is not None
        assert (outcome.signing_key_id, outcome.identity) == (None, CAROL)
        await handle.result()
    history = await handle.fetch_history()
    assert "[signed, not verified by the worker]" in render(audit_report(history))
    exported = tmp_path / "history.json"
    exported.write_text(json.dumps(history.to_json_dict()))
    checked = agento(
        "audit", "--history", str(exported), "--verify", "--review-key",
        f"review-service={public_key_file}",
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout
    assert f"{review.review_id}: verified with key review-service" in checked.stdout
