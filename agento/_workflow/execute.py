"""`agento.execute_activity`: a governed activity call from workflow code.

Temporal's ``workflow.execute_activity`` plus the governed layer: the decision is asked through a
recorded step (so it is in history), denials pause for review or fail, the retry policy follows
the idempotency posture, and the activity receives a stable idempotency key and a header proving
which decision allowed it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, TypeAlias, TypeVar, cast, overload

from temporalio import workflow
from temporalio.common import Priority, RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.exceptions import TimeoutError as ActivityTimeout
from temporalio.workflow import ActivityCancellationType

from agento._decision import protocol
from agento._decision.protocol import CallRecord, Grant
from agento._decision.record import RESERVED_KEY, AgentCall, Decision, DecisionContext
from agento._decision.request import compose, shown
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
from agento._workflow import state as run_state
from agento._workflow.decision_step import Unavailable, ask
from agento._workflow.state import RunState
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

_In = TypeVar("_In")
_R = TypeVar("_R")
_Keyed: TypeAlias = Literal[Idempotency.KEYED]
_ReadOnly: TypeAlias = Literal[PolicyClass.READ_ONLY]


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
        _Options(
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
        ),
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
            _Options(
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
            ),
        )
    )


@dataclass(frozen=True)
class _Options:
    """The options of one governed call, as `execute_activity` was given them."""

    task_queue: str | None
    schedule_to_close_timeout: timedelta | None
    schedule_to_start_timeout: timedelta | None
    start_to_close_timeout: timedelta | None
    heartbeat_timeout: timedelta | None
    cancellation_type: ActivityCancellationType
    summary: str | None
    priority: Priority
    review_timeout: timedelta
    requester: str | None
    agent: AgentCall | None
    reconcile: AnyActivity | None


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

    @property
    def declaration(self) -> ActivityDeclaration:
        return self.activity.declaration


def _prepare(
    activity: AnyActivity,
    request: Any,
    extra: Sequence[object],
    args: Sequence[Any],
    retry_policy: RetryPolicy | None,
) -> _Call:
    _check_call(activity, request, extra, args)
    d = activity.declaration
    state = run_state.required()
    activity_id = protocol.call_id(state.next_call(), d.name)
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


async def _execute(call: _Call, options: _Options) -> Any:
    """Decide (and review) if the activity is policy-gated, then run it as its posture says:
    a NON_IDEMPOTENT activity whose outcome became unknown is reconciled or reviewed, and run
    again only when that says it did not act."""
    d = call.declaration
    grant = await _authorize(call, options) if d.is_policy_gated else None
    record = CallRecord(
        activity=d.name,
        version=d.version,
        idempotency=d.idempotency,
        policy_class=d.policy_class,
        idempotency_key=call.key,
        grant=grant,
    )
    attempt_id, reconciled = call.activity_id, False
    for rerun in itertools.count(1):
        try:
            return await _attempt(call, options, record, attempt_id)
        except ActivityError as e:
            if d.idempotency is not Idempotency.NON_IDEMPOTENT or not isinstance(
                e.cause, ActivityTimeout
            ):
                raise
            if options.reconcile is not None and not reconciled:
                reconciled = True  # a re-run that times out too goes to a reviewer
                found = await _reconcile(options.reconcile, call.args, attempt_id, options)
                if found is not None:
                    return found
            else:
                await _review_outcome(call, options, attempt_id, grant, e)
        attempt_id = protocol.rerun_id(call.activity_id, rerun)


async def _attempt(call: _Call, options: _Options, record: CallRecord, attempt_id: str) -> Any:
    """One start of the activity, carrying its `CallRecord` header."""
    call.state.attach(attempt_id, workflow.payload_converter().to_payload(record))
    return await workflow.execute_activity(
        cast(Callable[..., Any], call.activity),
        args=call.args,
        activity_id=attempt_id,
        task_queue=options.task_queue,
        schedule_to_close_timeout=options.schedule_to_close_timeout,
        schedule_to_start_timeout=options.schedule_to_start_timeout,
        start_to_close_timeout=options.start_to_close_timeout,
        heartbeat_timeout=options.heartbeat_timeout,
        retry_policy=call.retry_policy,
        cancellation_type=options.cancellation_type,
        summary=options.summary,
        priority=options.priority,
    )


async def _review_outcome(
    call: _Call, options: _Options, attempt_id: str, grant: Grant | None, timed_out: ActivityError
) -> None:
    """Pause until a reviewer says the timed-out attempt did not act; raise if rejected."""
    d, timeout = call.declaration, cast(ActivityTimeout, timed_out.cause)
    outcome = await call.state.reviews.wait(
        review_id=protocol.outcome_review_id(attempt_id),
        activity=d.name,
        reason=ReviewReason.OUTCOME_UNKNOWN,
        reasons=(f"outcome unknown: the activity timed out ({_timeout_name(timeout)})",),
        request=shown(call.args[-1]),
        decision_id=grant.decision_id if grant else None,
        requester=options.requester,
        opened_by=attempt_id,
        timeout=options.review_timeout,
    )
    if not outcome.approved:
        raise ReviewRejected(
            d.name, outcome.review_id, outcome.reviewer, outcome.comment
        ) from timed_out


async def _reconcile(
    check: AnyActivity, call_args: list[Any], attempt_id: str, options: _Options
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
        activity_id=protocol.reconcile_id(attempt_id),
        start_to_close_timeout=options.start_to_close_timeout or timedelta(minutes=1),
    )


def idempotency_key(state: RunState, activity_id: str) -> IdempotencyKey:
    """``<workflow id>/<first run id>/<generation>/<activity id>``: the same on replay, on retry
    and after a reset (which keeps the first run id); distinct across continue-as-new (the
    generation) and across executions that reuse the workflow id (the first run id)."""
    info = workflow.info()
    return IdempotencyKey(
        protocol.idempotency_key(
            info.workflow_id, info.first_execution_run_id, state.generation, activity_id
        )
    )


def _timeout_name(error: ActivityTimeout) -> str:
    return error.type.name if error.type is not None else "timeout"


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


async def _authorize(call: _Call, options: _Options) -> Grant:
    """Ask until allowed, or until a reviewer approves; raise when denied for good."""
    d, state, request = call.declaration, call.state, call.args[-1]
    if not isinstance(request, PolicyInput):  # a declaration the validator did not see
        raise GovernanceError(str(MISSING_INPUT.violation(d.name, count=0)), type=MISSING_INPUT.id)
    if d.policy is None:
        raise GovernanceError(str(MISSING_POLICY.violation(d.name)), type=MISSING_POLICY.id)
    decision_request, request_sha256 = _compose(d, d.policy, request, options, state)
    state.reviews.settle_listing()  # before the decision's local activity, not after it
    rounds = itertools.count(1)
    while True:
        round_ = next(rounds)
        step_id = protocol.decision_step_id(call.activity_id, round_)
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
            review_id=protocol.review_id(call.activity_id, round_),
            activity=d.name,
            reason=reason,
            reasons=reasons,
            request=shown(request),
            decision_id=decision_id,
            requester=options.requester,
            opened_by=step_id,
            timeout=options.review_timeout,
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
    return decided != d.version and workflow.patched(protocol.version_changed_patch(at))


def _compose(
    d: ActivityDeclaration,
    policy: str,
    request: PolicyInput,
    options: _Options,
    state: RunState,
) -> tuple[protocol.DecisionRequest, str]:
    """The decision activity's input for this run, and the request's digest."""
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
        requester=options.requester,
        agent=options.agent,
    )
    to_payloads = workflow.payload_converter().to_payloads
    return compose(
        request,
        context,
        policy=policy,
        max_request_bytes=state.settings.max_request_bytes,
        payload_size=lambda r: to_payloads([r])[0].ByteSize(),  # what the activity gets
    )


def _grant(decision: Decision, request_sha256: str, override: str | None = None) -> Grant:
    return Grant(
        decision_id=decision.decision_id,
        input_sha256=decision.input_sha256,
        request_sha256=request_sha256,
        override_review_id=override,
    )
