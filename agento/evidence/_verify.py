"""Verifying an evidence pack offline: no Temporal, no network, only the pack and the public key
of whoever signed its manifest."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pydantic
from cryptography import x509
from pydantic import JsonValue
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import Key
from temporalio.client import WorkflowHistory

from agento._audit.replay import Verdict, replay_decisions
from agento._audit.report import (
    ActivityRun,
    AuditReport,
    DecisionRecorded,
    ReviewResolved,
    audit_report,
    signature_findings,
)
from agento._decision.receipt import DecisionReceipt, ReceiptInvalid, verify_receipt
from agento._decision.record import Decision
from agento._errors import BundleError, PolicyError
from agento._policy.bundle import PolicyBundle
from agento._policy.signing import VerificationKey
from agento._postures import PolicyClass
from agento._reviews.resolution import ReviewKeys
from agento.evidence._pack import (
    AUDIT,
    HISTORY,
    KEYS,
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    RECEIPTS,
    RESOLUTIONS,
    STATEMENT_TYPE,
    TIMESTAMP,
    Pack,
    PackError,
    PackPredicate,
    member_digest,
    read_pack,
)

Status = Literal["ok", "failed", "unchecked"]


class Check(pydantic.BaseModel):
    """One thing verified, and what was found."""

    model_config = pydantic.ConfigDict(frozen=True)

    check: Literal[
        "manifest",
        "timestamp",
        "members",
        "history",
        "receipts",
        "resolutions",
        "side_effects",
        "replay",
    ]
    status: Status
    message: str


class EvidenceVerification(pydantic.BaseModel):
    """``agento evidence verify``'s verdict (its ``--json``)."""

    model_config = pydantic.ConfigDict(frozen=True)

    pack: str
    workflow_id: str | None
    run_id: str | None
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return not any(c.status == "failed" for c in self.checks)


class _Found:
    def __init__(self) -> None:
        self.checks: list[Check] = []

    def add(self, check: str, status: Status, message: str) -> None:
        self.checks.append(
            Check.model_validate({"check": check, "status": status, "message": message})
        )

    def failed(self, check: str) -> bool:
        return any(c.check == check and c.status == "failed" for c in self.checks)


def verify_evidence(
    path: str | os.PathLike[str],
    *,
    keys: Iterable[Key],
    receipt_keys: Iterable[Key] | None = None,
    review_keys: ReviewKeys | None = None,
    tsa_roots: Iterable[x509.Certificate] | None = None,
    ungoverned: Iterable[str] = (),
) -> EvidenceVerification:
    """Check the pack at ``path``: the manifest's signature by one of ``keys``, every member's
    digest, the receipt chain against the history's decisions, every resolution's signature,
    that each side effect followed an allow or a verified override, and every decision
    re-evaluated against the pack's bundle of its revision. Raises `PackError` for a file that
    is not an evidence pack at all.

    Receipts and resolutions verify with the keys the pack lists, which the manifest's signer
    vouches for; ``receipt_keys`` and ``review_keys`` pin the ones to trust instead. With
    ``tsa_roots`` (the timestamp authorities' root certificates), the pack must carry an RFC 3161
    timestamp over its manifest that verifies with one of them.

    An activity not started through agento fails the side-effect check unless its name is in
    ``ungoverned``: the auditor's statement that the deployment runs it without a policy (an
    agent framework's model calls, say), as ``AgentoPlugin(ungoverned=...)`` is the worker's."""
    target = Path(path)
    pack = read_pack(target)
    envelope, files = pack.envelope, pack.members
    found = _Found()
    trusted = list(keys)
    try:
        if envelope.payload_type != PAYLOAD_TYPE:
            raise VerificationError(f"payload type {envelope.payload_type!r}, not {PAYLOAD_TYPE}")
        envelope.verify(trusted, 1)
        statement = json.loads(envelope.payload)
        if (
            statement.get("_type") != STATEMENT_TYPE
            or statement.get("predicateType") != PREDICATE_TYPE
        ):
            raise VerificationError("the payload is not an in-toto Statement v1 of an agento pack")
        predicate = PackPredicate.model_validate(statement["predicate"])
    except (VerificationError, ValueError, KeyError, TypeError) as e:
        ids = ", ".join(k.keyid for k in trusted)
        found.add("manifest", "failed", f"the manifest does not verify with key {ids}: {e}")
        return EvidenceVerification(
            pack=str(target), workflow_id=None, run_id=None, checks=found.checks
        )
    found.add("manifest", "ok", f"DSSE envelope signed by {', '.join(envelope.signatures)}")
    _timestamp(pack, None if tsa_roots is None else list(tsa_roots), found)
    pinned = _Pinned(
        None if receipt_keys is None else {k.keyid: k for k in receipt_keys},
        review_keys,
        frozenset(ungoverned),
    )
    _check_contents(statement.get("subject", []), files, predicate, pinned, found)
    return EvidenceVerification(
        pack=str(target),
        workflow_id=predicate.workflow_id,
        run_id=predicate.run_id,
        checks=found.checks,
    )


