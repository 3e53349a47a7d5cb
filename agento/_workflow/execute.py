"""`agento.execute_activity`: a governed activity call from workflow code.

Temporal's ``workflow.execute_activity`` plus the governed layer: the decision is asked through a
recorded step (so it is in history), denials pause for review or fail, the retry policy follows
the idempotency posture, and the activity receives a stable idempotency key and a header proving
which decision allowed it.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, TypeAlias, TypeVar, cast, overload

import pydantic
from pydantic import JsonValue
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import Priority, RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.exceptions import TimeoutError as ActivityTimeout
from temporalio.workflow import ActivityCancellationType

from agento._decision.record import (
    RESERVED_KEY,
    AgentCall,
    Decision,
    DecisionContext,
    canonical_json,
    policy_input,
)
from agento._decision.redaction import Needed, Sensitive, marked_fields, redact
from agento._declaration.activity import (
    ActivityDeclaration,
    AnyActivity,
    GovernedActivity,
    IdempotencyKey,
    PolicyInput,
)
from agento._errors import (
    GovernanceError,
    PolicyDenied,
    ReviewRejected,
)
from agento._postures import Idempotency, PolicyClass
from agento._reviews.models import ReviewReason
from agento._workflow.decision_step import DecisionRequest, DecisionSettings, Unavailable, ask
from agento._workflow.review_board import ReviewBoard
from agento.rules import (
    BAD_CALL,
    MISSING_INPUT,
    MISSING_POLICY,
    RETRY_UNSAFE,
    Violation,
    extra_arguments,
    request_and_args,
    wrong_request,
)

CALL_HEADER = "agento"
GENERATION_HEADER = "agento-generation"

_In = TypeVar("_In")
_R = TypeVar("_R")
_Keyed: TypeAlias = Literal[Idempotency.KEYED]
_ReadOnly: TypeAlias = Literal[PolicyClass.READ_ONLY]


class Grant(pydantic.BaseModel):
    """The header a policy-gated activity is started with: the decision that allowed it."""

    decision_id: str
    input_sha256: str
    request_sha256: str
    """Digest of the request alone, which the activity side recomputes from what it received."""
    override_review_id: str | None = None
    """Set when a reviewer's approval overrode a deny."""


class CallRecord(pydantic.BaseModel):
    """The header every governed activity is started with, and so part of its scheduled event:
    what was declared, the key it carries, and for a policy-gated activity the grant."""

    activity: str
    version: str
    idempotency: Idempotency
    policy_class: PolicyClass
    idempotency_key: str | None = None
    grant: Grant | None = None


@dataclass
class RunState:
    """agento's state for one workflow run on this worker."""

    settings: DecisionSettings
    generation: int
    reviews: ReviewBoard
    calls: int = 0
    headers: dict[str, Payload] = field(default_factory=dict)
    """Activity id -> the CallRecord header its start must carry."""


RUNS: dict[str, RunState] = {}
"""Run id -> state, for runs executing on this worker (set up by agento's interceptor)."""

_NO_REQUEST: Any = object()


