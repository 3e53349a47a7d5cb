"""Client-side review helpers: what an approval webhook or an engineer's review tool calls."""

from __future__ import annotations

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from agento._errors import ReviewRefused
from agento._review import (
    PENDING_REVIEWS_QUERY,
    RESOLVE_REVIEW_UPDATE,
    PendingReview,
    ResolveReview,
    ReviewOutcome,
)


async def pending_reviews(client: Client, workflow_id: str) -> list[PendingReview]:
    """The reviews a governed workflow is waiting on."""
    handle = client.get_workflow_handle(workflow_id)
    reviews: list[PendingReview] = await handle.query(
        PENDING_REVIEWS_QUERY, result_type=list[PendingReview]
    )
    return reviews


async def resolve_review(
    client: Client,
    workflow_id: str,
    review_id: str,
    *,
    approve: bool,
    reviewer: str,
    comment: str = "",
) -> ReviewOutcome:
    """Approve or reject a pending review; the outcome is recorded in the workflow's history.

    Raises `agento.ReviewRefused` (with the workflow's reason) when the workflow refuses it: an
    unknown or already resolved review, or a reviewer who requested the run.
    """
    handle = client.get_workflow_handle(workflow_id)
    resolution = ResolveReview(
        review_id=review_id, approve=approve, reviewer=reviewer, comment=comment
    )
    try:
        outcome: ReviewOutcome = await handle.execute_update(
            RESOLVE_REVIEW_UPDATE, resolution, result_type=ReviewOutcome
        )
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise ReviewRefused(workflow_id, review_id, reason) from e
    return outcome