def _timestamp(pack: Pack, roots: list[x509.Certificate] | None, found: _Found) -> None:
    if pack.timestamp is None:
        if roots is not None:
            found.add("timestamp", "failed", f"the pack has no timestamp ({TIMESTAMP})")
        return
    if roots is None:
        found.add("timestamp", "unchecked", "the pack is timestamped: give the TSA's root to check")
        return
    from agento.evidence._timestamp import TimestampError, verify_timestamp

    try:
        at = verify_timestamp(pack.timestamp, pack.manifest, roots)
    except TimestampError as e:
        found.add("timestamp", "failed", f"{TIMESTAMP}: {e}")
        return
    found.add("timestamp", "ok", f"the manifest existed at {at.isoformat()} (RFC 3161)")


@dataclass(frozen=True)
class _Pinned:
    """What the auditor states out of band: the keys to trust (``None``: the pack's own), and
    the activities the deployment runs ungoverned on purpose."""

    receipt_keys: dict[str, Key] | None
    review_keys: ReviewKeys | None
    ungoverned: frozenset[str]


def _check_contents(
    subjects: list[dict[str, JsonValue]],
    files: dict[str, bytes],
    predicate: PackPredicate,
    pinned: _Pinned,
    found: _Found,
) -> None:
    """Everything after the signature; each check trusts only what the ones before it proved."""
    _members(subjects, files, found)
    if found.failed("members"):
        return
    report = _history(files, predicate, found)
    if report is None:
        return
    receipts = _receipts(report, files, predicate, pinned.receipt_keys, found)
    verified_reviews = _resolutions(report, files, pinned.review_keys, found)
    _side_effects(report, receipts, verified_reviews, pinned.ungoverned, found)
    _replay(report, files, predicate, found)


def _members(subjects: list[dict[str, JsonValue]], files: dict[str, bytes], found: _Found) -> None:
    listed: dict[str, str] = {}
    for s in subjects:
        digest = s.get("digest")
        listed[str(s.get("name"))] = str(digest.get("sha256")) if isinstance(digest, dict) else ""
    for name, digest in sorted(listed.items()):
        if name not in files:
            found.add("members", "failed", f"member {name} is listed in the manifest but missing")
        elif member_digest(files[name]) != digest:
            found.add(
                "members",
                "failed",
                f"member {name} was changed: its sha256 is {member_digest(files[name])}, "
                f"the manifest says {digest}",
            )
    for name in sorted(files.keys() - listed.keys()):
        found.add("members", "failed", f"member {name} is not listed in the manifest (added)")
    if not found.failed("members"):
        found.add("members", "ok", f"{len(listed)} members, each matching its digest")


def _history(
    files: dict[str, bytes], predicate: PackPredicate, found: _Found
) -> AuditReport | None:
    try:
        history = WorkflowHistory.from_json(predicate.workflow_id, files[HISTORY].decode())
        report = audit_report(history)
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.original_execution_run_id
        recorded = AuditReport.model_validate_json(files[AUDIT])
    except (KeyError, ValueError, TypeError, IndexError) as e:
        found.add("history", "failed", f"{HISTORY} or {AUDIT} cannot be read: {e}")
        return None
    if report.workflow_id != predicate.workflow_id or run_id != predicate.run_id:
        found.add(
            "history",
            "failed",
            f"{HISTORY} is the history of {report.workflow_id} run {run_id}, not of "
            f"{predicate.workflow_id} run {predicate.run_id} the manifest names",
        )
        return None
    if recorded != report:
        found.add("history", "failed", f"{AUDIT} is not the audit report of {HISTORY}")
        return None
    found.add(
        "history", "ok", f"{len(history.events)} events of run {run_id}; {AUDIT} is its report"
    )
    return report


