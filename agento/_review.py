"""Human review of a paused activity: what is pending, and how a reviewer resolves it."""

from __future__ import annotations

import enum
from datetime import datetime

import pydantic
from pydantic import JsonValue

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


class ResolveReview(pydantic.BaseModel):
    """The ``agento.resolve_review`` update's payload."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    review_id: str
    approve: bool
    reviewer: str = pydantic.Field(min_length=1)
    comment: str = ""


class ReviewOutcome(pydantic.BaseModel):
    """The recorded resolution: the update's result, and so part of the history."""

    model_config = pydantic.ConfigDict(frozen=True)

    review_id: str
    activity: str
    approved: bool
    reviewer: str
    comment: str
    resolved_at: datetime
