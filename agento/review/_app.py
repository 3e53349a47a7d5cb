"""The review service as an ASGI app: a JSON API for approval tools and chat bots (the
webhook), and HTML pages for engineers. Every resolution it sends is signed for the reviewer it
authenticated, so that workers given its public key accept nothing else."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from temporalio.client import (
    Client,
    WorkflowQueryFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from agento._errors import ReviewRefused
from agento._reviews.client import (
    COMMENT_REQUIRED,
    pending_review,
    resolve_review,
    unanswered_task_queue,
)
from agento._reviews.models import PendingReview, ReviewOutcome
from agento._reviews.resolution import ResolutionSigner, ReviewerIdentity
from agento._reviews.visibility import ListedReview, listed_reviews
from agento.review import _pages
from agento.review._auth import Authenticator, DevUserAuth, Unauthenticated
from agento.review._limits import BodyLimit, json_body
from agento.review._openapi import OPENAPI
from agento.review._problem import Problem

_STATUS = {
    "ReviewNotPending": 409,
    "ReviewerDenied": 403,
    "ReviewRefused": 403,
    "ReviewerUndecided": 503,
}
"""The workflow's refusal kinds as HTTP statuses."""
_CSRF_LIFETIME = 12 * 3600
_CSRF_ISSUED = re.compile(r"[0-9]{1,12}")
"""A CSRF token's issue time: seconds, ASCII digits, no more than a timestamp has."""


class _NoWorker(Problem):
    """No worker answers the run: what visibility holds is all there is to show."""

    def __init__(self, workflow_id: str, task_queue: str | None, waited: float | None) -> None:
        where = f"task queue {task_queue!r}" if task_queue else "its task queue"
        after = f"within {waited:g} s" if waited is not None else "(none has polled lately)"
        super().__init__(
            504, "NoWorker", f"no worker on {where} answered for {workflow_id} {after}"
        )
        self.task_queue = task_queue


@dataclass(frozen=True)
class _Service:
    client: Client
    auth: Authenticator
    signer: ResolutionSigner
    query: str
    wait_seconds: float
    csrf_secret: bytes

    @property
    def dev(self) -> bool:
        """Whether every visitor is one configured user (`DevUserAuth`): pages warn of it."""
        return isinstance(self.auth, DevUserAuth)

    async def identify(self, request: Request) -> ReviewerIdentity:
        try:
            return await self.auth.identify(request)
        except Unauthenticated as e:
            raise Problem(401, "Unauthenticated", str(e)) from None

    async def pending(self, workflow_id: str, review_id: str) -> PendingReview:
        silent = await unanswered_task_queue(self.client, workflow_id)
        if silent is not None:  # asking would only wait out the timeout
            raise _NoWorker(workflow_id, silent, None)
        try:
            review = await asyncio.wait_for(
                pending_review(self.client, workflow_id, review_id), self.wait_seconds
            )
        except TimeoutError:
            task_queue = await self.task_queue(workflow_id)
            raise _NoWorker(workflow_id, task_queue, self.wait_seconds) from None
        except WorkflowQueryFailedError as e:
            raise Problem(404, "NotFound", f"{workflow_id} is not a governed run: {e}") from e
        except RPCError as e:
            raise _temporal_problem(e, f"cannot ask {workflow_id}") from e
        if review is None:
            raise Problem(404, "NotFound", f"no pending review {review_id} in {workflow_id}")
        return review

    async def queue(self) -> list[ListedReview]:
        """The pending reviews of the runs the service's query selects."""
        try:
            return await listed_reviews(self.client, self.query)
        except RPCError as e:
            raise _temporal_problem(e, "cannot list the pending reviews") from e

    async def task_queue(self, workflow_id: str) -> str | None:
        try:
            return (await self.client.get_workflow_handle(workflow_id).describe()).task_queue
        except RPCError:
            return None

    async def listed(self, workflow_id: str, review_id: str) -> ListedReview | None:
        """The review as visibility lists it: no worker needed."""
        try:
            found = await listed_reviews(self.client, f"WorkflowId = {json.dumps(workflow_id)}")
        except RPCError:
            return None
        return next((r for r in found if r.review_id == review_id), None)

    async def resolve(
        self,
        identity: ReviewerIdentity,
        workflow_id: str,
        review_id: str,
        *,
        approve: bool,
        comment: str,
    ) -> ReviewOutcome:
        if not comment.strip():
            raise Problem(422, "CommentRequired", COMMENT_REQUIRED)
        resolving = resolve_review(
            self.client,
            workflow_id,
            review_id,
            approve=approve,
            reviewer=identity,
            comment=comment.strip(),
            signer=self.signer,
        )
        try:
            return await asyncio.wait_for(resolving, self.wait_seconds)
        except ReviewRefused as e:
            status = _STATUS.get(e.kind, 403)
            raise Problem(status, e.kind, e.reason, e.reasons) from e
        except WorkflowQueryFailedError as e:  # asked which decision to sign for
            raise Problem(404, "NotFound", f"{workflow_id} is not a governed run: {e}") from e
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            raise Problem(
                504,
                "NoWorker",
                f"no worker took the resolution within {self.wait_seconds:g} s; it may still "
                "apply when one polls: check the queue before sending it again",
            ) from None
        except RPCError as e:
            raise _temporal_problem(e) from e

    def csrf_token(self, identity: ReviewerIdentity) -> str:
        issued = str(int(time.time()))
        return f"{issued}.{self._csrf_mac(identity, issued)}"

    def check_csrf(self, identity: ReviewerIdentity, token: str) -> None:
        issued, _, mac = token.partition(".")
        fresh = bool(_CSRF_ISSUED.fullmatch(issued)) and time.time() - int(issued) < _CSRF_LIFETIME
        if not fresh or not hmac.compare_digest(mac, self._csrf_mac(identity, issued)):
            raise Problem(403, "CsrfRefused", "the form is stale or not ours: open it again")

    def _csrf_mac(self, identity: ReviewerIdentity, issued: str) -> str:
        text = f"{identity.subject}|{issued}".encode()
        return hmac.new(self.csrf_secret, text, hashlib.sha256).hexdigest()


