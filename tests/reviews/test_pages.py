"""The review service's pages as an engineer meets them, against a dev server: a run whose worker
is down, a form sent without a comment, what an approval page says about its signature."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from agento import EmbeddedEngine, PendingReview, ResolutionSigner
from agento._reviews.visibility import listed_reviews
from agento.review import DevUserAuth, review_app
from agento.testing import governed_client
from tests.support.engines import POLICY_BUNDLE
from tests.support.keys import es256_key_pair
from tests.support.reviews import paused
from tests.support.runs import governed_worker

SIGNER = ResolutionSigner(key=es256_key_pair()[0], key_id="review-service")


@pytest.fixture
def client(agento_dev_server: WorkflowEnvironment) -> Client:
    """Workers without review keys: they accept the service's signed resolutions unverified."""
    return governed_client(agento_dev_server, EmbeddedEngine(POLICY_BUNDLE))


def browser(client: Client, *, wait_seconds: float = 20) -> httpx.AsyncClient:
    app = review_app(client, auth=DevUserAuth("carol"), signer=SIGNER, wait_seconds=wait_seconds)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://reviews.test")


async def listed(client: Client, handle: WorkflowHandle[Any, Any]) -> None:
    for _ in range(100):  # visibility is eventually consistent
        if await listed_reviews(client, f'WorkflowId = "{handle.id}"'):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the review never reached visibility")


def form_of(page: str, review: PendingReview, handle: WorkflowHandle[Any, Any]) -> dict[str, str]:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None, page
    return {"workflow_id": handle.id, "review_id": review.review_id, "csrf_token": token[1]}


async def test_a_review_whose_worker_is_down_is_shown_from_visibility_naming_the_queue(
    client: Client,
) -> None:
    task_queue = f"pages-{uuid.uuid4()}"
    async with governed_worker(client, task_queue):
        handle, review = await paused(client, task_queue)
        await listed(client, handle)
    async with browser(client, wait_seconds=2) as engineer:
        page = await engineer.get(
            "/review", params={"workflow_id": handle.id, "review_id": review.review_id}
        )
    assert page.status_code == 200, page.text
    assert "Refused" not in page.text
    assert f"no worker on task queue {task_queue!r} answered for {handle.id}" in page.text.replace(
        "&#x27;", "'"
    )
    assert f"need a worker on task queue {task_queue}" in page.text
    assert "<dd>route</dd>" in page.text
    assert "amount over the limit of 100" in page.text
    assert 'name="action"' not in page.text, "no form: nothing could take the resolution"
    await handle.terminate()


async def test_an_empty_comment_keeps_the_form_and_the_text(client: Client) -> None:
    task_queue = f"pages-{uuid.uuid4()}"
    async with governed_worker(client, task_queue), browser(client) as engineer:
        handle, review = await paused(client, task_queue)
        params = {"workflow_id": handle.id, "review_id": review.review_id}
        page = await engineer.get("/review", params=params)
        form = form_of(page.text, review, handle) | {"action": "approve", "comment": "   "}
        again = await engineer.post("/review", data=form)
        assert again.status_code == 422
        assert "a comment is required: say why" in again.text
        assert 'name="action" value="approve"' in again.text, "the form is still there"
        assert '<textarea id="comment" name="comment" required>   </textarea>' in again.text
        form = form_of(again.text, review, handle) | {"action": "approve", "comment": "checked"}
        approved = await engineer.post("/review", data=form)
        assert approved.status_code == 200, approved.text
        assert "signed, not verified by the worker" in approved.text
        assert "key -" not in approved.text
        await handle.result()


async def test_the_review_page_puts_the_decision_before_the_details(client: Client) -> None:
    task_queue = f"pages-{uuid.uuid4()}"
    async with governed_worker(client, task_queue), browser(client) as engineer:
        handle, review = await paused(client, task_queue)
        page = await engineer.get(
            "/review", params={"workflow_id": handle.id, "review_id": review.review_id}
        )
        text = page.text
        assert text.index('value="approve"') < text.index("Bundle revision")
        assert text.index('value="approve"') < text.index(review.review_id + "</dd>")
        assert text.index("amount over the limit of 100") < text.index('value="approve"')
        queue = await engineer.get("/")
        assert 'data-label="Reason"' in queue.text, "a phone shows each cell's column"
        await handle.terminate()
