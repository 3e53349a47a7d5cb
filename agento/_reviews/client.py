"""Client-side review helpers: what an approval webhook or an engineer's review tool calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from agento._decision.protocol import PENDING_REVIEWS_QUERY, RESOLVE_REVIEW_UPDATE
from agento._errors import ReviewRefused
from agento._reviews.models import PendingReview, ResolveReview, ReviewOutcome
from agento._reviews.resolution import ResolutionSigner, ResolutionStatement, ReviewerIdentity


async def pending_reviews(client: Client, workflow_id: str) -> list[PendingReview]:
    """The reviews a governed workflow is waiting on."""
    handle = client.get_workflow_handle(workflow_id)
    reviews: list[PendingReview] = await handle.query(
        PENDING_REVIEWS_QUERY, result_type=list[PendingReview]
    )
    return reviews


async def pending_review(client: Client, workflow_id: str, review_id: str) -> PendingReview | None:
    """One review a governed workflow is waiting on, or ``None`` when it is not pending."""
    reviews = await pending_reviews(client, workflow_id)
    return next((r for r in reviews if r.review_id == review_id), None)


COMMENT_REQUIRED = "a comment is required: say why (it is recorded in the audit trail)"
"""Approving or rejecting needs a comment: one rule for the review service and the CLI."""


async def unanswered_task_queue(client: Client, workflow_id: str) -> str | None:
    """The task queue of ``workflow_id`` when no worker has polled it lately, so that neither a
    query nor a resolution would be answered now; ``None`` when one has, or when Temporal
    cannot say (then asking the run is the only way to know)."""
    try:
        task_queue = (await client.get_workflow_handle(workflow_id).describe()).task_queue
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
    except RPCError:
        return None
    lately = datetime.now(UTC) - _POLL_SILENCE
    polled = [p.last_access_time.ToDatetime(tzinfo=UTC) for p in described.pollers]
    return None if any(at > lately for at in polled) else task_queue


_POLL_SILENCE = timedelta(seconds=90)
"""A live worker's long poll lasts up to about 70 s: longer without one means none is up."""


async def resolve_review(
    client: Client,
    workflow_id: str,
    review_id: str,
    *,
    approve: bool,
    reviewer: str | ReviewerIdentity,
    comment: str = "",
    signer: ResolutionSigner | None = None,
) -> ReviewOutcome:
    """Approve or reject a pending review; the outcome is recorded in the workflow's history.

    With ``signer``, the resolution is signed for ``reviewer`` (as the review service signs it)
    after asking the run which decision the review is of; workers given ``review_keys`` accept
    nothing else.

    Raises `agento.ReviewRefused` (with the workflow's reason, and ``kind`` telling the cases
    apart) when the workflow refuses it: an unknown or already resolved review, a reviewer who
    requested the run or whom the reviewer policy denies, an unsigned or forged resolution.
    """
    identity = reviewer if isinstance(reviewer, ReviewerIdentity) else None
    name = str(reviewer)
    signature = None
    if signer is not None:
        identity = identity or ReviewerIdentity(subject=name, issuer="cli")
        review = await pending_review(client, workflow_id, review_id)
        if review is None:
            raise ReviewRefused(
                workflow_id, review_id, "no such pending review", kind="ReviewNotPending"
            )
        signature = signer.sign(
            ResolutionStatement(
                workflow_id=workflow_id,
                review_id=review_id,
                decision_id=review.decision_id,
                approve=approve,
                comment=comment,
                reviewer=identity,
            )
        )
    resolution = ResolveReview(
        review_id=review_id,
        approve=approve,
        reviewer=identity.subject if identity else name,
        comment=comment,
        signature=signature,
    )
    handle = client.get_workflow_handle(workflow_id)
    try:
        outcome: ReviewOutcome = await handle.execute_update(
            RESOLVE_REVIEW_UPDATE, resolution, result_type=ReviewOutcome
        )
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        if not isinstance(cause, ApplicationError):
            raise ReviewRefused(workflow_id, review_id, str(cause)) from e
        details = cause.details[0] if cause.details else ()
        reasons = tuple(map(str, details)) if isinstance(details, list) else ()
        kind = cause.type or "ReviewRefused"
        raise ReviewRefused(
            workflow_id, review_id, cause.message, kind=kind, reasons=reasons
        ) from e
    return outcome