def review_app(
    client: Client,
    *,
    auth: Authenticator,
    signer: ResolutionSigner,
    query: str = "",
    wait_seconds: float = 30.0,
    csrf_secret: bytes | None = None,
) -> Starlette:
    """The review service for the runs ``client`` reaches.

    Args:
        client: A client with `agento.AgentoPlugin` (for its payload converter).
        auth: Who is asking: `JwtAuth`, `ProxyHeaderAuth`, or `DevUserAuth` (demo only).
        signer: The key every resolution is signed with; its public half goes to the workers'
            ``AgentoPlugin(review_keys=...)``.
        query: A visibility filter on the runs the queue lists.
        wait_seconds: How long to wait for a worker to answer a query or take a resolution.
        csrf_secret: Keys the forms' CSRF tokens; give the same one to every replica.
    """
    service = _Service(
        client, auth, signer, query, wait_seconds, csrf_secret or secrets.token_bytes(32)
    )
    return Starlette(
        routes=[*_api_routes(service), *_meta_routes(), *_page_routes(service)],
        exception_handlers={Problem: partial(_refused, service)},
        middleware=[Middleware(BodyLimit)],
    )


def _api_routes(service: _Service) -> list[Route]:
    """The JSON API, for approval tools and chat bots (the webhook)."""
    review = "/api/reviews/{review_id}"
    return [
        Route("/api/reviews", partial(_list_reviews, service), methods=["GET"]),
        Route(review, partial(_show_review, service), methods=["GET"]),
        Route(f"{review}/approve", partial(_resolve_api, service, approve=True), methods=["POST"]),
        Route(f"{review}/reject", partial(_resolve_api, service, approve=False), methods=["POST"]),
    ]


def _meta_routes() -> list[Route]:
    """What is about the service rather than a review: the API's description, and liveness."""
    return [
        Route("/api/openapi.json", _openapi, methods=["GET"]),
        Route("/healthz", _health, methods=["GET"]),
    ]


def _page_routes(service: _Service) -> list[Route]:
    """The HTML pages, for engineers: the queue, a review, and its form's submission."""
    return [
        Route("/", partial(_queue_page, service), methods=["GET"]),
        Route("/review", partial(_review_page, service), methods=["GET"]),
        Route("/review", partial(_submit, service), methods=["POST"]),
    ]


async def _list_reviews(service: _Service, request: Request) -> Response:
    await service.identify(request)
    found = await service.queue()
    return JSONResponse({"reviews": [r.model_dump(mode="json") for r in found]})


async def _show_review(service: _Service, request: Request) -> Response:
    await service.identify(request)
    workflow_id = _workflow_id(request)
    review = await service.pending(workflow_id, request.path_params["review_id"])
    return JSONResponse({"workflow_id": workflow_id, **review.model_dump(mode="json")})


async def _resolve_api(service: _Service, request: Request, *, approve: bool) -> Response:
    identity = await service.identify(request)
    workflow_id = _workflow_id(request)
    if request.headers.get("content-type", "").split(";")[0] != "application/json":
        raise Problem(415, "JsonRequired", "send Content-Type: application/json")
    body = json_body(await request.body())
    comment = body.get("comment") if isinstance(body, dict) else None
    if not isinstance(comment, str):
        raise Problem(422, "CommentRequired", 'send {"comment": "why"}')
    outcome = await service.resolve(
        identity,
        workflow_id,
        request.path_params["review_id"],
        approve=approve,
        comment=comment,
    )
    return JSONResponse(outcome.model_dump(mode="json"))


