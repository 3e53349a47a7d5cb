"""The audit report: one run's workflow history, read as the ordered trail an auditor asks for.

Every entry comes from an event of the history itself (its ``event_id`` says which), so the
report adds nothing the history does not hold: the history is the audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Annotated, Final, Literal

import pydantic
from pydantic import JsonValue
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import PydanticPayloadConverter

from agento._decision.protocol import (
    CALL_HEADER,
    DECISION_ACTIVITY,
    RESOLVE_REVIEW_UPDATE,
    CallRecord,
    call_of_attempt,
    call_of_review,
    is_reviewer_step,
)
from agento._decision.record import RESERVED_KEY, AgentCall, Decision
from agento._postures import Idempotency, PolicyClass
from agento._reviews.models import ReviewOutcome
from agento._reviews.resolution import (
    ResolutionRefused,
    ResolutionStatement,
    ReviewerIdentity,
    ReviewKeys,
    verify_resolution,
)
from agento.rules import BYPASS

SCHEMA_VERSION: Final = "agento.audit/3"
_convert = PydanticPayloadConverter()


class _Entry(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)

    event_id: int
    time: datetime


class WorkflowStarted(_Entry):
    kind: Literal["workflow_started"] = "workflow_started"
    workflow_type: str
    input: list[JsonValue]


class DecisionRecorded(_Entry):
    kind: Literal["decision"] = "decision"
    decision: Decision
    step_id: str | None = None
    """The decision step's activity id (``agento-2-route-decision-1``); reviews cite it."""


class DecisionFailed(_Entry):
    """A decision step that returned no Decision: the engine stayed unavailable for every
    attempt (a review follows), or the policy could not be asked at all (the run fails)."""

    kind: Literal["decision_failed"] = "decision_failed"
    step_id: str | None
    failure: str


class ReviewResolved(_Entry):
    kind: Literal["review"] = "review"
    outcome: ReviewOutcome
    opened_by_event: int | None = None
    """The event of the step that opened the review: the decision that denied, the decision step
    that found the engine unavailable, or the activity whose outcome became unknown."""
    principal: str | None = None
    """Who sent the update, as the Temporal server attributes it (``type:name``), where the
    server stamps history events with a principal."""


class ReviewAttemptRefused(_Entry):
    """A resolution the workflow took in and then refused: the reviewer policy denied the
    reviewer (its decision is the entry before), or could not be asked. The review stayed
    pending. Refusals by the update validator leave no event, so they are not here."""

    kind: Literal["review_refused"] = "review_refused"
    review_id: str | None
    reviewer: str | None
    refusal: str
    principal: str | None = None


class ActivityRun(_Entry):
    kind: Literal["activity"] = "activity"
    activity: str
    activity_id: str
    version: str | None
    idempotency: Idempotency | None
    policy_class: PolicyClass | None
    idempotency_key: str | None
    decision_id: str | None
    override_review_id: str | None
    governed: bool
    """Whether it was started through agento (with agento's header)."""
    attempts: int
    input: list[JsonValue]
    status: Literal["scheduled", "completed", "failed", "timed_out", "canceled"]
    output: JsonValue = None
    failure: str | None = None
    refused: str | None = None
    """The rule a worker refused the start under (``agento-bypass``: a policy-gated activity
    started without agento's grant); it did not run."""


class WorkflowClosed(_Entry):
    kind: Literal["workflow_closed"] = "workflow_closed"
    status: str
    result: JsonValue = None
    failure: str | None = None


_AnyEntry = (
    WorkflowStarted
    | DecisionRecorded
    | DecisionFailed
    | ReviewResolved
    | ReviewAttemptRefused
    | ActivityRun
    | WorkflowClosed
)
AuditEntry = Annotated[_AnyEntry, pydantic.Field(discriminator="kind")]


