"""``agento review``: list, show and resolve pending reviews from a terminal or a script.

Every outcome a reviewer's script must tell apart has its own exit status and one line on
stderr: a refused resolution (the workflow's reason), no worker taking the update in time (which
task queue, and that the update may still apply), runs that could not be asked.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agento._cli import serve as _cli_serve
from agento._cli.common import CommandError, Exit, connect, connection_parser, run_connected

if TYPE_CHECKING:  # the commands import what they run on when they run (`agento --help`)
    from temporalio.client import Client

    from agento._reviews.models import PendingReview
    from agento._reviews.resolution import ResolutionSigner

_QUERY_TIMEOUT = 10.0
"""Seconds to wait for one run's answer to the pending-reviews query."""


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connection = connection_parser()
    review = commands.add_parser("review", help="list, show and resolve pending reviews")
    actions = review.add_subparsers(dest="review_command", required=True)

    listing = actions.add_parser(
        "list",
        parents=[connection],
        help="pending reviews, from Temporal's visibility (no worker needed)",
    )
    listing.add_argument(
        "--query", default='ExecutionStatus="Running"', help="a visibility filter on the runs"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")

    show = actions.add_parser("show", parents=[connection], help="one pending review in full")
    _review_arguments(show)
    show.add_argument("--json", action="store_true", help="print JSON")

    verbs = {
        "approve": "approve a pending review",
        "reject": "reject a pending review",
        "retry": "after a policy engine outage: ask the engine again (approves that review)",
    }
    for verb, summary in verbs.items():
        act = actions.add_parser(verb, parents=[connection], help=summary)
        _review_arguments(act)
        act.add_argument("--reviewer", required=True, help="who resolves it (never the requester)")
        act.add_argument(
            "--comment",
            default="",
            help="why: required to approve or reject, recorded in the audit trail",
        )
        act.add_argument(
            "--signing-key",
            metavar="FILE",
            help="sign the resolution with this PEM private key (workers given review_keys "
            "accept only signed resolutions)",
        )
        act.add_argument(
            "--key-id", metavar="ID", help="the key id workers know it by (default: file stem)"
        )
        act.add_argument(
            "--wait",
            type=float,
            default=30.0,
            metavar="SECONDS",
            help="how long to wait for a worker to take the resolution (default 30)",
        )

    keygen = actions.add_parser(
        "keygen",
        help="make the review service's signing key (ES256) and its public half",
        description="Write a fresh P-256 private key for `agento review serve --signing-key` "
        "(readable by its owner only) and its public half beside it, for the workers' "
        "AgentoPlugin(review_keys=...) and `agento audit --verify --review-key`. An existing "
        "file is never overwritten.",
    )
    keygen.add_argument(
        "--out",
        default="review-service.pem",
        metavar="FILE",
        help="the private key's file (default review-service.pem); the public half goes to "
        "FILE's stem + .pub.pem, and the stem is the key id",
    )

    serve = actions.add_parser(
        "serve",
        parents=[connection],
        help="the review service: approval webhook (JSON API) and engineers' pages",
    )
    _cli_serve.add_arguments(serve)

    commands.add_parser(
        "setup",
        parents=[connection],
        help="define agento's search attributes in a namespace (once per namespace)",
    )


def _review_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow_id", metavar="WORKFLOW_ID", help="the paused run")
    parser.add_argument(
        "review_id", metavar="REVIEW_ID", help="its review, as `agento review list` shows it"
    )


def run(args: argparse.Namespace) -> int:
    if getattr(args, "review_command", None) == "serve":
        return _cli_serve.run(args)
    if getattr(args, "review_command", None) == "keygen":
        return _keygen(Path(args.out))
    # A key that cannot sign is refused before anything is asked of Temporal.
    key = getattr(args, "signing_key", None)
    signer = _cli_serve.read_signer(key, args.key_id) if key else None
    resolving = args.command == "review" and args.review_command in ("approve", "reject")
    if resolving and not args.comment.strip():
        from agento._reviews.client import COMMENT_REQUIRED

        raise CommandError(f"{COMMENT_REQUIRED}: --comment TEXT")
    return run_connected(_run(args, signer))


def _keygen(private: Path) -> int:
    from agento._reviews.resolution import ResolutionSigner

    public = private.with_name(private.stem + ".pub.pem")
    for path in (private, public):
        if path.exists():
            raise CommandError(f"{path} exists: give another --out, or move it away first")
    signer = ResolutionSigner.generate(key_id=private.stem)
    try:
        public.write_text(signer.public_pem)
        with open(private, "x", opener=_owner_only) as file:
            file.write(signer.key)
    except OSError as e:
        public.unlink(missing_ok=True)
        raise CommandError(f"cannot write the key: {e}") from e
    print(f"private key  {private} (secret: agento review serve --signing-key {private})")
    print(
        f"public key   {public} (key id {signer.key_id}: workers' "
        f'AgentoPlugin(review_keys={{"{signer.key_id}": VerificationKey.from_pem(...)}}), '
        f"agento audit --verify --review-key {signer.key_id}={public})"
    )
    return Exit.OK


def _owner_only(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


async def _run(args: argparse.Namespace, signer: ResolutionSigner | None) -> int:
    client = await connect(args)
    if args.command == "setup":
        return await _setup(client)
    if args.review_command == "list":
        return await _list(client, args.query, as_json=args.json)
    if args.review_command == "show":
        return await _show(client, args.workflow_id, args.review_id, as_json=args.json)
    return await _resolve(client, args, signer)


async def _list(client: Client, query: str, *, as_json: bool) -> int:
    from agento._reviews.visibility import listed_reviews

    found = await listed_reviews(client, query)
    if as_json:
        print(json.dumps({"reviews": [r.model_dump(mode="json") for r in found]}, indent=2))
        return Exit.OK
    for r in found:
        because = f": {'; '.join(r.reasons)}" if r.reasons else ""
        print(
            f"{r.workflow_id} {r.review_id} {r.activity} {r.reason} since "
            f"{r.since:%Y-%m-%d %H:%M:%S}{because}"
        )
    return Exit.OK


async def _setup(client: Client) -> int:
    from temporalio.service import RPCError

    from agento._reviews.visibility import (
        PENDING_REVIEWS,
        SEARCH_ATTRIBUTES,
        ensure_search_attributes,
    )

    try:
        added = await ensure_search_attributes(client)
    except RPCError as e:
        raise CommandError(
            f"cannot define agento's search attributes in namespace {client.namespace!r}: "
            f"{e.message}. On Temporal Cloud, add them with `tcld namespace search-attributes "
            f"add --namespace {client.namespace} --search-attribute "
            f"{PENDING_REVIEWS.name}=KeywordList`"
        ) from e
    for name in SEARCH_ATTRIBUTES:
        state = "defined" if name in added else "already defined"
        print(f"{name}  {state} in namespace {client.namespace}")
    return Exit.OK


async def _show(client: Client, workflow_id: str, review_id: str, *, as_json: bool) -> int:
    from agento._reviews.client import unanswered_task_queue
    from agento._reviews.models import ReviewReason

    silent = await unanswered_task_queue(client, workflow_id)
    try:
        if silent is not None:  # asking would only wait out the timeout
            raise _NoAnswer(silent)
        review = await _pending(client, workflow_id, review_id)
    except _NoAnswer as e:
        return await _show_listed(client, workflow_id, review_id, e.task_queue, as_json=as_json)
    if as_json:
        print(json.dumps({"workflow_id": workflow_id, **review.model_dump(mode="json")}, indent=2))
        return Exit.OK
    waiting = datetime.now(UTC) - review.since
    lines = [
        ("review", review.review_id),
        ("workflow", workflow_id),
        ("activity", review.activity),
        ("reason", str(review.reason)),
        *(("because", reason) for reason in review.reasons),
        ("decision", review.decision_id or "(none recorded)"),
        ("requester", review.requester or "(not given)"),
        ("waiting", f"{waiting.total_seconds() / 3600:.1f} h, since {review.since:%Y-%m-%d %H:%M}"),
        ("time-left", _time_left(review)),
        ("request", json.dumps(review.request, sort_keys=True)),
    ]
    if review.reason is ReviewReason.ENGINE_UNAVAILABLE:
        lines.append(("next", "the engine was not asked: `agento review retry` asks it again"))
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        print(f"{label:<{width}}  {value}")
    return Exit.OK


async def _resolve(
    client: Client, args: argparse.Namespace, signer: ResolutionSigner | None
) -> int:
    import asyncio

    from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
    from temporalio.service import RPCError

    from agento._errors import ReviewRefused
    from agento._reviews.client import resolve_review
    from agento._reviews.models import ReviewReason

    verb = args.review_command
    if verb == "retry":
        try:
            review = await _pending(client, args.workflow_id, args.review_id)
        except _NoAnswer as e:
            raise CommandError(
                f"could not ask {args.workflow_id}: {_why(TimeoutError())} (task queue "
                f"{e.task_queue!r}); is a worker running?"
            ) from None
        if review.reason is not ReviewReason.ENGINE_UNAVAILABLE:
            raise CommandError(
                f"review {args.review_id} is {review.reason}, not engine_unavailable: retry asks "
                "the policy engine again after an outage; approve or reject this one"
            )
    resolving = resolve_review(
        client,
        args.workflow_id,
        args.review_id,
        approve=verb != "reject",
        reviewer=args.reviewer,
        comment=args.comment or ("ask the policy engine again" if verb == "retry" else ""),
        signer=signer,
    )
    try:
        outcome = await asyncio.wait_for(resolving, args.wait)
    except ReviewRefused as e:
        raise CommandError(f"refused: {e.reason}") from e
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise CommandError(await _not_taken(client, args.workflow_id, args.wait)) from None
    except RPCError as e:
        raise CommandError(f"Temporal refused: {e.message}") from e
    print(json.dumps(outcome.model_dump(mode="json")))
    return Exit.OK


class _NoAnswer(Exception):
    """No worker answered the run's query (or none has polled its task queue lately)."""

    def __init__(self, task_queue: str | None) -> None:
        super().__init__(task_queue)
        self.task_queue = task_queue


async def _show_listed(
    client: Client, workflow_id: str, review_id: str, task_queue: str | None, *, as_json: bool
) -> int:
    """The review as visibility lists it, saying which task queue has no worker: what the run
    alone knows (the request, the decision, the requester) must wait for one."""
    from agento._reviews.visibility import listed_reviews

    where = f"task queue {task_queue!r}" if task_queue else "the run's task queue"
    notice = (
        f"no worker is answering on {where}: shown from visibility; the request, decision and "
        "requester, and resolving it, need a worker"
    )
    found = await listed_reviews(client, f"WorkflowId = {json.dumps(workflow_id)}")
    review = next((r for r in found if r.review_id == review_id), None)
    if review is None:
        pending = ", ".join(r.review_id for r in found) or "none"
        raise CommandError(f"{notice}; visibility lists no review {review_id} (pending: {pending})")
    if as_json:
        print(json.dumps({**review.model_dump(mode="json"), "notice": notice}, indent=2))
        return Exit.OK
    lines = [
        ("review", review.review_id),
        ("workflow", workflow_id),
        ("activity", review.activity),
        ("reason", review.reason),
        *(("because", reason) for reason in review.reasons),
        ("waiting", f"since {review.since:%Y-%m-%d %H:%M} UTC"),
        ("notice", notice),
    ]
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        print(f"{label:<{width}}  {value}")
    return Exit.OK


async def _pending(client: Client, workflow_id: str, review_id: str) -> PendingReview:
    import asyncio

    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError

    from agento._reviews.client import pending_reviews

    try:
        reviews = await asyncio.wait_for(pending_reviews(client, workflow_id), _QUERY_TIMEOUT)
    except WorkflowQueryFailedError as e:
        raise CommandError(f"{workflow_id} is not a governed workflow: {e}") from e
    except TimeoutError:
        raise _NoAnswer(await _task_queue(client, workflow_id)) from None
    except RPCError as e:
        raise CommandError(f"could not ask {workflow_id}: {_why(e)}") from e
    for review in reviews:
        if review.review_id == review_id:
            return review
    pending = ", ".join(r.review_id for r in reviews) or "none"
    raise CommandError(f"no pending review {review_id} in {workflow_id} (pending: {pending})")


async def _task_queue(client: Client, workflow_id: str) -> str | None:
    from temporalio.service import RPCError

    try:
        return (await client.get_workflow_handle(workflow_id).describe()).task_queue
    except RPCError:
        return None


async def _not_taken(client: Client, workflow_id: str, waited: float) -> str:
    found = await _task_queue(client, workflow_id)
    task_queue = repr(found) if found else "(unknown: the run could not be described)"
    return (
        f"no worker took the resolution within {waited:g} s (task queue {task_queue}); is a "
        "worker running? Temporal may still deliver it when one polls, so check `agento review "
        "list` before sending it again"
    )


def _time_left(review: PendingReview) -> str:
    """Until the review times out and the run fails with ReviewTimedOut."""
    if review.until is None:
        return "(not recorded by this run's agento)"
    left = (review.until - datetime.now(UTC)).total_seconds() / 3600
    return f"{max(left, 0):.1f} h, the run fails at {review.until:%Y-%m-%d %H:%M} UTC"


def _why(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {_QUERY_TIMEOUT:g} s"
    return getattr(error, "message", "") or str(error).splitlines()[0]