def _receipts(
    report: AuditReport,
    files: dict[str, bytes],
    predicate: PackPredicate,
    pinned: dict[str, Key] | None,
    found: _Found,
) -> dict[str, DecisionRecorded]:
    """Check every decision's receipt and the chain; the decisions whose receipts verify."""
    try:
        keys = (
            pinned
            if pinned is not None
            else {
                key_id: Key.from_dict(key_id, dict(value))
                for key_id, value in json.loads(files[KEYS])["receipt_keys"].items()
            }
        )
        listed = [DecisionReceipt.model_validate(r["receipt"]) for r in json.loads(files[RECEIPTS])]
    except (KeyError, ValueError, TypeError) as e:
        found.add("receipts", "failed", f"{KEYS} or {RECEIPTS} cannot be read: {e}")
        return {}
    verified: dict[str, DecisionRecorded] = {}
    seen: set[str] = set()
    in_history = []
    for entry in report.decisions:
        d = entry.decision
        where = f"decision {d.decision_id} (event {entry.event_id}, {d.policy})"
        receipt = d.receipt
        if receipt is None:
            found.add("receipts", "failed", f"{where} has no receipt: it was not signed when made")
            continue
        in_history.append(receipt)
        try:
            verify_receipt(receipt, keys)
        except ReceiptInvalid as e:
            found.add("receipts", "failed", f"{where}: {e}")
            continue
        if wrong := _differences(receipt, d, entry, predicate):
            found.add(
                "receipts",
                "failed",
                f"{where}: the history's {', '.join(wrong)} differ(s) from its signed receipt "
                "(the history was edited)",
            )
            continue
        previous = receipt.statement.previous
        if previous is not None and previous not in seen:
            found.add(
                "receipts",
                "failed",
                f"{where}: its receipt chains to receipt {previous}, which no decision before it "
                "in the history carries (a decision was removed or reordered)",
            )
            continue
        seen.add(receipt.digest)
        verified[d.decision_id] = entry
    for receipt in in_history:
        if receipt not in listed:
            found.add(
                "receipts",
                "failed",
                f"{RECEIPTS} lacks the receipt of decision {receipt.statement.decision_id}, "
                "which the history records (it was dropped)",
            )
    for receipt in listed:
        if receipt not in in_history:
            found.add(
                "receipts",
                "failed",
                f"{RECEIPTS} holds the receipt of decision {receipt.statement.decision_id}, which "
                "the history does not record (its decision event was removed)",
            )
    if not found.failed("receipts"):
        found.add(
            "receipts",
            "ok",
            f"{len(verified)} decisions, each with a verified receipt, chained in history order",
        )
    return verified


def _differences(
    receipt: DecisionReceipt, d: Decision, entry: DecisionRecorded, predicate: PackPredicate
) -> list[str]:
    s = receipt.statement
    recorded = d.model_dump(mode="json", include={"evaluated_at", "result"})
    expected = {
        "decision_id": d.decision_id,
        "policy": d.policy,
        "bundle_revision": d.bundle_revision,
        "bundle_signing_key_id": d.bundle_signing_key_id,
        "input_sha256": d.input_sha256,
        "allow": d.allow,
        "result": recorded["result"],
        "reasons": d.reasons,
        "recoverable": d.recoverable,
        "evaluated_at": recorded["evaluated_at"],
        "workflow_id": predicate.workflow_id,
        "run_id": predicate.run_id,
        "step_id": entry.step_id,
    }
    return [field for field, value in expected.items() if getattr(s, field) != value]


def _resolutions(
    report: AuditReport, files: dict[str, bytes], pinned: ReviewKeys | None, found: _Found
) -> set[str]:
    """Check the resolutions' signatures; the review ids of the verified ones."""
    try:
        keys = (
            pinned
            if pinned is not None
            else {
                key_id: VerificationKey(value["key"], value["algorithm"])
                for key_id, value in json.loads(files[KEYS])["review_keys"].items()
            }
        )
        listed = json.loads(files[RESOLUTIONS])
    except (KeyError, ValueError, TypeError) as e:
        found.add("resolutions", "failed", f"{KEYS} or {RESOLUTIONS} cannot be read: {e}")
        return set()
    recorded = [
        {"event_id": e.event_id, "outcome": e.outcome.model_dump(mode="json")}
        for e in report.entries
        if isinstance(e, ReviewResolved)
    ]
    if listed != recorded:
        found.add(
            "resolutions", "failed", f"{RESOLUTIONS} is not the resolutions {HISTORY} records"
        )
    verified = set()
    for event_id, review_id, finding in signature_findings(report, keys):
        if finding.startswith("verified"):
            verified.add(review_id)
        elif finding.startswith("FAILED"):
            found.add(
                "resolutions", "failed", f"resolution of {review_id} (event {event_id}): {finding}"
            )
    if not found.failed("resolutions"):
        found.add(
            "resolutions",
            "ok",
            f"{len(verified)} of {len(recorded)} resolutions signed and verified",
        )
    return verified


