"""Compliance questions asked of recorded decisions: would they come out the same again
(replay, against the recorded bundle revision), and which would a policy change flip (impact)?"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Literal

import pydantic

from agento._audit.report import AuditReport
from agento._decision.record import Decision, input_digest
from agento._errors import PolicyError
from agento._policy.bundle import PolicyBundle
from agento._policy.embedded import EmbeddedEngine


class Verdict(pydantic.BaseModel):
    """What a policy decided: allow or deny, and its reasons."""

    model_config = pydantic.ConfigDict(frozen=True)

    allow: bool
    reasons: tuple[str, ...]

    @classmethod
    def of(cls, decision: Decision) -> Verdict:
        return cls(allow=decision.allow, reasons=decision.reasons)

    def __str__(self) -> str:
        verdict = "allow" if self.allow else "deny"
        return verdict + (f": {'; '.join(self.reasons)}" if self.reasons else "")


class ReplayedDecision(pydantic.BaseModel):
    """One recorded decision, evaluated again against the bundle of its recorded revision."""

    event_id: int
    decision_id: str
    policy: str
    bundle_revision: str
    verdict: Literal["identical", "different", "not_replayable"]
    recorded: Verdict
    replayed: Verdict | None
    """``None`` when the decision could not be replayed (``note`` says why)."""
    note: str | None = None


def replay_decisions(
    report: AuditReport, bundles: Mapping[str, PolicyBundle]
) -> list[ReplayedDecision]:
    """Re-evaluate every decision in ``report`` with the bundle of its recorded revision.

    ``bundles`` maps revisions to bundles. A decision whose revision is not among them is refused
    with `agento.PolicyError`: replaying against another revision would prove nothing.
    """
    engines: dict[str, EmbeddedEngine] = {}
    replayed = []
    for entry in report.decisions:
        d = entry.decision
        if d.bundle_revision not in bundles:
            given = ", ".join(sorted(bundles)) or "none"
            raise PolicyError(
                f"decision {d.decision_id} was made by bundle revision {d.bundle_revision}; "
                f"the bundles given have revisions {given}"
            )
        engine = engines.setdefault(d.bundle_revision, EmbeddedEngine(bundles[d.bundle_revision]))
        recorded = Verdict.of(d)
        problem = _unreplayable(d, engine)
        if problem:
            replayed.append(_replayed(entry.event_id, d, "not_replayable", None, problem))
            continue
        # As of the recorded evaluation time: a policy reading time.now_ns sees that instant.
        again = engine.evaluate(d.policy, d.input, clock=d.evaluated_at)
        result = Verdict.of(again)
        verdict: Literal["identical", "different"] = (
            "identical" if result == recorded else "different"
        )
        replayed.append(_replayed(entry.event_id, d, verdict, result))
    return replayed


def _unreplayable(d: Decision, engine: EmbeddedEngine) -> str | None:
    calls = sorted(set(d.nondeterministic) | engine.analysis.nondeterministic(d.policy))
    if calls:
        return f"not reproducible: the policy calls {', '.join(calls)}"
    if d.input_redacted:
        return f"input recorded with redacted fields: {', '.join(d.input_redacted)}"
    if not d.input_complete:
        return "input too large to have been recorded whole"
    if input_digest(d.input) != d.input_sha256:
        return "the recorded input does not match its recorded digest"
    return None


def _replayed(
    event_id: int,
    d: Decision,
    verdict: Literal["identical", "different", "not_replayable"],
    result: Verdict | None,
    note: str | None = None,
) -> ReplayedDecision:
    return ReplayedDecision(
        event_id=event_id,
        decision_id=d.decision_id,
        policy=d.policy,
        bundle_revision=d.bundle_revision,
        verdict=verdict,
        recorded=Verdict.of(d),
        replayed=result,
        note=note,
    )


class DecisionChange(pydantic.BaseModel):
    """A recorded decision the candidate bundle would decide differently."""

    workflow_id: str
    workflow_type: str | None
    decision_id: str
    policy: str
    change: Literal["allow_to_deny", "deny_to_allow", "reasons"]
    recorded: Verdict
    candidate: Verdict


class ImpactGroup(pydantic.BaseModel):
    policy: str
    workflow_type: str | None
    decisions: int
    allow_to_deny: int
    deny_to_allow: int
    reasons: int


class ImpactReport(pydantic.BaseModel):
    """What a candidate bundle would change in the decisions recorded so far."""

    candidate_revision: str
    runs: int
    decisions: int
    not_evaluated: int
    """Decisions of policies the candidate does not define, or with inputs not recorded whole."""
    groups: list[ImpactGroup]
    changes: list[DecisionChange]


def impact(reports: Iterable[AuditReport], candidate: EmbeddedEngine) -> ImpactReport:
    """Re-evaluate every recorded decision in ``reports`` under ``candidate``."""
    tally = ImpactTally(candidate)
    for report in reports:
        tally.add(report)
    return tally.report()


class ImpactTally:
    """`impact` one run at a time, so that a caller can stream runs through it: what it keeps
    grows with the decisions that would change, not with the runs read."""

    def __init__(self, candidate: EmbeddedEngine) -> None:
        self.candidate = candidate
        self.runs = self.decisions = self.not_evaluated = 0
        self._totals: Counter[tuple[str, str | None]] = Counter()
        self._changes: list[DecisionChange] = []

    def add(self, report: AuditReport) -> None:
        self.runs += 1
        for entry in report.decisions:
            d = entry.decision
            self.decisions += 1
            if d.policy not in self.candidate.bundle.packages or _unreplayable(d, self.candidate):
                self.not_evaluated += 1
                continue
            self._totals[d.policy, report.workflow_type] += 1
            again = self.candidate.evaluate(d.policy, d.input, clock=d.evaluated_at)
            recorded, proposed = Verdict.of(d), Verdict.of(again)
            if recorded == proposed:
                continue
            change: Literal["allow_to_deny", "deny_to_allow", "reasons"] = (
                "reasons"
                if d.allow == again.allow
                else "allow_to_deny"
                if d.allow
                else "deny_to_allow"
            )
            self._changes.append(
                DecisionChange(
                    workflow_id=report.workflow_id,
                    workflow_type=report.workflow_type,
                    decision_id=d.decision_id,
                    policy=d.policy,
                    change=change,
                    recorded=recorded,
                    candidate=proposed,
                )
            )

    def report(self) -> ImpactReport:
        """The tally so far; changes ordered by workflow id, whatever order the runs came in."""
        changes = sorted(self._changes, key=lambda c: (c.workflow_id, c.decision_id))
        groups = [
            ImpactGroup(
                policy=policy,
                workflow_type=workflow_type,
                decisions=count,
                allow_to_deny=_count(changes, policy, workflow_type, "allow_to_deny"),
                deny_to_allow=_count(changes, policy, workflow_type, "deny_to_allow"),
                reasons=_count(changes, policy, workflow_type, "reasons"),
            )
            for (policy, workflow_type), count in sorted(
                self._totals.items(), key=lambda kv: str(kv[0])
            )
        ]
        return ImpactReport(
            candidate_revision=self.candidate.bundle.revision,
            runs=self.runs,
            decisions=self.decisions,
            not_evaluated=self.not_evaluated,
            groups=groups,
            changes=changes,
        )


def _count(changes: list[DecisionChange], policy: str, workflow_type: str | None, kind: str) -> int:
    return sum(
        1
        for c in changes
        if c.policy == policy and c.workflow_type == workflow_type and c.change == kind
    )