class AuditReport(pydantic.BaseModel):
    """An ordered report of one workflow run (``agento audit``'s JSON; schema in docs/)."""

    model_config = pydantic.ConfigDict(frozen=True)

    schema_version: Literal["agento.audit/3"] = SCHEMA_VERSION
    workflow_id: str
    workflow_type: str | None
    entries: list[AuditEntry]
    findings: list[str] = []
    """Every place the history breaks agento's promise (`invariant_violations`), refused
    attempts included; ``agento audit`` exits 1 when there is one."""

    @property
    def decisions(self) -> list[DecisionRecorded]:
        return [e for e in self.entries if isinstance(e, DecisionRecorded)]

    @property
    def activities(self) -> list[ActivityRun]:
        return [e for e in self.entries if isinstance(e, ActivityRun)]


def audit_report(history: WorkflowHistory) -> AuditReport:
    """Read a workflow history (from the server, or exported as JSON) into its audit report."""
    reader = _Reader(history.workflow_id)
    for event in history.events:
        reader.read(event)
    return reader.report()


class _Reader:
    """One pass over a history: the entries read so far, and what later events look up in them
    (an activity's started, completed, ... events name the event that scheduled it)."""

    def __init__(self, workflow_id: str) -> None:
        self.workflow_id = workflow_id
        self.workflow_type: str | None = None
        self.entries: list[_AnyEntry] = []
        self.activities: dict[int, int] = {}  # scheduled event id -> position in entries
        self.decision_steps: dict[int, str] = {}  # a decision activity's scheduled event -> step
        self.steps: dict[str, int] = {}  # decision step or activity id -> its entry's event
        self.updates: dict[str, HistoryEvent] = {}  # update id -> its accepted event

    def read(self, event: HistoryEvent) -> None:
        """Add what one event says: its kind's method in `_HANDLERS`, or the close it records."""
        time = event.event_time.ToDatetime(tzinfo=UTC)
        handler = _HANDLERS.get(event.WhichOneof("attributes") or "")
        if handler is not None:
            handler(self, event, time)
        elif closed := _closed(event, time):
            self.entries.append(closed)

    def report(self) -> AuditReport:
        return AuditReport(
            workflow_id=self.workflow_id,
            workflow_type=self.workflow_type,
            entries=self.entries,
            findings=invariant_violations(self.entries, _gated_in(self.entries)),
        )

    def _workflow_started(self, event: HistoryEvent, time: datetime) -> None:
        started = event.workflow_execution_started_event_attributes
        self.workflow_id = started.workflow_id or self.workflow_id
        self.workflow_type = started.workflow_type.name
        self.entries.append(
            WorkflowStarted(
                event_id=event.event_id,
                time=time,
                workflow_type=self.workflow_type,
                input=[_json(p) for p in started.input.payloads],
            )
        )

    def _marker(self, event: HistoryEvent, time: datetime) -> None:
        """A local decision step's marker: its decision, or why it has none."""
        marker = event.marker_recorded_event_attributes
        step = _decision_step(marker.details["data"].payloads if "data" in marker.details else ())
        if step is None:
            return  # a marker of something else than agento's decision step
        if "result" in marker.details and marker.details["result"].payloads:
            decision = _convert.from_payload(marker.details["result"].payloads[0], Decision)
            self._decided(event, time, step, decision)
        else:
            self._undecided(event, time, step, marker.failure)

    def _decided(self, event: HistoryEvent, time: datetime, step: str, decision: Decision) -> None:
        self.steps[step] = event.event_id
        self.entries.append(
            DecisionRecorded(event_id=event.event_id, time=time, decision=decision, step_id=step)
        )

    def _undecided(self, event: HistoryEvent, time: datetime, step: str, failure: Failure) -> None:
        self.steps[step] = event.event_id
        self.entries.append(
            DecisionFailed(
                event_id=event.event_id, time=time, step_id=step, failure=_failure_text(failure)
            )
        )

    def _activity_scheduled(self, event: HistoryEvent, time: datetime) -> None:
        """An activity's entry, declared as agento's header records it; a regular decision
        step's activity is only noted, its decision comes with its completion."""
        scheduled = event.activity_task_scheduled_event_attributes
        if scheduled.activity_type.name == DECISION_ACTIVITY:
            self.decision_steps[event.event_id] = scheduled.activity_id
            return
        header = scheduled.header.fields.get(CALL_HEADER)
        record = _convert.from_payload(header, CallRecord) if header else None
        grant = record.grant if record else None
        self.activities[event.event_id] = len(self.entries)
        self.steps[scheduled.activity_id] = event.event_id
        self.entries.append(
            ActivityRun(
                event_id=event.event_id,
                time=time,
                activity=scheduled.activity_type.name,
                activity_id=scheduled.activity_id,
                version=record.version if record else None,
                idempotency=record.idempotency if record else None,
                policy_class=record.policy_class if record else None,
                idempotency_key=record.idempotency_key if record else None,
                decision_id=grant.decision_id if grant else None,
                override_review_id=grant.override_review_id if grant else None,
                governed=record is not None,
                attempts=0,
                input=[_json(p) for p in scheduled.input.payloads],
                status="scheduled",
            )
        )

    def _activity_started(self, event: HistoryEvent, time: datetime) -> None:
        began = event.activity_task_started_event_attributes
        self._update(began.scheduled_event_id, attempts=began.attempt)

    def _activity_completed(self, event: HistoryEvent, time: datetime) -> None:
        done = event.activity_task_completed_event_attributes
        if (step := self.decision_steps.get(done.scheduled_event_id)) is not None:
            decision = _convert.from_payload(done.result.payloads[0], Decision)
            self._decided(event, time, step, decision)
            return
        output = _json(done.result.payloads[0]) if done.result.payloads else None
        self._update(done.scheduled_event_id, status="completed", output=output)

    def _activity_failed(self, event: HistoryEvent, time: datetime) -> None:
        fail = event.activity_task_failed_event_attributes
        self._activity_ended(event, time, fail.scheduled_event_id, fail.failure, timed_out=False)

    def _activity_timed_out(self, event: HistoryEvent, time: datetime) -> None:
        late = event.activity_task_timed_out_event_attributes
        self._activity_ended(event, time, late.scheduled_event_id, late.failure, timed_out=True)

    def _activity_ended(
        self,
        event: HistoryEvent,
        time: datetime,
        scheduled: int,
        failure: Failure,
        *,
        timed_out: bool,
    ) -> None:
        """A failed or timed-out activity; a decision step's means it returned no decision."""
        if (step := self.decision_steps.get(scheduled)) is not None:
            self._undecided(event, time, step, failure)
            return
        kind = failure.application_failure_info.type
        self._update(
            scheduled,
            status="timed_out" if timed_out else "failed",
            failure=failure.message or ("timed out" if timed_out else "failed"),
            refused=kind if kind == BYPASS.id else None,
        )

    def _activity_canceled(self, event: HistoryEvent, time: datetime) -> None:
        canceled = event.activity_task_canceled_event_attributes
        self._update(canceled.scheduled_event_id, status="canceled")

    def _update(self, scheduled: int, **changes: object) -> None:
        """Apply a later event (started, completed, ...) to the activity it belongs to."""
        position = self.activities.get(scheduled)
        if position is not None:
            self.entries[position] = self.entries[position].model_copy(update=changes)

    def _update_accepted(self, event: HistoryEvent, time: datetime) -> None:
        """Kept until the update completes: the accepted event holds what it asked."""
        accepted = event.workflow_execution_update_accepted_event_attributes
        self.updates[accepted.protocol_instance_id] = event

    def _update_completed(self, event: HistoryEvent, time: datetime) -> None:
        """A review update's end: the resolution it recorded, or why the workflow refused it."""
        completed = event.workflow_execution_update_completed_event_attributes
        accepted = self.updates.get(completed.meta.update_id)
        review = _review_update(accepted)
        if review is None:
            return  # an update of the workflow's own, not a review
        principal = _principal(accepted) or _principal(event)
        outcome = completed.outcome
        if outcome.HasField("success") and outcome.success.payloads:
            resolved = _convert.from_payload(outcome.success.payloads[0], ReviewOutcome)
            self.entries.append(
                ReviewResolved(
                    event_id=event.event_id,
                    time=time,
                    outcome=resolved,
                    opened_by_event=self.steps.get(resolved.opened_by or ""),
                    principal=principal,
                )
            )
        elif outcome.HasField("failure"):
            self.entries.append(
                ReviewAttemptRefused(
                    event_id=event.event_id,
                    time=time,
                    review_id=_text(review.get("review_id")),
                    reviewer=_text(review.get("reviewer")),
                    refusal=_failure_text(outcome.failure),
                    principal=principal,
                )
            )