@overload
async def execute_activity(
    activity: GovernedActivity[Any, Any, [_In], _R],
    request: _In,
    *,
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    summary: str | None = None,
    priority: Priority = Priority.default,
    review_timeout: timedelta = timedelta(hours=48),
    requester: str | None = None,
    agent: AgentCall | None = None,
    reconcile: GovernedActivity[_Keyed, _ReadOnly, [_In], _R | None] | None = None,
) -> _R: ...
@overload
async def execute_activity(
    activity: GovernedActivity[Any, Any, ..., _R],
    *,
    args: Sequence[Any] = (),
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    summary: str | None = None,
    priority: Priority = Priority.default,
    review_timeout: timedelta = timedelta(hours=48),
    requester: str | None = None,
    agent: AgentCall | None = None,
    reconcile: GovernedActivity[_Keyed, _ReadOnly, ..., _R | None] | None = None,
) -> _R: ...
async def execute_activity(
    activity: AnyActivity,
    request: Any = _NO_REQUEST,
    *extra: object,
    args: Sequence[Any] = (),
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    summary: str | None = None,
    priority: Priority = Priority.default,
    review_timeout: timedelta = timedelta(hours=48),
    requester: str | None = None,
    agent: AgentCall | None = None,
    reconcile: AnyActivity | None = None,
) -> Any:
    """Run a governed activity from workflow code; options mean what Temporal's do.

    Args:
        review_timeout: How long a paused activity waits for a reviewer before the workflow
            fails with `agento.ReviewTimedOut`.
        requester: Who asked for this run; that person may not approve its review.
        agent: The agent's tool call this call runs for, when a model chose it: recorded in the
            decision's ``input.agento.agent``. The `agento.agents` adapters set it.
        reconcile: For a NON_IDEMPOTENT activity whose outcome became unknown (it timed out):
            a KEYED, READ_ONLY activity taking the same arguments, asked with the original call's
            key whether the effect happened. It returns the effect's result if it did, and
            ``None`` if it did not, in which case the call runs once more with the same key.
            Without one, an unknown outcome pauses for reconciliation review.
    """
    call = _prepare(activity, request, extra, args, retry_policy)
    return await _execute(
        call,
        task_queue=task_queue,
        schedule_to_close_timeout=schedule_to_close_timeout,
        schedule_to_start_timeout=schedule_to_start_timeout,
        start_to_close_timeout=start_to_close_timeout,
        heartbeat_timeout=heartbeat_timeout,
        cancellation_type=cancellation_type,
        summary=summary,
        priority=priority,
        review_timeout=review_timeout,
        requester=requester,
        agent=agent,
        reconcile=reconcile,
    )


@overload
def start_activity(
    activity: GovernedActivity[Any, Any, [_In], _R],
    request: _In,
    *,
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    summary: str | None = None,
    priority: Priority = Priority.default,
    review_timeout: timedelta = timedelta(hours=48),
    requester: str | None = None,
    agent: AgentCall | None = None,
    reconcile: GovernedActivity[_Keyed, _ReadOnly, [_In], _R | None] | None = None,
) -> asyncio.Task[_R]: ...
@overload
def start_activity(
    activity: GovernedActivity[Any, Any, ..., _R],
    *,
    args: Sequence[Any] = (),
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    summary: str | None = None,
    priority: Priority = Priority.default,
    review_timeout: timedelta = timedelta(hours=48),
    requester: str | None = None,
    agent: AgentCall | None = None,
    reconcile: GovernedActivity[_Keyed, _ReadOnly, ..., _R | None] | None = None,
) -> asyncio.Task[_R]: ...
def start_activity(
    activity: AnyActivity,
    request: Any = _NO_REQUEST,
    *extra: object,
    args: Sequence[Any] = (),
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    summary: str | None = None,
    priority: Priority = Priority.default,
    review_timeout: timedelta = timedelta(hours=48),
    requester: str | None = None,
    agent: AgentCall | None = None,
    reconcile: AnyActivity | None = None,
) -> asyncio.Task[Any]:
    """`execute_activity`, started: returns at once with a task to await (or cancel), as
    ``workflow.start_activity`` is to ``workflow.execute_activity``.

    The call is numbered now, so its activity id and idempotency key follow the order of the
    calls in workflow code, however the started calls then interleave. What the task runs is
    what `execute_activity` runs: the decision, any review, the activity as its posture says.
    A retry policy the posture forbids raises here, before anything starts.
    """
    call = _prepare(activity, request, extra, args, retry_policy)
    return asyncio.create_task(
        _execute(
            call,
            task_queue=task_queue,
            schedule_to_close_timeout=schedule_to_close_timeout,
            schedule_to_start_timeout=schedule_to_start_timeout,
            start_to_close_timeout=start_to_close_timeout,
            heartbeat_timeout=heartbeat_timeout,
            cancellation_type=cancellation_type,
            summary=summary,
            priority=priority,
            review_timeout=review_timeout,
            requester=requester,
            agent=agent,
            reconcile=reconcile,
        )
    )


@dataclass(frozen=True)
class _Call:
    """A governed call as numbered when it was made: its activity id and key are fixed then,
    in call order, whatever order the calls then run in."""

    activity: AnyActivity
    state: RunState
    activity_id: str
    args: list[Any]
    key: IdempotencyKey | None
    retry_policy: RetryPolicy | None


