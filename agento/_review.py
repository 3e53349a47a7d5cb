"""Human review of a paused activity: what is pending, how a reviewer resolves it, and the
workflow-side board that keeps exactly one resolution per review."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime, timedelta

import pydantic
from pydantic import JsonValue
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from agento._errors import ReviewTimedOut
from agento._observability import metrics
from agento._observability.tracing import workflow_span
from agento._visibility import PENDING_REVIEWS, entry

PENDING_REVIEWS_QUERY = "agento.pending_reviews"
RESOLVE_REVIEW_UPDATE = "agento.resolve_review"


class ReviewReason(enum.StrEnum):
    """Why an activity paused."""

    POLICY_DENIED = "policy_denied"
    """The policy denied it, and said (or left by default) that a review may resolve it."""
    ENGINE_UNAVAILABLE = "engine_unavailable"
    """The policy engine could not be asked within the retry bound. Approving asks again."""
    OUTCOME_UNKNOWN = "outcome_unknown"
    """A NON_IDEMPOTENT activity timed out: it may or may not have acted. Approving (after
    checking the external system) runs it once more with the same idempotency key."""


class PendingReview(pydantic.BaseModel):
    """A paused activity waiting for a reviewer (the ``agento.pending_reviews`` query)."""

    model_config = pydantic.ConfigDict(frozen=True)

    review_id: str
    activity: str
    reason: ReviewReason
    reasons: tuple[str, ...]
    request: dict[str, JsonValue] | None
    decision_id: str | None
    requester: str | None
    since: datetime
    opened_by: str | None = None
    """The step that opened it: the decision step's activity id (``policy_denied``,
    ``engine_unavailable``) or the timed-out activity's (``outcome_unknown``)."""


class ResolveReview(pydantic.BaseModel):
    """The ``agento.resolve_review`` update's payload."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    review_id: str
    approve: pydantic.StrictBool
    """JSON ``true`` or ``false``: ``"yes"`` or ``1`` is not an approval."""
    reviewer: str = pydantic.Field(min_length=1)
    comment: str = ""


class ReviewOutcome(pydantic.BaseModel):
    """The recorded resolution: the update's result, and so part of the history. It repeats
    why the review existed, so the history alone tells an auditor what was approved."""

    model_config = pydantic.ConfigDict(frozen=True)

    review_id: str
    activity: str
    approved: bool
    reviewer: str
    comment: str
    resolved_at: datetime
    reason: ReviewReason | None = None
    reasons: tuple[str, ...] = ()
    decision_id: str | None = None
    requester: str | None = None
    opened_by: str | None = None


class ReviewBoard:
    """One run's reviews. A review leaves ``pending`` the moment a resolution is accepted, so
    a second resolution of it, even one delivered in the same workflow activation, is refused."""

    def __init__(self) -> None:
        self.pending: dict[str, PendingReview] = {}
        self.outcomes: dict[str, ReviewOutcome] = {}
        self.listed: bool | None = None
        """Whether this run keeps its reviews in the search attribute (`settle_listing`)."""

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
            self.listed = workflow.patched("agento-review-search-attribute")

    def _publish(self) -> None:
        """Keep the run's ``AgentoPendingReviews`` search attribute equal to ``pending``, so
        that visibility lists it with no worker running."""
        self.settle_listing()
        if not self.listed:
            return
        entries = [
            entry(r.review_id, r.activity, str(r.reason), r.since, "; ".join(r.reasons))
            for r in self.pending.values()
        ]
        update = PENDING_REVIEWS.value_set(entries) if entries else PENDING_REVIEWS.value_unset()
        workflow.upsert_search_attributes([update])

    def validate(self, *payload: object) -> None:
        """The update validator: a refusal here writes nothing to history."""
        self._pending_for(resolution_of(payload))

    def resolve(self, *payload: object) -> ReviewOutcome:
        """The update handler: checks again (replay runs no validator, and a handler must never
        overwrite an accepted outcome), then records the outcome the paused call resumes with."""
        resolution = resolution_of(payload)
        pending = self._pending_for(resolution)
        del self.pending[resolution.review_id]
        outcome = ReviewOutcome(
            review_id=resolution.review_id,
            activity=pending.activity,
            approved=resolution.approve,
            reviewer=resolution.reviewer,
            comment=resolution.comment,
            resolved_at=workflow.now(),
            reason=pending.reason,
            reasons=pending.reasons,
            decision_id=pending.decision_id,
            requester=pending.requester,
            opened_by=pending.opened_by,
        )
        self.outcomes[resolution.review_id] = outcome
        return outcome

    def _pending_for(self, resolution: ResolveReview) -> PendingReview:
        review_id = resolution.review_id
        pending = self.pending.get(review_id)
        if pending is None:
            state = "already resolved" if review_id in self.outcomes else "not pending"
            raise _refused(f"review {review_id!r} is {state} in this workflow")
        if pending.requester is not None and same_identity(resolution.reviewer, pending.requester):
            raise _refused(f"{resolution.reviewer} requested this run and may not review it")
        return pending


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


def _refused(message: str) -> ApplicationError:
    # Refused by the validator, nothing is written; past it (replay runs no validator), an
    # ApplicationError fails only the update, where any other error would fail the task.
    return ApplicationError(message, type="ReviewRefused", non_retryable=True)


def same_identity(a: str, b: str) -> bool:
    """Whether two reviewer or requester names denote one person: case and surrounding blanks
    do not make a second identity."""
    return a.strip().casefold() == b.strip().casefold()