async def _openapi(request: Request) -> Response:
    return JSONResponse(OPENAPI)


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _queue_page(service: _Service, request: Request) -> Response:
    identity = await service.identify(request)
    found = await service.queue()
    body = _pages.queue(found, datetime.now(UTC))
    return _page(service, "Pending reviews", body, identity)


async def _review_page(service: _Service, request: Request) -> Response:
    """The review and its form; when no worker answers, what visibility lists of it."""
    identity = await service.identify(request)
    workflow_id = _workflow_id(request)
    review_id = request.query_params.get("review_id", "")
    try:
        review = await service.pending(workflow_id, review_id)
    except _NoWorker as e:
        listed = await service.listed(workflow_id, review_id)
        if listed is None:
            raise
        body = _pages.unanswered(listed, e.task_queue, e.message, now=datetime.now(UTC))
        return _page(service, f"Review: {listed.activity}", body, identity)
    body = _pages.review(
        workflow_id, review, csrf=service.csrf_token(identity), now=datetime.now(UTC)
    )
    return _page(service, f"Review: {review.activity}", body, identity)


async def _submit(service: _Service, request: Request) -> Response:
    """A review form sent: resolved, or the form again when it carries no comment."""
    identity = await service.identify(request)
    _same_origin(request)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    service.check_csrf(identity, fields.get("csrf_token", ""))
    action = fields.get("action")
    if action not in ("approve", "reject"):
        raise Problem(422, "BadRequest", "choose Approve or Reject")
    workflow_id, review_id = fields.get("workflow_id", ""), fields.get("review_id", "")
    if not (workflow_id and review_id):
        raise Problem(422, "BadRequest", "the form names no run or review: open it again")
    comment = fields.get("comment", "")
    if not comment.strip():
        return await _form_again(service, identity, workflow_id, review_id, comment)
    outcome = await service.resolve(
        identity,
        workflow_id,
        review_id,
        approve=action == "approve",
        comment=comment,
    )
    body = _pages.resolved(workflow_id, outcome)
    return _page(service, "Review resolved", body, identity)


async def _form_again(
    service: _Service, identity: ReviewerIdentity, workflow_id: str, review_id: str, comment: str
) -> Response:
    """The review form again, with what was typed and why it was not sent."""
    review = await service.pending(workflow_id, review_id)
    body = _pages.review(
        workflow_id,
        review,
        csrf=service.csrf_token(identity),
        now=datetime.now(UTC),
        comment=comment,
        notice=COMMENT_REQUIRED,
    )
    return _page(service, f"Review: {review.activity}", body, identity, status=422)


async def _refused(service: _Service, request: Request, exc: Exception) -> Response:
    """A refusal as the API's problem JSON, or as a page for a browser."""
    assert isinstance(exc, Problem)
    if request.url.path.startswith("/api/"):
        return exc.json()
    body = _pages.refused(exc.message, exc.reasons)
    titles = {401: "Not signed in", 403: "Not allowed", 409: "Already resolved"}
    title = titles.get(exc.status, "Refused")
    return _page(service, title, body, None, status=exc.status, headers=exc.headers())


def _page(
    service: _Service,
    title: str,
    body: str,
    identity: ReviewerIdentity | None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """``body`` as a whole page of the service, signed-in reviewer shown."""
    html = _pages.page(title, body, identity=identity, dev=service.dev)
    return _html(html, status=status, headers=headers)


def _temporal_problem(error: RPCError, doing: str = "Temporal refused") -> Problem:
    """A Temporal error as the service's answer: 404 for a run that does not exist, 502 for
    anything else (the service works; what it depends on did not)."""
    if error.status is RPCStatusCode.NOT_FOUND:
        return Problem(404, "NotFound", f"{doing}: {error.message}")
    return Problem(502, "TemporalError", f"{doing}: {error.message}")


def _workflow_id(request: Request) -> str:
    workflow_id = request.query_params.get("workflow_id")
    if not workflow_id:
        raise Problem(422, "BadRequest", "name the run: ?workflow_id=...")
    return workflow_id


def _same_origin(request: Request) -> None:
    """Refuse a form posted from another site (browsers send ``Origin`` on POST)."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise Problem(403, "CsrfRefused", f"a form from {origin} may not resolve reviews here")


def _html(text: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    security = {
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    return HTMLResponse(text, status_code=status, headers=security | (headers or {}))