# The reader's method for each kind of event it reads, by the event's attributes field.
_HANDLERS: Final[dict[str, Callable[[_Reader, HistoryEvent, datetime], None]]] = {
    "workflow_execution_started_event_attributes": _Reader._workflow_started,
    "marker_recorded_event_attributes": _Reader._marker,
    "activity_task_scheduled_event_attributes": _Reader._activity_scheduled,
    "activity_task_started_event_attributes": _Reader._activity_started,
    "activity_task_completed_event_attributes": _Reader._activity_completed,
    "activity_task_failed_event_attributes": _Reader._activity_failed,
    "activity_task_timed_out_event_attributes": _Reader._activity_timed_out,
    "activity_task_canceled_event_attributes": _Reader._activity_canceled,
    "workflow_execution_update_accepted_event_attributes": _Reader._update_accepted,
    "workflow_execution_update_completed_event_attributes": _Reader._update_completed,
}


def _gated_in(entries: Sequence[_AnyEntry]) -> set[str]:
    """The activities the history itself shows to be policy-gated: started with a grant or as
    SIDE_EFFECT, or refused for starting without one. An activity that ran ungoverned on a
    worker without agento leaves no such trace: give its declaration to `invariant_violations`
    (``agento.testing.governance_violations`` does)."""
    return {
        e.activity
        for e in entries
        if isinstance(e, ActivityRun)
        and (e.decision_id or e.policy_class is PolicyClass.SIDE_EFFECT or e.refused)
    }


