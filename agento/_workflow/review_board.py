"""The workflow-side review board: it keeps exactly one resolution per review of a paused
activity, checks who resolved it (a signed resolution) and asks the reviewer policy whether
they may."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import pydantic
from pydantic import JsonValue
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from agento._decision import protocol
from agento._decision.protocol import DecisionRequest
from agento._errors import GovernanceError, ReviewTimedOut
from agento._identity import COMPARISON
from agento._observability import metrics
from agento._observability.tracing import workflow_span
from agento._reviews.models import (
    PendingReview,
    ResolveReview,
    ReviewOutcome,
    ReviewReason,
)
from agento._reviews.resolution import (
    ResolutionRefused,
    ResolutionStatement,
    ReviewerIdentity,
    ReviewKeys,
    read_resolution,
    verify_resolution,
)
from agento._reviews.visibility import PENDING_REVIEWS, entry
from agento._workflow.decision_step import DecisionSettings, Unavailable, ask


@dataclass(frozen=True)
class ReviewSettings:
    """Who may resolve reviews: set once on `agento.AgentoPlugin`."""

    keys: ReviewKeys | None = None
    """Public keys resolutions must be signed with; ``None`` accepts unsigned resolutions."""
    policy: str | None = None
    """The reviewer policy's path; ``None`` keeps the built-in rule (not the requester)."""


