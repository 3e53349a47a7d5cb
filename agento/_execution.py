"""`agento.execute_activity`: a governed activity call from workflow code.

Temporal's ``workflow.execute_activity`` plus the governed layer: the decision is asked through a
recorded step (so it is in history), denials pause for review or fail, the retry policy follows
the idempotency posture, and the activity receives a stable idempotency key and a header proving
which decision allowed it.
"""

from __future__ import annotations

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
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeout
from temporalio.workflow import ActivityCancellationType

from agento._decision import Decision, DecisionContext, canonical_json, policy_input
from agento._declaration import ActivityDeclaration, GovernedActivity, IdempotencyKey, PolicyInput
from agento._errors import (
    GovernanceError,
    PolicyDenied,
    PolicyError,
    ReviewRejected,
    ReviewTimedOut,
)
from agento._postures import Idempotency, PolicyClass
from agento._recording import Needed, Sensitive, marked_fields, redact
from agento._review import PendingReview, ResolveReview, ReviewOutcome, ReviewReason
from agento.rules import MISSING_POLICY, RETRY_UNSAFE, ParameterKind

DECISION_ACTIVITY = "agento.decide"
CALL_HEADER = "agento"
GENERATION_HEADER = "agento-generation"

_In = TypeVar("_In")
_R = TypeVar("_R")
_Keyed: TypeAlias = Literal[Idempotency.KEYED]
_ReadOnly: TypeAlias = Literal[PolicyClass.READ_ONLY]


class DecisionRequest(pydantic.BaseModel):
    """The decision activity's input: which policy, the input document, and how to record it."""

    policy: str
    input: dict[str, JsonValue]
    sensitive: tuple[str, ...] = ()
    needed: tuple[str, ...] = ()


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


@dataclass(frozen=True)
class DecisionSettings:
    """How a workflow asks for decisions: set once on `agento.AgentoPlugin`."""

    local: bool = True
    """Ask through a local activity (one history event, a few ms) or a regular one (six)."""
    attempts: int = 5
    """How often an unavailable engine is asked (1 s apart, doubling up to 15 s) before the
    activity pauses for review: five attempts span about 15 seconds."""


@dataclass
class RunState:
    """agento's state for one workflow run on this worker."""

    settings: DecisionSettings
    generation: int
    calls: int = 0
    pending: dict[str, PendingReview] = field(default_factory=dict)
    outcomes: dict[str, ReviewOutcome] = field(default_factory=dict)
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
    reconcile: GovernedActivity[_Keyed, _ReadOnly, ..., _R | None] | None = None,
) -> _R: ...
async def execute_activity(
    activity: GovernedActivity[Any, Any, ..., Any],
    request: Any = _NO_REQUEST,
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
    reconcile: GovernedActivity[Any, Any, ..., Any] | None = None,
) -> Any:
    """Run a governed activity from workflow code; options mean what Temporal's do.

    Args:
        review_timeout: How long a paused activity waits for a reviewer before the workflow
            fails with `agento.ReviewTimedOut`.
        requester: Who asked for this run; that person may not approve its review.
        reconcile: For a NON_IDEMPOTENT activity whose outcome became unknown (it timed out):
            a KEYED, READ_ONLY activity taking the same arguments, asked with the original call's
            key whether the effect happened. It returns the effect's result if it did, and
            ``None`` if it did not, in which case the call runs once more with the same key.
            Without one, an unknown outcome pauses for reconciliation review.
    """
    d = activity.declaration
    state = _state()
    state.calls += 1
    activity_id = f"agento-{state.calls}-{d.name}"
    call_args = list(args) if request is _NO_REQUEST else [request]
    retry_policy = _posture_retry_policy(d, retry_policy)
    key = None
    if d.parameters and d.parameters[0].kind is ParameterKind.KEY:
        info = workflow.info()
        key = IdempotencyKey(f"{info.workflow_id}/{state.generation}/{activity_id}")
        call_args = [key, *call_args]

    grant = None
    if d.is_policy_gated:
        grant = await _authorize(d, call_args[-1], activity_id, state, review_timeout, requester)

    record = CallRecord(
        activity=d.name,
        version=d.version,
        idempotency=d.idempotency,
        policy_class=d.policy_class,
        idempotency_key=key,
        grant=grant,
    )
    attempt_id = activity_id
    reconciled = False
    for rerun in itertools.count(1):
        state.headers[attempt_id] = workflow.payload_converter().to_payload(record)
        try:
            return await workflow.execute_activity(
                cast(Callable[..., Any], activity),
                args=call_args,
                activity_id=attempt_id,
                task_queue=task_queue,
                schedule_to_close_timeout=schedule_to_close_timeout,
                schedule_to_start_timeout=schedule_to_start_timeout,
                start_to_close_timeout=start_to_close_timeout,
                heartbeat_timeout=heartbeat_timeout,
                retry_policy=retry_policy,
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
                found = await _reconcile(reconcile, call_args, attempt_id, start_to_close_timeout)
                if found is not None:
                    return found
                attempt_id = f"{activity_id}-rerun-{rerun}"
                continue
            outcome = await _review(
                state,
                review_id=f"{attempt_id}-outcome",
                activity=d.name,
                reason=ReviewReason.OUTCOME_UNKNOWN,
                reasons=(f"outcome unknown: the activity timed out ({_timeout_name(e.cause)})",),
                request=call_args[-1],
                decision_id=grant.decision_id if grant else None,
                requester=requester,
                timeout=review_timeout,
            )
            if not outcome.approved:
                raise ReviewRejected(
                    d.name, outcome.review_id, outcome.reviewer, outcome.comment
                ) from e
            attempt_id = f"{activity_id}-rerun-{rerun}"


async def _reconcile(
    check: GovernedActivity[Any, Any, ..., Any],
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
) -> Grant:
    """Ask until allowed, or until a reviewer approves; raise when denied for good."""
    if not isinstance(request, PolicyInput):
        raise GovernanceError(
            f'Activity "{d.name}" is policy-gated but was called without its PolicyInput request',
            type="agento-missing-input",
        )
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
    )
    if d.policy is None:
        raise GovernanceError(str(MISSING_POLICY.violation(d.name)), type=MISSING_POLICY.id)
    try:
        document = policy_input(request, context)
    except PolicyError as e:  # a contract that cannot become an input document: fail, never run
        raise GovernanceError(str(e), type="PolicyError") from e
    decision_request = DecisionRequest(
        policy=d.policy,
        input=document,
        sensitive=marked_fields(type(request), Sensitive),
        needed=marked_fields(type(request), Needed),
    )
    rounds = itertools.count(1)
    while True:
        round_ = next(rounds)
        decision = await _decide(decision_request, state.settings)
        if decision is not None and decision.allow:
            return _grant(decision, request)
        if decision is not None and not decision.recoverable:
            raise PolicyDenied(d.name, decision.reasons, decision.decision_id)
        outcome = await _review(
            state,
            review_id=f"{activity_id}-review-{round_}",
            activity=d.name,
            reason=ReviewReason.POLICY_DENIED if decision else ReviewReason.ENGINE_UNAVAILABLE,
            reasons=decision.reasons if decision else ("policy engine unavailable",),
            request=request,
            decision_id=decision.decision_id if decision else None,
            requester=requester,
            timeout=review_timeout,
        )
        if not outcome.approved:
            raise ReviewRejected(d.name, outcome.review_id, outcome.reviewer, outcome.comment)
        if decision is not None:
            return _grant(decision, request, override=outcome.review_id)
        # An approved engine-unavailable review asks again: nothing runs without a decision.