def invariant_violations(entries: Sequence[AuditEntry], gated: Collection[str]) -> list[str]:
    """Every place in ``entries`` that breaks agento's promise, given the names of the
    policy-gated activities: a policy-gated activity scheduled without a preceding recorded
    allow or a recorded approval that overrode a deny (refused by the worker, or not); an
    activity run after a review of the same call was rejected; a review resolved more than
    once; a review resolved on the strength of a reviewer decision that is not a recorded allow;
    an activity granted by a reviewer's decision."""
    decisions: dict[str, Decision] = {}
    resolved: dict[str, bool] = {}  # review id -> approved, as first resolved
    rejected_calls: set[str] = set()
    reviewer_decisions: set[str] = set()
    problems: list[str] = []
    for entry in entries:
        if isinstance(entry, DecisionRecorded):
            decisions[entry.decision.decision_id] = entry.decision
            if is_reviewer_step(entry.step_id or ""):
                reviewer_decisions.add(entry.decision.decision_id)
        elif isinstance(entry, ReviewResolved):
            outcome = entry.outcome
            allowed_by = outcome.reviewer_decision_id
            if allowed_by is not None and not (
                allowed_by in reviewer_decisions and decisions[allowed_by].allow
            ):
                problems.append(
                    f"event {entry.event_id}: review {outcome.review_id} was resolved by "
                    f"{outcome.reviewer} citing reviewer decision {allowed_by}, which is not a "
                    "recorded allow before it"
                )
            if outcome.review_id in resolved:
                problems.append(
                    f"event {entry.event_id}: review {outcome.review_id} was resolved again "
                    f"({'approved' if outcome.approved else 'rejected'} by {outcome.reviewer})"
                )
            resolved.setdefault(outcome.review_id, outcome.approved)
            if not outcome.approved:
                rejected_calls.add(call_of_review(outcome.review_id))
        elif isinstance(entry, ActivityRun):
            problem = None
            if call_of_attempt(entry.activity_id) in rejected_calls:
                problem = "ran after a review of the same call was rejected"
            elif entry.decision_id in reviewer_decisions:
                problem = f"cites reviewer decision {entry.decision_id} as its grant"
            elif entry.activity in gated:
                problem = _ungranted(entry, decisions, resolved)
            if problem:
                problems.append(
                    f"event {entry.event_id}: {entry.activity} ({entry.activity_id}) {problem}"
                )
    return problems