def _prepare(
    activity: AnyActivity,
    request: Any,
    extra: Sequence[object],
    args: Sequence[Any],
    retry_policy: RetryPolicy | None,
) -> _Call:
    _check_call(activity, request, extra, args)
    d = activity.declaration
    state = _state()
    state.calls += 1
    activity_id = f"agento-{state.calls}-{d.name}"
    call_args = list(args) if request is _NO_REQUEST else [request]
    key = None
    if d.takes_key:
        key = idempotency_key(state, activity_id)
        call_args = [key, *call_args]
    return _Call(
        activity, state, activity_id, call_args, key, _posture_retry_policy(d, retry_policy)
    )


def _check_call(
    activity: object, request: object, extra: Sequence[object], args: Sequence[object]
) -> None:
    """Refuse a call that cannot be what was meant, as a `GovernanceError` that fails the run:
    a ``TypeError`` in workflow code would fail its workflow tasks, retried forever, while the
    client waits."""
    if not isinstance(activity, GovernedActivity):
        name = getattr(activity, "__name__", None) or repr(activity)
        raise _bad_call(
            BAD_CALL.violation(
                name,
                given=f"{name}, a {type(activity).__name__} not declared with @agento.activity",
                expected="a governed activity",
                fix="declare it with @agento.activity(...), or start a plain activity with "
                "temporalio's workflow.execute_activity",
            )
        )
    d = activity.declaration
    model = d.request_model
    if extra:
        named = model.__name__ if model else None
        raise _bad_call(extra_arguments(d.name, 1 + len(extra), named, d.takes_key))
    if request is not _NO_REQUEST and args:
        raise _bad_call(request_and_args(d.name))
    given = args[-1] if request is _NO_REQUEST and args else request
    if model is not None and d.is_policy_gated and not isinstance(given, model):
        shown = "nothing" if given is _NO_REQUEST else type(given).__name__
        raise _bad_call(wrong_request(d.name, shown, model.__name__))


def _bad_call(violation: Violation) -> GovernanceError:
    return GovernanceError(f"{violation} [{BAD_CALL.id}]", type=BAD_CALL.id)


async def _execute(
    call: _Call,
    *,
    task_queue: str | None,
    schedule_to_close_timeout: timedelta | None,
    schedule_to_start_timeout: timedelta | None,
    start_to_close_timeout: timedelta | None,
    heartbeat_timeout: timedelta | None,
    cancellation_type: ActivityCancellationType,
    summary: str | None,
    priority: Priority,
    review_timeout: timedelta,
    requester: str | None,
    agent: AgentCall | None,
    reconcile: AnyActivity | None,
) -> Any:
    """Decide (and review) if the activity is policy-gated, then run it as its posture says."""
    d, state, activity_id = call.activity.declaration, call.state, call.activity_id
    grant = None
    if d.is_policy_gated:
        grant = await _authorize(
            d, call.args[-1], activity_id, state, review_timeout, requester, agent
        )

    record = CallRecord(
        activity=d.name,
        version=d.version,
        idempotency=d.idempotency,
        policy_class=d.policy_class,
        idempotency_key=call.key,
        grant=grant,
    )
    attempt_id = activity_id
    reconciled = False
    for rerun in itertools.count(1):
        state.headers[attempt_id] = workflow.payload_converter().to_payload(record)
        try:
            return await workflow.execute_activity(
                cast(Callable[..., Any], call.activity),
                args=call.args,
                activity_id=attempt_id,
                task_queue=task_queue,
                schedule_to_close_timeout=schedule_to_close_timeout,
                schedule_to_start_timeout=schedule_to_start_timeout,
                start_to_close_timeout=start_to_close_timeout,
                heartbeat_timeout=heartbeat_timeout,
                retry_policy=call.retry_policy,
                cancellation_type=cancellation_type,
                summary=summary,
                priority=priority,
            )
        except ActivityError as e:
            if d.idempotency is not Idempotency.NON_IDEMPOTENT or not isinstance(
                e.cause, ActivityTimeout
            ):
                raise
            if reconcile is not None and not reconciled:
                reconciled = True  # a re-run that times out too goes to a reviewer
                found = await _reconcile(reconcile, call.args, attempt_id, start_to_close_timeout)
                if found is not None:
                    return found
                attempt_id = f"{activity_id}-rerun-{rerun}"
                continue
            outcome = await state.reviews.wait(
                review_id=f"{attempt_id}-outcome",
                activity=d.name,
                reason=ReviewReason.OUTCOME_UNKNOWN,
                reasons=(f"outcome unknown: the activity timed out ({_timeout_name(e.cause)})",),
                request=_shown(call.args[-1]),
                decision_id=grant.decision_id if grant else None,
                requester=requester,
                opened_by=attempt_id,
                timeout=review_timeout,
            )
            if not outcome.approved:
                raise ReviewRejected(
                    d.name, outcome.review_id, outcome.reviewer, outcome.comment
                ) from e
            attempt_id = f"{activity_id}-rerun-{rerun}"