async def _decide(request: DecisionRequest, settings: DecisionSettings) -> Decision | None:
    """The decision, recorded in history as the decision activity's result; ``None`` when the
    engine stayed unavailable for every attempt."""
    retry = RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=15),
        maximum_attempts=settings.attempts,
        non_retryable_error_types=["PolicyError"],
    )
    ask = workflow.execute_local_activity if settings.local else workflow.execute_activity
    try:
        decision: Decision = await ask(
            DECISION_ACTIVITY,
            request,
            result_type=Decision,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=retry,
        )
        return decision
    except (ActivityError, ApplicationError) as e:
        # A local activity's failure arrives unwrapped; a regular activity's inside ActivityError.
        cause = e.cause if isinstance(e, ActivityError) else e
        if isinstance(cause, ApplicationError) and cause.type == "PolicyError":
            raise GovernanceError(cause.message, type="PolicyError") from e
        return None


def _grant(decision: Decision, request: PolicyInput, override: str | None = None) -> Grant:
    return Grant(
        decision_id=decision.decision_id,
        input_sha256=decision.input_sha256,
        request_sha256=request_digest(request),
        override_review_id=override,
    )


def request_digest(request: PolicyInput) -> str:
    """Digest of a request's JSON form, recomputed on the activity side from what arrived."""
    text = canonical_json(request.model_dump(mode="json"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


async def _review(
    state: RunState,
    *,
    review_id: str,
    activity: str,
    reason: ReviewReason,
    reasons: Sequence[str],
    request: object,
    decision_id: str | None,
    requester: str | None,
    timeout: timedelta,
) -> ReviewOutcome:
    """Pause until a reviewer resolves the review (an update, so it is in history)."""
    state.pending[review_id] = PendingReview(
        review_id=review_id,
        activity=activity,
        reason=reason,
        reasons=tuple(reasons),
        request=_shown(request),
        decision_id=decision_id,
        requester=requester,
        since=workflow.now(),
    )
    try:
        await workflow.wait_condition(lambda: review_id in state.outcomes, timeout=timeout)
    except TimeoutError:
        raise ReviewTimedOut(
            activity, review_id, f"{timeout.total_seconds() / 3600:g} hours"
        ) from None
    finally:
        state.pending.pop(review_id, None)
    return state.outcomes[review_id]


def _shown(request: object) -> dict[str, JsonValue] | None:
    """A request as reviewers see it: sensitive fields hashed."""
    if not isinstance(request, PolicyInput):
        return None
    return redact(request.model_dump(mode="json"), marked_fields(type(request), Sensitive))


def validate_resolution(state: RunState, resolution: ResolveReview) -> None:
    """The update validator: a rejection here writes nothing to history."""
    pending = state.pending.get(resolution.review_id)
    if pending is None:
        resolved = resolution.review_id in state.outcomes
        raise ValueError(
            f"review {resolution.review_id!r} is "
            f"{'already resolved' if resolved else 'not pending in this workflow'}"
        )
    if pending.requester is not None and resolution.reviewer == pending.requester:
        raise ValueError(f"{resolution.reviewer} requested this run and may not review it")


def resolve(state: RunState, resolution: ResolveReview) -> ReviewOutcome:
    """The update handler: record the outcome the waiting call resumes with."""
    pending = state.pending[resolution.review_id]
    outcome = ReviewOutcome(
        review_id=resolution.review_id,
        activity=pending.activity,
        approved=resolution.approve,
        reviewer=resolution.reviewer,
        comment=resolution.comment,
        resolved_at=workflow.now(),
    )
    state.outcomes[resolution.review_id] = outcome
    return outcome