def _ungranted(
    run: ActivityRun, decisions: dict[str, Decision], resolved: dict[str, bool]
) -> str | None:
    if run.decision_id is None:
        if run.refused:
            return (
                f"was scheduled without agento's grant, and refused by the worker "
                f"({run.refused}): it did not run"
            )
        return "was scheduled without agento's grant"
    decision = decisions.get(run.decision_id)
    if decision is None:
        return f"cites decision {run.decision_id}, which is not recorded before it"
    if decision.allow or (run.override_review_id and resolved.get(run.override_review_id)):
        return None
    return f"was denied by decision {run.decision_id} and no approved review overrides it"


def signature_findings(report: AuditReport, keys: ReviewKeys) -> list[tuple[int, str, str]]:
    """Every resolution of ``report`` re-checked from history alone: (event id, review id, what
    was found). A finding is ``verified with key K``, ``unsigned``, or why the signature fails:
    forged, expired at resolution, untrusted key, or a token that says something else than the
    recorded outcome."""
    findings = []
    for e in report.entries:
        if not isinstance(e, ReviewResolved):
            continue
        o = e.outcome
        if o.signature is None:
            findings.append((e.event_id, o.review_id, "unsigned"))
            continue
        try:
            claims = verify_resolution(o.signature, keys, now=o.resolved_at)
        except ResolutionRefused as refused:
            findings.append((e.event_id, o.review_id, f"FAILED: {refused}"))
            continue
        recorded = ResolutionStatement(
            workflow_id=report.workflow_id,
            review_id=o.review_id,
            decision_id=o.decision_id,
            approve=o.approved,
            comment=o.comment,
            reviewer=o.identity or ReviewerIdentity(subject=o.reviewer),
        )
        wrong = [what for what, *_ in claims.differences(recorded)]
        found = (
            f"FAILED: the token signs another {', '.join(wrong)} than the history records"
            if wrong
            else f"verified with key {claims.key_id}"
        )
        findings.append((e.event_id, o.review_id, found))
    return findings


def _review_update(accepted: HistoryEvent | None) -> dict[str, JsonValue] | None:
    """The resolution an accepted review update carried, as JSON; ``None`` for another update."""
    if accepted is None:
        return None
    request = accepted.workflow_execution_update_accepted_event_attributes.accepted_request
    if request.input.name != RESOLVE_REVIEW_UPDATE:
        return None
    payloads = request.input.args.payloads
    value = _json(payloads[0]) if len(payloads) == 1 else None
    return value if isinstance(value, dict) else {}


def _principal(event: HistoryEvent | None) -> str | None:
    if event is None or not event.HasField("principal") or not event.principal.name:
        return None
    p = event.principal
    return f"{p.type}:{p.name}" if p.type else p.name


def _text(value: JsonValue) -> str | None:
    return value if isinstance(value, str) else None


def _failure_text(failure: Failure) -> str:
    """A failure and its causes on one line: ``PolicyEngineUnavailable: OPA ... did not answer``."""
    parts = []
    current: Failure | None = failure
    while current is not None and (current.message or current.application_failure_info.type):
        kind = current.application_failure_info.type
        parts.append(f"{kind}: {current.message}" if kind else current.message)
        current = current.cause if current.HasField("cause") else None
    return " <- ".join(parts) or "failed"