def _side_effects(
    report: AuditReport,
    decisions: dict[str, DecisionRecorded],
    verified_reviews: set[str],
    ungoverned: frozenset[str],
    found: _Found,
) -> None:
    approved = {
        e.outcome.review_id: e
        for e in report.entries
        if isinstance(e, ReviewResolved) and e.outcome.approved
    }
    count, accepted = 0, set[str]()
    for run in report.activities:
        if run.policy_class is not PolicyClass.SIDE_EFFECT and run.governed:
            continue
        if not run.governed and run.activity in ungoverned:
            accepted.add(run.activity)
            continue
        count += 1
        if _authorized(run, decisions, approved, verified_reviews):
            continue
        found.add(
            "side_effects",
            "failed",
            f"activity {run.activity} (event {run.event_id}) ran with no verified allow receipt "
            f"before it (decision {run.decision_id or 'none'}) and no verified override "
            f"({run.override_review_id or 'none'})",
        )
    if not found.failed("side_effects"):
        found.add(
            "side_effects",
            "ok",
            f"side-effecting or ungoverned activities: {count}, each after an allow receipt "
            "or a verified override"
            + (f"; accepted as ungoverned: {', '.join(sorted(accepted))}" if accepted else ""),
        )


def _authorized(
    run: ActivityRun,
    decisions: dict[str, DecisionRecorded],
    approved: dict[str, ReviewResolved],
    verified_reviews: set[str],
) -> bool:
    decided = decisions.get(run.decision_id or "")
    if decided is None or decided.event_id > run.event_id:
        return False
    if run.override_review_id is None:
        return decided.decision.allow
    review = approved.get(run.override_review_id)
    return (
        review is not None
        and review.event_id < run.event_id
        and run.override_review_id in verified_reviews
    )


def _replay(
    report: AuditReport, files: dict[str, bytes], predicate: PackPredicate, found: _Found
) -> None:
    bundles: dict[str, PolicyBundle] = {}
    for revision, directory in predicate.bundles.items():
        members = {n[len(directory) :]: c for n, c in files.items() if n.startswith(directory)}
        try:
            bundle = PolicyBundle.from_files(members, source=f"the pack's {directory}")
        except BundleError as e:
            found.add("replay", "failed", f"bundle of revision {revision}: {e}")
            return
        if bundle.revision != revision:
            found.add(
                "replay",
                "failed",
                f"{directory} holds bundle revision {bundle.revision}, not {revision} (a file "
                "was replaced)",
            )
            return
        bundles[revision] = bundle
    try:
        results = replay_decisions(report, bundles)
    except PolicyError as e:
        found.add("replay", "failed", str(e))
        return
    for r in results:
        where = f"decision {r.decision_id} (event {r.event_id}, {r.policy})"
        if r.verdict == "different" and r.replayed is not None:
            found.add(
                "replay",
                "failed",
                f"{where} does not reproduce against the pack's bundle {r.bundle_revision}: "
                f"recorded {_verdict(r.recorded)}, now {_verdict(r.replayed)}",
            )
        elif r.verdict == "not_replayable":
            found.add("replay", "unchecked", f"{where}: {r.note}")
    if not found.failed("replay"):
        same = sum(r.verdict == "identical" for r in results)
        found.add(
            "replay",
            "ok",
            f"{same} of {len(results)} decisions reproduce against the pack's bundles",
        )


def _verdict(v: Verdict) -> str:
    return ("allow" if v.allow else "deny") + (f" ({'; '.join(v.reasons)})" if v.reasons else "")


__all__ = ["Check", "EvidenceVerification", "PackError", "verify_evidence"]
