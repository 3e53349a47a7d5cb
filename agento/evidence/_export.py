"""Exporting one run's evidence pack: from the server while the history is retained, or from a
history already fetched."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from securesystemslib.signer import Key, Signer
from temporalio.client import Client, WorkflowHistory

from agento._audit.report import AuditReport, ReviewResolved, audit_report
from agento._errors import PolicyError
from agento._policy.bundle import PolicyBundle, read_bundle
from agento._reviews.resolution import ReviewKeys
from agento.evidence._pack import (
    AUDIT,
    BUNDLES,
    HISTORY,
    KEYS,
    RECEIPTS,
    RESOLUTIONS,
    PackPredicate,
    seal,
    write_atomically,
)


async def export_evidence(
    client: Client,
    workflow_id: str,
    path: str | os.PathLike[str],
    *,
    signer: Signer,
    bundles: Iterable[str | os.PathLike[str]],
    receipt_keys: Iterable[Key],
    review_keys: ReviewKeys | None = None,
    run_id: str | None = None,
    tsa_url: str | None = None,
) -> Path:
    """Fetch a run's history and write its evidence pack to ``path`` (`evidence_pack`)."""
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    return write_evidence(
        history,
        path,
        signer=signer,
        bundles=bundles,
        receipt_keys=receipt_keys,
        review_keys=review_keys,
        tsa_url=tsa_url,
    )


def write_evidence(
    history: WorkflowHistory,
    path: str | os.PathLike[str],
    *,
    signer: Signer,
    bundles: Iterable[str | os.PathLike[str]],
    receipt_keys: Iterable[Key],
    review_keys: ReviewKeys | None = None,
    tsa_url: str | None = None,
) -> Path:
    """Write the evidence pack of ``history`` to ``path`` (`evidence_pack`); never a partial
    file under that name."""
    target = Path(path)
    pack = evidence_pack(
        history,
        signer=signer,
        bundles=bundles,
        receipt_keys=receipt_keys,
        review_keys=review_keys,
        tsa_url=tsa_url,
    )
    write_atomically(target, pack)
    return target


def evidence_pack(
    history: WorkflowHistory,
    *,
    signer: Signer,
    bundles: Iterable[str | os.PathLike[str]],
    receipt_keys: Iterable[Key],
    review_keys: ReviewKeys | None = None,
    tsa_url: str | None = None,
) -> bytes:
    """The evidence pack of ``history``: the history as Temporal exports it,
    its decision receipts, its resolutions, the public keys they verify with, the source files of
    every bundle revision that decided, and the audit report, under a manifest signed by
    ``signer``.

    ``bundles`` are bundle directories or ``.tar.gz`` files; those of revisions that made no
    decision in the run are left out. Raises `agento.PolicyError` naming what is missing: a
    deciding revision among no ``bundles``, a receipt key among no ``receipt_keys``. With
    ``tsa_url``, the manifest is timestamped by that RFC 3161 authority (`TimestampError` when
    it gives none).
    """
    report = audit_report(history)
    signed = [(e, r) for e in report.decisions if (r := e.decision.receipt) is not None]
    keys = {key.keyid: key for key in receipt_keys}
    used = {r.key_id for _, r in signed}
    if missing := sorted(used - keys.keys()):
        raise PolicyError(
            f"run {report.workflow_id}'s receipts are signed by key(s) {', '.join(missing)}, "
            "whose public half was not given: pass it in receipt_keys (agento evidence export "
            "--receipt-key FILE)"
        )
    receipts = [
        {"event_id": e.event_id, "step_id": e.step_id, "receipt": r.model_dump(mode="json")}
        for e, r in signed
    ]
    members = {
        HISTORY: history.to_json().encode(),
        AUDIT: report.model_dump_json(indent=1).encode(),
        RECEIPTS: _json(receipts),
        RESOLUTIONS: _json(_resolutions(report)),
        KEYS: _json(
            {
                "receipt_keys": {k: keys[k].to_dict() for k in sorted(used)},
                "review_keys": {
                    k: {"key": v.key, "algorithm": v.algorithm}
                    for k, v in sorted((review_keys or {}).items())
                },
            }
        ),
    }
    directories = _bundle_members(report, bundles, members)
    started = history.events[0].workflow_execution_started_event_attributes
    predicate = PackPredicate(
        workflow_id=report.workflow_id,
        run_id=started.original_execution_run_id,
        workflow_type=report.workflow_type,
        exported_at=datetime.now(UTC),
        agento_version=version("agento"),
        bundles=directories,
        receipt_keys=tuple(sorted(used)),
        review_keys=tuple(sorted(review_keys or {})),
    )
    return seal(members, predicate, signer, tsa_url=tsa_url)


def _resolutions(report: AuditReport) -> list[object]:
    return [
        {"event_id": e.event_id, "outcome": e.outcome.model_dump(mode="json")}
        for e in report.entries
        if isinstance(e, ReviewResolved)
    ]


def _bundle_members(
    report: AuditReport, paths: Iterable[str | os.PathLike[str]], members: dict[str, bytes]
) -> dict[str, str]:
    """Add each deciding revision's files to ``members``; revision -> its directory."""
    deciding = sorted({e.decision.bundle_revision for e in report.decisions})
    given: dict[str, Mapping[str, bytes]] = {}
    for p in paths:
        files = read_bundle(Path(p))
        given.setdefault(PolicyBundle.from_files(files, source=str(p)).revision, files)
    if missing := [r for r in deciding if r not in given]:
        raise PolicyError(
            f"run {report.workflow_id} was decided by bundle revision(s) {', '.join(missing)}, "
            f"and the bundles given have {', '.join(sorted(given)) or 'none'}: give the bundle "
            "of every deciding revision (--bundle PATH), so that its decisions can be replayed"
        )
    directories = {}
    for n, revision in enumerate(deciding, start=1):
        directories[revision] = directory = f"{BUNDLES}{n}/"
        for name, content in given[revision].items():
            members[directory + name] = content
    return directories


def _json(value: object) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True).encode()
