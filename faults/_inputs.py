"""Bad inputs, one class at a time: each must meet a clear error, cause no side effect, and
leave no run spinning on workflow-task retries."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

import agento
from agento import PendingReview, ReviewReason
from faults._governed import (
    UNSERIALIZABLE,
    BadRequest,
    Charge,
    ChargeKeyed,
    Clashing,
    ClashingRequest,
    HugeRequest,
    LooseAllow,
    VanishedPolicy,
)
from faults._harness import Harness, failed_workflow_tasks, resolve, settle
from faults._report import Figure

SCENARIO = "Bad inputs"


@dataclass(frozen=True)
class Outcome:
    error: str
    """What the careless caller was told."""
    clear: bool
    effects: int = 0
    spinning: int = 0
    """Workflow tasks failed (a run retrying a task forever), or a run that never settled."""


@dataclass
class Queues:
    embedded: str
    opa: str


Case = Callable[[Harness, Queues], Awaitable[Outcome]]


async def _run_fails(
    h: Harness, task_queue: str, workflow: Any, args: list[Any], run: str, expect: str
) -> Outcome:
    """Start a run that must fail at once with ``expect`` in its error."""
    handle = await h.client.start_workflow(workflow, args=args, id=run, task_queue=task_queue)
    settled = await settle(handle, timeout=30)
    error = f"run {settled}"
    if settled == "failed":
        try:
            await handle.result()
        except WorkflowFailureError as e:
            cause = e.cause
            error = cause.message if isinstance(cause, ApplicationError) else str(cause)
    else:
        await handle.terminate(reason=f"faults: {error}")
    history = await handle.fetch_history()
    return Outcome(
        error=error,
        clear=settled == "failed" and expect in error,
        effects=h.ledger.effects_of(run),
        spinning=failed_workflow_tasks(history) + (settled == "stuck"),
    )


def _unserializable(case: str) -> Case:
    async def check(h: Harness, q: Queues) -> Outcome:
        run = f"bad-{uuid.uuid4().hex[:8]}"
        return await _run_fails(
            h,
            q.embedded,
            BadRequest.run,
            [case, run, h.ledger.url],
            run,
            "cannot become a JSON policy input",
        )

    return check


async def _reserved_field(h: Harness, q: Queues) -> Outcome:
    run = f"clash-{uuid.uuid4().hex[:8]}"
    request = Clashing(run=run, ledger_url=h.ledger.url)
    return await _run_fails(
        h, q.embedded, ClashingRequest.run, [request], run, "field named 'agento'"
    )


async def _huge_request(h: Harness, q: Queues) -> Outcome:
    """A request over Temporal's payload limit (2 MiB by default) is refused when the run starts."""
    run = f"huge-{uuid.uuid4().hex[:8]}"
    request = Charge(run=run, ledger_url=h.ledger.url, amount=10, marker="x" * 3 * 2**20)
    try:
        handle = await h.client.start_workflow(
            ChargeKeyed.run, request, id=run, task_queue=q.embedded
        )
    except RPCError as e:
        return Outcome(error=e.message, clear="size" in e.message.lower(), effects=0)
    settled = await settle(handle, timeout=30)
    history = await handle.fetch_history()
    return Outcome(
        error=f"started; {settled}",
        clear=False,
        effects=h.ledger.effects_of(run),
        spinning=failed_workflow_tasks(history) + (settled == "stuck"),
    )


async def _huge_built_request(h: Harness, q: Queues) -> Outcome:
    run = f"huge-built-{uuid.uuid4().hex[:8]}"
    return await _run_fails(
        h, q.embedded, HugeRequest.run, [run, h.ledger.url, 3], run, "payload limit"
    )


async def _non_boolean_allow(h: Harness, q: Queues) -> Outcome:
    """``allow := "yes"`` is not an allow: the run pauses, saying why, and nothing runs."""
    run = f"loose-{uuid.uuid4().hex[:8]}"
    request = Charge(run=run, ledger_url=h.ledger.url, amount=10)
    handle = await h.client.start_workflow(LooseAllow.run, request, id=run, task_queue=q.embedded)
    settled = await settle(handle, timeout=30)
    error = f"run {settled}"
    if isinstance(settled, PendingReview):
        error = "; ".join(settled.reasons)
        await resolve(handle, settled.review_id, approve=False)
        await settle(handle, timeout=30)
    history = await handle.fetch_history()
    return Outcome(
        error=error,
        clear=isinstance(settled, PendingReview)
        and settled.reason is ReviewReason.POLICY_DENIED
        and "not the boolean true" in error,
        effects=h.ledger.effects_of(run),
        spinning=failed_workflow_tasks(history),
    )


async def _undefined_policy(h: Harness, q: Queues) -> Outcome:
    run = f"vanished-{uuid.uuid4().hex[:8]}"
    request = Charge(run=run, ledger_url=h.ledger.url, amount=10)
    return await _run_fails(h, q.opa, VanishedPolicy.run, [request], run, "defines nothing")


def _bundle(files: dict[str, str], expect: str) -> Case:
    """A bundle the engine must refuse to load, naming what is wrong and where."""

    async def check(h: Harness, q: Queues) -> Outcome:
        root = h.workdir / f"bundle-{uuid.uuid4().hex[:8]}"
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        try:
            agento.EmbeddedEngine(root)
        except agento.BundleError as e:
            where = str(e.problems[0]) if e.problems else str(e)  # the file, line and problem
            return Outcome(error=where, clear=expect in where)
        return Outcome(error="loaded", clear=False)

    return check