async def _reconcile(
    check: AnyActivity,
    call_args: list[Any],
    attempt_id: str,
    timeout: timedelta | None,
) -> Any:
    """Ask ``check``, with the original call's key and request, whether the effect happened."""
    c = check.declaration
    if c.idempotency is not Idempotency.KEYED or c.is_policy_gated:
        raise GovernanceError(
            f'Reconciliation check "{c.name}" must be a KEYED, READ_ONLY activity without a '
            "policy: it is asked with the original call's key",
            type="agento-bad-reconcile",
        )
    return await workflow.execute_activity(
        cast(Callable[..., Any], check),
        args=call_args,
        activity_id=f"{attempt_id}-reconcile",
        start_to_close_timeout=timeout or timedelta(minutes=1),
    )


def idempotency_key(state: RunState, activity_id: str) -> IdempotencyKey:
    """``<workflow id>/<first run id>/<generation>/<activity id>``: the same on replay, on retry
    and after a reset (which keeps the first run id); distinct across continue-as-new (the
    generation) and across executions that reuse the workflow id (the first run id)."""
    info = workflow.info()
    return IdempotencyKey(
        f"{info.workflow_id}/{info.first_execution_run_id}/{state.generation}/{activity_id}"
    )


def _timeout_name(error: ActivityTimeout) -> str:
    return error.type.name if error.type is not None else "timeout"


def _state() -> RunState:
    run_id = workflow.info().run_id
    try:
        return RUNS[run_id]
    except KeyError:
        raise RuntimeError(
            "agento.execute_activity runs only on a worker governed by agento.AgentoPlugin "
            "(give the plugin to Client.connect or Worker)"
        ) from None


def _posture_retry_policy(d: ActivityDeclaration, given: RetryPolicy | None) -> RetryPolicy | None:
    if d.idempotency is not Idempotency.NON_IDEMPOTENT:
        return given
    if given is not None and given.maximum_attempts != 1:
        attempts = (
            "unlimited attempts"
            if given.maximum_attempts == 0
            else (f"{given.maximum_attempts} attempts")
        )
        violation = RETRY_UNSAFE.violation(d.name, attempts=attempts)
        raise GovernanceError(f"{violation} [{RETRY_UNSAFE.id}]", type=RETRY_UNSAFE.id)
    return RetryPolicy(
        initial_interval=given.initial_interval if given else timedelta(seconds=1),
        maximum_attempts=1,
    )


async def _authorize(
    d: ActivityDeclaration,
    request: object,
    activity_id: str,
    state: RunState,
    review_timeout: timedelta,
    requester: str | None,
    agent: AgentCall | None,
) -> Grant:
    """Ask until allowed, or until a reviewer approves; raise when denied for good."""
    if not isinstance(request, PolicyInput):  # a declaration the validator did not see
        raise GovernanceError(str(MISSING_INPUT.violation(d.name, count=0)), type=MISSING_INPUT.id)
    if d.policy is None:
        raise GovernanceError(str(MISSING_POLICY.violation(d.name)), type=MISSING_POLICY.id)
    decision_request, request_sha256 = _compose(
        d, d.policy, request, requester, agent, state.settings.max_request_bytes
    )
    state.reviews.settle_listing()  # before the decision's local activity, not after it
    rounds = itertools.count(1)
    while True:
        round_ = next(rounds)
        step_id = f"{activity_id}-decision-{round_}"
        decision = await ask(decision_request, step_id, state.settings)
        reasons: tuple[str, ...]
        if isinstance(decision, Unavailable):
            reason, reasons, decision_id = ReviewReason.ENGINE_UNAVAILABLE, (decision.reason,), None
        elif _version_changed(decision, d, at=step_id):
            continue
        elif decision.allow:
            return _grant(decision, request_sha256)
        elif not decision.recoverable:
            raise PolicyDenied(d.name, decision.reasons, decision.decision_id)
        else:
            reason, reasons, decision_id = (
                ReviewReason.POLICY_DENIED,
                decision.reasons,
                decision.decision_id,
            )
        outcome = await state.reviews.wait(
            review_id=f"{activity_id}-review-{round_}",
            activity=d.name,
            reason=reason,
            reasons=reasons,
            request=_shown(request),
            decision_id=decision_id,
            requester=requester,
            opened_by=step_id,
            timeout=review_timeout,
            bundle_revision=decision.bundle_revision if isinstance(decision, Decision) else None,
        )
        if not outcome.approved:
            raise ReviewRejected(d.name, outcome.review_id, outcome.reviewer, outcome.comment)
        if isinstance(decision, Decision) and not _version_changed(
            decision, d, at=outcome.review_id
        ):
            return _grant(decision, request_sha256, override=outcome.review_id)
        # An approved engine-unavailable review asks again: nothing runs without a decision.
        # So does one approved for another version of the activity than the one that would run.


