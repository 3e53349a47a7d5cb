"""What a review is, as every side sees it: why a run paused (`ReviewReason`), the pending
review the query answers (`PendingReview`), the update's payload (`ResolveReview`) and the
recorded resolution (`ReviewOutcome`)."""

from __future__ import annotations

import enum
from datetime import datetime

import pydantic
from pydantic import JsonValue

from agento._reviews.resolution import ReviewerIdentity


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
    bundle_revision: str | None = None
    """The bundle revision of the decision that denied, when one did."""
    until: datetime | None = None
    """When the review times out and the run fails with `agento.ReviewTimedOut`."""


class ResolveReview(pydantic.BaseModel):
    """The ``agento.resolve_review`` update's payload."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    review_id: str
    approve: pydantic.StrictBool
    """JSON ``true`` or ``false``: ``"yes"`` or ``1`` is not an approval."""
    reviewer: str = pydantic.Field(min_length=1)
    comment: str = ""
    signature: str | None = None
    """The review service's token (`agento.sign_resolution`) binding all of the above to a
    verified identity; required when the workers are given review keys."""


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
    identity: ReviewerIdentity | None = None
    """Who resolved it: from the signed token, or (unsigned) only the name the client gave."""
    signature: str | None = None
    """The resolution's token as received, so that it can be re-verified from history alone."""
    signing_key_id: str | None = None
    """The trusted key the worker verified ``signature`` with; ``None`` when it checked none."""
    reviewer_decision_id: str | None = None
    """The reviewer policy's decision that let this reviewer resolve it, when one is set."""
    requester_check: str | None = None
    """How the reviewer was told apart from the requester: ``"uts39-skeleton"`` (Unicode
    normalisation, case, invisible characters, TS #39 look-alikes), ``"casefold"`` (case and
    blanks only, before it), ``None`` when the run named no requester."""

    @property
    def signed(self) -> str:
        """What vouches for the resolution, in the audit report's words: ``signed, key K``
        (verified by the worker), ``signed, not verified by the worker`` (it has no review
        keys), or ``unsigned``."""
        if self.signing_key_id:
            return f"signed, key {self.signing_key_id}"
        return "signed, not verified by the worker" if self.signature else "unsigned"
