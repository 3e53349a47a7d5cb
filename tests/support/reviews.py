"""Runs paused for review and their resolutions: waiting for a pending review, a route run paused
on one, signed resolutions of it and the refusals they meet, and the review service's key."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from agento import (
    PendingReview,
    ResolutionSigner,
    ResolutionStatement,
    ResolveReview,
    ReviewerIdentity,
    ReviewOutcome,
    sign_resolution,
)
from tests.support.governed_activities import Transfer
from tests.support.governed_workflows import RouteWorkflow
from tests.support.keys import es256_key_pair

PENDING = "agento.pending_reviews"
RESOLVE = "agento.resolve_review"
CAROL = ReviewerIdentity(
    subject="carol", email="carol@example.com", groups=("approvers",), issuer="test-idp"
)


@pytest.fixture(scope="module")
def service_key() -> tuple[str, str]:
    """(private PEM, public PEM) of the review service's signing key."""
    return es256_key_pair()


@pytest.fixture
def signer(service_key: tuple[str, str]) -> ResolutionSigner:
    return ResolutionSigner(key=service_key[0], key_id="review-service")


async def pending_reviews(handle: WorkflowHandle[Any, Any]) -> list[PendingReview]:
    for _ in range(200):
        pending: list[PendingReview] = await handle.query(PENDING, result_type=list[PendingReview])
        if pending:
            return pending
        await asyncio.sleep(0.05)
    raise AssertionError("no review became pending")


async def paused(
    client: Client, task_queue: str, project_id: str = "p"
) -> tuple[WorkflowHandle[Any, str], PendingReview]:
    """A route run that alice requested, paused on its one review (the amount is over 100)."""
    handle = await client.start_workflow(
        RouteWorkflow.run,
        Transfer(project_id=project_id, amount=150),
        id=f"paused-{uuid.uuid4()}",
        task_queue=task_queue,
    )
    [review] = await pending_reviews(handle)
    return handle, review


def token(
    signer: ResolutionSigner,
    handle: WorkflowHandle[Any, Any],
    review: PendingReview,
    *,
    approve: bool = True,
    comment: str = "checked",
    reviewer: ReviewerIdentity = CAROL,
    key: str | None = None,
    key_id: str | None = None,
    issued_at: datetime | None = None,
    review_id: str | None = None,
) -> str:
    """A signed resolution of ``review``, by ``signer`` unless ``key`` and ``key_id`` say."""
    statement = ResolutionStatement(
        workflow_id=handle.id,
        review_id=review_id or review.review_id,
        decision_id=review.decision_id,
        approve=approve,
        comment=comment,
        reviewer=reviewer,
    )
    return sign_resolution(
        statement, key=key or signer.key, key_id=key_id or signer.key_id, issued_at=issued_at
    )


async def refusal(handle: WorkflowHandle[Any, Any], resolution: ResolveReview) -> ApplicationError:
    """The error ``resolution`` is refused with."""
    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await handle.execute_update(RESOLVE, resolution, result_type=ReviewOutcome)
    assert isinstance(raised.value.cause, ApplicationError)
    return raised.value.cause