def _version_changed(decision: Decision, d: ActivityDeclaration, *, at: str) -> bool:
    """Whether the decision was made for another version of the activity than the one deployed
    now: a worker redeployed while the run waited (for a reviewer, say). The policy, and any
    reviewer, saw the old version; the new one gets a decision of its own.

    Under a patch per place (``at``: the decision step or the review), so that histories
    recorded before this check replay as they ran, and a check replayed early does not decide
    for a later one (temporalio remembers each patch's answer for the whole run).
    """
    context = decision.input.get(RESERVED_KEY)
    decided = context.get("activity_version") if isinstance(context, dict) else None
    return decided != d.version and workflow.patched(f"agento-version-changed/{at}")


def _compose(
    d: ActivityDeclaration,
    policy: str,
    request: PolicyInput,
    requester: str | None,
    agent: AgentCall | None,
    max_request_bytes: int,
) -> tuple[DecisionRequest, str]:
    """The decision activity's input and the request's digest, or a `GovernanceError`
    (``PolicyError``) before the engine is asked: a request that cannot become the same JSON on
    both sides (bytes that are not UTF-8, NaN, objects pydantic cannot serialize, ...) would
    otherwise fail workflow tasks forever, or be decided on one form and run with another; one
    over the payload limit would be decided, then refused by the server."""
    info = workflow.info()
    context = DecisionContext(
        activity=d.name,
        activity_version=d.version,
        idempotency=d.idempotency,
        policy_class=d.policy_class,
        workflow_id=info.workflow_id,
        run_id=info.run_id,
        workflow_type=info.workflow_type,
        namespace=info.namespace,
        requester=requester,
        agent=agent,
    )
    try:
        document = policy_input(request, context)
        canonical_json(document).encode()  # a JSON document, in UTF-8
        request_sha256 = request_digest(request)
        [payload] = workflow.payload_converter().to_payloads([request])  # what the activity gets
    except Exception as e:
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise GovernanceError.policy(
            f'the request of activity "{d.name}" ({type(request).__name__}) cannot become a '
            f"JSON policy input: {detail}. Nothing was asked or run; fix the value or the "
            "contract (JSON has no NaN, infinity or raw bytes)"
        ) from e
    if payload.ByteSize() > max_request_bytes:
        raise GovernanceError.policy(
            f'the request of activity "{d.name}" ({type(request).__name__}) is '
            f"{payload.ByteSize():,} bytes, over the payload limit of {max_request_bytes:,} "
            "(Temporal's blob size limit): the server would refuse to schedule it. Nothing was "
            "asked or run; send a reference (a URL, a blob id and its digest) instead of the "
            "content"
        )
    return DecisionRequest(
        policy=policy,
        input=document,
        sensitive=marked_fields(type(request), Sensitive),
        needed=marked_fields(type(request), Needed),
    ), request_sha256


def _grant(decision: Decision, request_sha256: str, override: str | None = None) -> Grant:
    return Grant(
        decision_id=decision.decision_id,
        input_sha256=decision.input_sha256,
        request_sha256=request_sha256,
        override_review_id=override,
    )


def request_digest(request: PolicyInput) -> str:
    """Digest of a request's JSON form, recomputed on the activity side from what arrived."""
    text = canonical_json(request.model_dump(mode="json"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _shown(request: object) -> dict[str, JsonValue] | None:
    """A request as reviewers see it: sensitive fields hashed."""
    if not isinstance(request, PolicyInput):
        return None
    return redact(request.model_dump(mode="json"), marked_fields(type(request), Sensitive))