class ReviewBoard:
    """One run's reviews. A review leaves ``pending`` the moment a resolution is accepted, so
    a second resolution of it, even one delivered in the same workflow activation, is refused.
    Resolutions are handled one at a time: a handler that awaits the reviewer policy holds the
    board, and the next one finds the review already resolved."""

    def __init__(self, settings: ReviewSettings, decisions: DecisionSettings) -> None:
        self.settings = settings
        self.decisions = decisions
        self.pending: dict[str, PendingReview] = {}
        self.outcomes: dict[str, ReviewOutcome] = {}
        self.listed: bool | None = None
        """Whether this run keeps its reviews in the search attribute (`settle_listing`)."""
        self._resolving = asyncio.Lock()
        self._asked: dict[str, int] = {}

    async def wait(
        self,
        *,
        review_id: str,
        activity: str,
        reason: ReviewReason,
        reasons: Sequence[str],
        request: dict[str, JsonValue] | None,
        decision_id: str | None,
        requester: str | None,
        opened_by: str | None,
        timeout: timedelta,
        bundle_revision: str | None = None,
    ) -> ReviewOutcome:
        """Open a review and pause until a reviewer resolves it (an update, so in history)."""
        since = workflow.now()
        self.pending[review_id] = PendingReview(
            review_id=review_id,
            activity=activity,
            reason=reason,
            reasons=tuple(reasons),
            request=request,
            decision_id=decision_id,
            requester=requester,
            since=since,
            opened_by=opened_by,
            bundle_revision=bundle_revision,
            until=since + timeout,
        )
        metrics.review_opened(reason)
        self._publish()
        try:
            await workflow.wait_condition(lambda: review_id in self.outcomes, timeout=timeout)
        except TimeoutError:
            self._close(review_id)
            _closed(review_id, reason, "timed_out", timeout)
            raise ReviewTimedOut(
                activity, review_id, f"{timeout.total_seconds() / 3600:g} hours"
            ) from None
        except BaseException:
            # Cancelled, or evicted: an evicted run's coroutine is closed outside the workflow's
            # event loop, where no workflow call (the search attribute's upsert) may be made.
            self.pending.pop(review_id, None)
            raise
        self._close(review_id)
        outcome = self.outcomes[review_id]
        verdict = "approved" if outcome.approved else "rejected"
        _closed(review_id, reason, verdict, outcome.resolved_at - since, outcome.reviewer)
        return outcome

    def _close(self, review_id: str) -> None:
        self.pending.pop(review_id, None)
        self._publish()

    def settle_listing(self) -> None:
        """Decide once per run whether this run lists its reviews in the search attribute.
        Behind a patch, so that runs recorded before it replay without the upserts they never
        made. Called before the run's first decision is asked: a patch decided right after a
        local activity's result can replay in another workflow task than it ran in (when the
        activity's marker was recorded by an earlier task completion) and fail as
        nondeterministic."""
        if self.listed is None:
            self.listed = workflow.patched(protocol.REVIEW_SEARCH_ATTRIBUTE_PATCH)

    def _publish(self) -> None:
        """Keep the run's ``AgentoPendingReviews`` search attribute equal to ``pending``, so
        that visibility lists it with no worker running."""
        self.settle_listing()
        if not self.listed:
            return
        entries = [
            entry(r.review_id, r.activity, str(r.reason), r.since, r.reasons, r.until)
            for r in self.pending.values()
        ]
        update = PENDING_REVIEWS.value_set(entries) if entries else PENDING_REVIEWS.value_unset()
        workflow.upsert_search_attributes([update])

    def validate(self, *payload: object) -> None:
        """The update validator: a refusal here writes nothing to history. The only place a
        signature is verified: past it, the token is read as accepted (keys rotated since must
        not change how a recorded resolution replays)."""
        resolution = resolution_of(payload)
        pending = self._pending_for(resolution)
        identity, _ = self._identity(resolution, pending, verify=True)
        _not_the_requester(identity, pending, strict=True)

    async def resolve(self, *payload: object) -> ReviewOutcome:
        """The update handler: checks again (replay runs no validator, and a handler must never
        overwrite an accepted outcome), asks the reviewer policy, then records the outcome the
        paused call resumes with."""
        resolution = resolution_of(payload)
        async with self._resolving:
            pending = self._pending_for(resolution)
            identity, key_id = self._identity(resolution, pending, verify=False)
            strict = self._checks_look_alikes(pending.review_id)
            requester_check = _not_the_requester(identity, pending, strict=strict)
            allowed_by = await self._authorize_reviewer(
                resolution, pending, identity, verified=key_id is not None
            )
            pending = self._pending_for(resolution)  # it may have timed out meanwhile
            del self.pending[resolution.review_id]
            outcome = ReviewOutcome(
                review_id=resolution.review_id,
                activity=pending.activity,
                approved=resolution.approve,
                reviewer=str(identity),
                comment=resolution.comment,
                resolved_at=workflow.now(),
                reason=pending.reason,
                reasons=pending.reasons,
                decision_id=pending.decision_id,
                requester=pending.requester,
                opened_by=pending.opened_by,
                identity=identity,
                signature=resolution.signature,
                signing_key_id=key_id,
                reviewer_decision_id=allowed_by,
                requester_check=requester_check,
            )
            self.outcomes[resolution.review_id] = outcome
            return outcome

    def _checks_look_alikes(self, review_id: str) -> bool:
        """Whether the handler compares the requester as identity systems do; behind a patch
        per review, so that resolutions accepted under the casefold comparison replay."""
        return workflow.patched(protocol.requester_check_patch(review_id))

    def _pending_for(self, resolution: ResolveReview) -> PendingReview:
        review_id = resolution.review_id
        pending = self.pending.get(review_id)
        if pending is None:
            state = "already resolved" if review_id in self.outcomes else "not pending"
            raise _refused(f"review {review_id!r} is {state} in this workflow", "ReviewNotPending")
        return pending

    def _identity(
        self, resolution: ResolveReview, pending: PendingReview, *, verify: bool
    ) -> tuple[ReviewerIdentity, str | None]:
        """The reviewer and the trusted key that vouched for them (``None`` when unsigned).
        Refuses a resolution whose signature is missing, forged or expired, or that says
        something its token does not."""
        keys = self.settings.keys
        token = resolution.signature
        if token is None:
            if keys:
                raise _refused(
                    "this worker accepts only signed resolutions (it is given review keys): "
                    "resolve through the review service, or sign with `agento review approve "
                    "--signing-key FILE`"
                )
            identity, key_id = ReviewerIdentity(subject=resolution.reviewer), None
        else:
            try:
                claims = (
                    verify_resolution(token, keys, now=workflow.now())
                    if verify and keys
                    else read_resolution(token)
                )
            except ResolutionRefused as e:
                raise _refused(str(e)) from None
            stated = ResolutionStatement(
                workflow_id=workflow.info().workflow_id,
                review_id=resolution.review_id,
                decision_id=pending.decision_id,
                approve=resolution.approve,
                comment=resolution.comment,
                reviewer=claims.reviewer,
            )
            if differences := claims.differences(stated):
                what, signed, here = differences[0]
                raise _refused(
                    f"the signed resolution is for another {what} ({signed!r}, not {here!r}): "
                    "sign this resolution"
                )
            identity, key_id = claims.reviewer, (claims.key_id if keys else None)
        return identity, key_id

    async def _authorize_reviewer(
        self,
        resolution: ResolveReview,
        pending: PendingReview,
        identity: ReviewerIdentity,
        *,
        verified: bool,
    ) -> str | None:
        """Ask the reviewer policy, through the recorded decision step, whether ``identity``
        (``verified`` by a trusted signature, or not) may resolve ``pending`` so; the decision
        id when allowed, ``None`` when no policy."""
        policy = self.settings.policy
        if policy is None or not workflow.patched(
            protocol.reviewer_policy_patch(pending.review_id)
        ):
            return None  # per review, so that reviews resolved before a policy was set replay
        attempt = self._asked[pending.review_id] = self._asked.get(pending.review_id, 0) + 1
        info = workflow.info()
        document: dict[str, JsonValue] = {
            "action": "approve" if resolution.approve else "reject",
            "reviewer": {**identity.model_dump(mode="json"), "verified": verified},
            "review": {
                **pending.model_dump(mode="json"),
                "workflow_id": info.workflow_id,
                "comment": resolution.comment,
            },
            "agento": {
                "workflow_id": info.workflow_id,
                "run_id": info.run_id,
                "workflow_type": info.workflow_type,
                "namespace": info.namespace,
                "activity": pending.activity,
                "requester": pending.requester,
            },
        }
        step_id = protocol.reviewer_step_id(pending.review_id, attempt)
        try:
            decision = await ask(
                DecisionRequest(policy=policy, input=document), step_id, self.decisions
            )
        except GovernanceError as e:
            raise _refused(f"the reviewer policy cannot be asked: {e.message}") from None
        if isinstance(decision, Unavailable):
            raise _refused(
                f"{decision.reason}; nothing was resolved: try again", "ReviewerUndecided"
            )
        if not decision.allow:
            raise _refused(
                f"{identity} may not {document['action']} this review: "
                f"{'; '.join(decision.reasons)}",
                "ReviewerDenied",
                list(decision.reasons),
            )
        return decision.decision_id