def _closed(event: HistoryEvent, time: datetime) -> WorkflowClosed | None:
    if event.HasField("workflow_execution_completed_event_attributes"):
        payloads = event.workflow_execution_completed_event_attributes.result.payloads
        result = _json(payloads[0]) if payloads else None
        return WorkflowClosed(event_id=event.event_id, time=time, status="completed", result=result)
    if event.HasField("workflow_execution_failed_event_attributes"):
        failure = event.workflow_execution_failed_event_attributes.failure
        message = f"{failure.application_failure_info.type or 'failure'}: {failure.message}"
        return WorkflowClosed(event_id=event.event_id, time=time, status="failed", failure=message)
    status = _OTHER_CLOSES.get(event.WhichOneof("attributes") or "")
    return WorkflowClosed(event_id=event.event_id, time=time, status=status) if status else None


_OTHER_CLOSES = {
    "workflow_execution_terminated_event_attributes": "terminated",
    "workflow_execution_timed_out_event_attributes": "timed_out",
    "workflow_execution_canceled_event_attributes": "canceled",
    "workflow_execution_continued_as_new_event_attributes": "continued_as_new",
}


def _decision_step(meta: Sequence[Payload]) -> str | None:
    """The step id when a local-activity marker's metadata names agento's decision activity."""
    try:
        data = json.loads(meta[0].data) if meta else {}
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("activity_type") != DECISION_ACTIVITY:
        return None
    return str(data.get("activity_id", ""))


def _json(payload: Payload) -> JsonValue:
    """A payload as JSON, or a note of what it is when it is not JSON (an encrypted one, say)."""
    encoding = payload.metadata.get("encoding", b"").decode()
    if encoding == "json/plain":
        value: JsonValue = json.loads(payload.data)
        return value
    if encoding == "binary/null":
        return None
    return {"undecoded": encoding or "unknown", "bytes": len(payload.data)}


def render(report: AuditReport, *, color: bool = False) -> str:
    """The report for a terminal: one aligned line per entry, colour only when asked."""

    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    lines = [
        f"workflow {report.workflow_id} ({report.workflow_type or 'unknown type'}); times in "
        "UTC, values cut at a whole field (--json prints them whole)"
    ]
    for e in report.entries:
        stamp = e.time.strftime("%Y-%m-%d %H:%M:%SZ")
        lines.append(f"  #{e.event_id:<5} {stamp}  {e.kind:<16} {_describe(e, paint)}")
    if report.findings:
        lines.append(paint(f"{len(report.findings)} finding(s):", "31"))
        lines += [f"  {finding}" for finding in report.findings]
    else:
        lines.append("no findings: every policy-gated activity ran on a recorded allow or approval")
    return "\n".join(lines)


