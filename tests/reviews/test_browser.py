"""The engineers' pages in a real browser (Debian's chromium driven by Playwright), against the
review service, a dev server and a worker: open the queue, open a review, approve with a
comment and see the run complete; a reviewer without authority sees the policy's reasons."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Browser, Page, expect
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from agento import EmbeddedEngine, ResolutionSigner, VerificationKey
from agento.review import JwtAuth, review_app
from agento.testing import governed_client
from tests.support.browser import browser as browser  # skips this module without Chromium
from tests.support.engines import POLICY_BUNDLE
from tests.support.keys import AUDIENCE, ISSUER, Idp, es256_key_pair
from tests.support.reviews import paused, pending_reviews
from tests.support.runs import governed_worker


@pytest.fixture
def idp(tmp_path: Path) -> Idp:
    return Idp.create(tmp_path)


@pytest.fixture
async def service(
    agento_dev_server: WorkflowEnvironment, idp: Idp
) -> AsyncIterator[tuple[Client, str, str]]:
    """(client, task queue, the service's URL): a worker trusting the service's key and asking
    the tests' reviewer policy, and the service on a free port."""
    private, public = es256_key_pair()
    client = governed_client(
        agento_dev_server,
        EmbeddedEngine(POLICY_BUNDLE),
        review_keys={"review-service": VerificationKey.from_pem(public)},
        reviewer_policy="agento/tests/reviewers",
    )
    app = review_app(
        client,
        auth=JwtAuth(str(idp.jwks), issuer=ISSUER, audience=AUDIENCE),
        signer=ResolutionSigner(key=private, key_id="review-service"),
        wait_seconds=20,
    )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    task_queue = f"browser-{uuid.uuid4()}"
    try:
        async with governed_worker(client, task_queue):
            while not server.started:
                await asyncio.sleep(0.05)
            yield client, task_queue, f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        await serving


async def signed_in(browser: Browser, token: str, **options: Any) -> Page:
    context = await browser.new_context(
        extra_http_headers={"Authorization": f"Bearer {token}"}, **options
    )
    return await context.new_page()


async def test_an_engineer_approves_in_the_browser_and_the_run_completes(
    browser: Browser, service: tuple[Client, str, str], idp: Idp
) -> None:
    client, task_queue, url = service
    handle, _ = await paused(client, task_queue, project_id="site-7")
    page = await signed_in(browser, idp.token("carol", groups=["approvers"]))
    await page.goto(url)
    await expect(page.get_by_role("heading", name="Pending reviews")).to_be_visible()
    row = page.locator("tr", has_text=handle.id)
    await expect(row).to_contain_text("policy_denied")
    await expect(row).to_contain_text("amount over the limit of 100")
    await row.get_by_role("link", name="route").click()

    await expect(page.get_by_role("heading", name="Review: route")).to_be_visible()
    asked = page.locator("dl").first  # what is asked comes first; identifiers after the form
    await expect(asked).to_contain_text("amount over the limit of 100")
    await expect(asked).to_contain_text("alice")
    await expect(page.locator("pre")).to_contain_text('"project_id": "site-7"')
    await page.get_by_label("Comment").fill("checked the site's limit with the operator")
    await page.get_by_role("button", name="Approve").click()

    await expect(page.get_by_role("status")).to_contain_text("Approved: the run continues")
    await expect(page.get_by_role("status")).to_contain_text("signed, key review-service")
    assert (await asyncio.wait_for(handle.result(), 30)).startswith("routed site-7")


async def test_a_reviewer_without_authority_sees_the_policys_reasons(
    browser: Browser, service: tuple[Client, str, str], idp: Idp
) -> None:
    client, task_queue, url = service
    handle, _ = await paused(client, task_queue)
    page = await signed_in(browser, idp.token("bob", groups=["engineers"]))
    await page.goto(url)
    await page.locator("tr", has_text=handle.id).get_by_role("link").click()
    await page.get_by_label("Comment").fill("looks fine to me")
    await page.get_by_role("button", name="Approve").click()

    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("bob is not in the approvers group")
    [still] = await pending_reviews(handle)
    assert still.reason == "policy_denied", "the review stays pending"


async def test_the_pages_fit_a_phone(
    browser: Browser, service: tuple[Client, str, str], idp: Idp
) -> None:
    client, task_queue, url = service
    handle, _ = await paused(client, task_queue)
    token = idp.token("carol", groups=["approvers"])
    page = await signed_in(browser, token, viewport={"width": 390, "height": 844})
    await page.goto(url)
    await page.locator("tr", has_text=handle.id).get_by_role("link").click()
    await expect(page.get_by_role("button", name="Approve")).to_be_visible()
    button = await page.get_by_role("button", name="Approve").bounding_box()
    assert button is not None
    assert button["y"] + button["height"] <= 844, "the decision is on the first screen"
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the review page is {overflow}px wider than a phone"
    await handle.terminate("done looking")