def _not_the_requester(
    identity: ReviewerIdentity, pending: PendingReview, *, strict: bool
) -> str | None:
    """Refuse the run's requester as its reviewer; the comparison made (`requester_check`).
    ``strict`` compares as identity systems do (`ReviewerIdentity.passes_for`), else as
    resolutions recorded before it were compared."""
    requester = pending.requester
    if requester is None:
        return None
    if identity.is_(requester):
        raise _refused(f"{identity} requested this run and may not review it")
    if not strict:
        return "casefold"
    if identity.passes_for(requester):
        raise _refused(
            f"{identity!s} can be taken for {requester!r}, who requested this run (compared "
            "after Unicode normalisation, case folding, removing invisible characters, and "
            "by Unicode TS #39 look-alikes): the requester may not review it"
        )
    return COMPARISON


def resolution_of(payload: Sequence[object]) -> ResolveReview:
    """The update's argument as a `ResolveReview`. The handlers take whatever arrived (decoded as
    plain JSON) so that a malformed update from any client is refused with what is wrong, where
    the SDK's own decoding would only say that it failed."""
    if len(payload) != 1:
        raise _refused(
            f"a review update carries exactly one resolution, not {len(payload)}: "
            f"{_RESOLUTION_SHAPE}"
        )
    try:
        return ResolveReview.model_validate(payload[0])
    except pydantic.ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'the resolution'}: {error['msg']}"
            for error in e.errors()
        )
        raise _refused(f"the resolution is not valid ({problems}): {_RESOLUTION_SHAPE}") from None


_RESOLUTION_SHAPE = (
    'send {"review_id": ..., "approve": true or false, "reviewer": "who", "comment": "why"}'
)


def _closed(
    review_id: str, reason: ReviewReason, outcome: str, waited: timedelta, reviewer: str = ""
) -> None:
    """Count a closed review and trace it (replay-safe: neither records during replay)."""
    metrics.review_resolved(reason, outcome, waited)
    workflow_span(
        "agento.review",
        {
            "agento.review_id": review_id,
            "agento.reason": str(reason),
            "agento.outcome": outcome,
            "agento.reviewer": reviewer,
            "agento.waited_s": waited.total_seconds(),
        },
    )


def _refused(message: str, kind: str = "ReviewRefused", *details: object) -> ApplicationError:
    # Refused by the validator, nothing is written; past it (replay runs no validator), an
    # ApplicationError fails only the update, where any other error would fail the task.
    return ApplicationError(message, *details, type=kind, non_retryable=True)