V0 = "package faults.charge\n\nallow { input.amount <= 100 }\n"
BROKEN = "package faults.charge\n\nallow if input.amount <=\n"
GOOD = "package faults.charge\n\nallow if input.amount <= 100\n"


UpdateArgs = Callable[[str], list[Any]]
"""The arguments a raw client sends, given the pending review's id."""


def _update(arguments: UpdateArgs, expect: str, *, first_resolve: bool = False) -> Case:
    """An update sent by a raw client (JSON, no pydantic) to a run paused in review: refused,
    nothing recorded, the run still paused on the same review."""

    async def check(h: Harness, q: Queues) -> Outcome:
        run = f"update-{uuid.uuid4().hex[:8]}"
        request = Charge(run=run, ledger_url=h.ledger.url, amount=150)
        handle = await h.client.start_workflow(
            ChargeKeyed.run, request, id=run, task_queue=q.embedded
        )
        review = await settle(handle)
        if not isinstance(review, PendingReview):
            return Outcome(error=f"no review: {review}", clear=False)
        if first_resolve:
            await resolve(handle, review.review_id, approve=False)
        before = len((await handle.fetch_history()).events)
        raw = Client(h.client.service_client).get_workflow_handle(run)
        try:
            await raw.execute_update("agento.resolve_review", args=arguments(review.review_id))
            error = "accepted"
        except WorkflowUpdateFailedError as e:
            error = str(e.cause)
        except RPCError as e:
            error = e.message
        history = await handle.fetch_history()
        accepted = [
            e
            for e in history.events[before:]
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        ]
        still = await settle(handle, timeout=10) if not first_resolve else "failed"
        unchanged = first_resolve or (
            isinstance(still, PendingReview) and still.review_id == review.review_id
        )
        if isinstance(still, PendingReview):
            await resolve(handle, still.review_id, approve=False)
        return Outcome(
            error=error,
            clear=expect in error and not accepted and unchanged,
            effects=h.ledger.effects_of(run),
            spinning=failed_workflow_tasks(history),
        )

    return check


def _resolution(**fields: Any) -> UpdateArgs:
    """One resolution of the pending review, with ``fields`` changed."""
    return lambda review_id: [
        {"review_id": review_id, "approve": True, "reviewer": "mallory"} | fields
    ]


CASES: dict[str, Case] = {
    **{f"request: {case}": _unserializable(case) for case in UNSERIALIZABLE},
    "request: a field named agento": _reserved_field,
    "request: over Temporal's payload limit": _huge_request,
    "request: built in the workflow over the payload limit": _huge_built_request,
    "policy: allow is not a boolean": _non_boolean_allow,
    "policy: undefined at decision time (OPA)": _undefined_policy,
    "bundle: Rego v0 syntax": _bundle({"faults/charge.rego": V0}, "charge.rego"),
    "bundle: does not parse": _bundle({"faults/charge.rego": BROKEN}, "charge.rego"),
    "bundle: manifest is not JSON": _bundle(
        {".manifest": "{revision: 1", "faults/charge.rego": GOOD}, ".manifest"
    ),
    "review update: not an object": _update(lambda _: ["approve"], "the resolution is not valid"),
    "review update: no payload": _update(lambda _: [], "exactly one resolution, not 0"),
    "review update: two payloads": _update(
        lambda review_id: _resolution()(review_id) * 2, "exactly one resolution, not 2"
    ),
    "review update: unknown review id": _update(
        lambda _: _resolution()("r-404"), "review 'r-404' is not pending"
    ),
    "review update: empty reviewer": _update(_resolution(reviewer=""), "reviewer"),
    "review update: approve is not a boolean": _update(_resolution(approve="maybe"), "approve"),
    "review update: approve is the string yes": _update(_resolution(approve="yes"), "approve"),
    "review update: unknown field": _update(_resolution(grant="all"), "grant"),
    "review update: the run already ended": _update(
        _resolution(), "already completed", first_resolve=True
    ),
}


async def bad_inputs(h: Harness, trials: int) -> list[Figure]:
    """Every class once (``trials`` does not apply)."""
    queues = Queues(f"faults-bad-{uuid.uuid4().hex[:8]}", f"faults-bad-opa-{uuid.uuid4().hex[:8]}")
    embedded = await h.workers.start(queues.embedded)
    opa = await h.workers.start(queues.opa, engine="opa")
    try:
        outcomes = dict(
            zip(CASES, await h.each(CASES.values(), lambda case: case(h, queues)), strict=True)
        )
    finally:
        embedded.kill()
        opa.kill()
    rows = [
        Figure(
            SCENARIO, name, _excerpt(o.error), "clear error, no effect", o.clear and not o.effects
        )
        for name, o in outcomes.items()
    ]
    return [
        Figure(SCENARIO, "classes tried", str(len(CASES)), ">= 20", len(CASES) >= 20),
        Figure.all_of(
            SCENARIO, "met with a clear error", sum(o.clear for o in outcomes.values()), len(CASES)
        ),
        Figure.exactly(SCENARIO, "side effects", sum(o.effects for o in outcomes.values()), 0),
        Figure.exactly(
            SCENARIO,
            "runs left spinning on workflow-task retries",
            sum(o.spinning for o in outcomes.values()),
            0,
        ),
        *rows,
    ]


def _excerpt(error: str) -> str:
    line = error.strip().splitlines()[0] if error.strip() else "(no message)"
    line = line.replace("|", "/")
    return line if len(line) <= 110 else line[:107] + "..."