def _describe(e: _AnyEntry, paint: Callable[[str, str], str]) -> str:
    if isinstance(e, WorkflowStarted):
        return f"{e.workflow_type} input {_short(e.input)}"
    if isinstance(e, DecisionRecorded):
        d = e.decision
        verdict = paint("ALLOW", "32") if d.allow else paint("DENY", "31")
        reasons = f" reasons: {'; '.join(d.reasons)}" if d.reasons else ""
        signed = f" signed by {d.bundle_signing_key_id}" if d.bundle_signing_key_id else ""
        context = d.input.get(RESERVED_KEY)
        requester = context.get("requester") if isinstance(context, dict) else None
        asked = f" requested by {requester}" if requester else ""
        request = {k: v for k, v in d.input.items() if k != RESERVED_KEY}
        shown = _short(request) + ("" if d.input_complete else " (needed fields only)")
        return (
            f"{verdict} {d.policy} revision {d.bundle_revision}{signed} "
            f"decision {d.decision_id}{asked} input {shown} {d.input_sha256}{_asked_by(d)}{reasons}"
        )
    if isinstance(e, DecisionFailed):
        return f"{paint('NO DECISION', '33')} step {e.step_id}: {e.failure}"
    if isinstance(e, ReviewResolved):
        o = e.outcome
        verdict = paint("approved", "32") if o.approved else paint("rejected", "31")
        why = f" ({o.reason}{f' at #{e.opened_by_event}' if e.opened_by_event else ''})"
        asked = f" requested by {o.requester}" if o.requester else ""
        return (
            f"{o.review_id}{why if o.reason else ''} {verdict} by {who(o)}{asked}: "
            f"{o.comment or '(no comment)'}{_proof(o, e.principal)}"
        )
    if isinstance(e, ReviewAttemptRefused):
        sent = f" (sent by {e.principal})" if e.principal else ""
        return f"{e.review_id} {paint('REFUSED', '31')} {e.reviewer}{sent}: {e.refusal}"
    if isinstance(e, ActivityRun):
        declared = (
            f"{e.version} {e.idempotency.name} {e.policy_class.name}"
            if e.version and e.idempotency and e.policy_class
            else paint("not started through agento", "33")
        )
        key = f" key {e.idempotency_key}" if e.idempotency_key else ""
        grant = f" decision {e.decision_id}" if e.decision_id else ""
        override = f" override {e.override_review_id}" if e.override_review_id else ""
        outcome = f"output {_short(e.output)}" if e.status == "completed" else e.failure or ""
        return (
            f"{e.activity} {declared}{key}{grant}{override} attempts {e.attempts} "
            f"input {_short(e.input)} -> {e.status} {outcome}"
        ).rstrip()
    return f"{e.status} {_short(e.result) if e.status == 'completed' else e.failure or ''}".rstrip()


def _asked_by(d: Decision) -> str:
    """Which agent's tool call a decision was for, when a model chose the call."""
    context = d.input.get(RESERVED_KEY)
    agent = context.get("agent") if isinstance(context, dict) else None
    try:
        call = AgentCall.model_validate(agent) if agent is not None else None
    except pydantic.ValidationError:
        return " asked by an agent (unreadable record)"
    if call is None:
        return ""
    return (
        f" asked by agent {call.agent} ({call.framework}, model {call.model or 'unknown'}, "
        f"tool call {call.tool_call_id})"
    )


def who(o: ReviewOutcome) -> str:
    """The reviewer, with what vouched for them: ``lee@x.com (sub lee, via https://idp;
    groups commissioning-engineers)``."""
    i = o.identity
    if i is None:
        return o.reviewer
    known = [f"sub {i.subject}"] if i.subject != o.reviewer else []
    known += [f"via {i.issuer}"] if i.issuer else []
    known += [f"groups {', '.join(i.groups)}"] if i.groups else []
    return f"{o.reviewer} ({'; '.join(known)})" if known else o.reviewer


def _proof(o: ReviewOutcome, principal: str | None) -> str:
    """How the resolution's author is known: its signature, and the server's attribution."""
    checked = f" (requester check: {o.requester_check})" if o.requester_check else ""
    return f" [{o.signed}{f'; sent by {principal}' if principal else ''}]{checked}"


def _short(value: JsonValue, limit: int = 120) -> str:
    """``value`` as one line of JSON within about ``limit`` characters, cut between whole
    members or items (saying how many are left out), never inside a value but a long string."""
    text = json.dumps(value, separators=(",", ":"))
    if len(text) <= limit:
        return text
    if isinstance(value, str):
        return f'{json.dumps(value[: limit // 2])[:-1]}..." ({len(value)} characters)'
    if isinstance(value, dict):
        parts = [f"{json.dumps(k)}:{_short(v, limit // 2)}" for k, v in value.items()]
        opening, closing = "{", "}"
    elif isinstance(value, list):
        parts = [_short(v, limit // 2) for v in value]
        opening, closing = "[", "]"
    else:
        return text
    kept: list[str] = []
    size = len(opening + closing)
    for part in parts:
        if kept and size + len(part) + 1 > limit:
            break
        kept.append(part)
        size += len(part) + 1
    left = len(parts) - len(kept)
    return opening + ",".join(kept) + (f",... {left} more" if left else "") + closing
