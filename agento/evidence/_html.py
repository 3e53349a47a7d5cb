"""``agento evidence show``: one run's evidence as a self-contained HTML page (no script, no
server, nothing fetched), its verification at the top, so that an auditor reads it in a browser
years later."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from pydantic import JsonValue

from agento._audit.report import (
    ActivityRun,
    AuditReport,
    DecisionFailed,
    DecisionRecorded,
    ReviewAttemptRefused,
    ReviewResolved,
    WorkflowClosed,
    WorkflowStarted,
    who,
)
from agento.evidence._pack import AUDIT, read_pack
from agento.evidence._verify import EvidenceVerification

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 62rem; color: #222; }
h1 { font-size: 1.4rem; } code, pre { font: 13px ui-monospace, monospace; }
pre { background: #f6f6f6; padding: .5rem; overflow-x: auto; white-space: pre-wrap; }
.banner { padding: .8rem 1rem; border-radius: 6px; font-weight: 600; }
.verified { background: #e3f6e8; color: #145c2a; } .failed { background: #fde4e4; color: #8a1414; }
table.checks td { padding: .15rem .6rem; vertical-align: top; }
ol.timeline { list-style: none; padding: 0; }
ol.timeline > li { border-left: 4px solid #bbb; margin: .6rem 0; padding: .3rem .8rem; }
ol.timeline > li.allow { border-color: #2e8b57; } ol.timeline > li.deny { border-color: #c0392b; }
ol.timeline > li.review { border-color: #2c6fbb; }
.meta { color: #666; font-size: 13px; }
"""


def render(pack: Path, verification: EvidenceVerification) -> str:
    """The page: what was verified, then the run, entry by entry, from the pack's audit report."""
    files = read_pack(pack).members
    try:
        report: AuditReport | None = AuditReport.model_validate_json(files[AUDIT])
    except (KeyError, ValueError):
        report = None
    status = "verified" if verification.ok else "failed"
    title = f"Evidence pack of {verification.workflow_id or 'an unknown run'}"
    checks = "".join(
        f"<tr><td><b>{escape(c.status.upper())}</b></td><td>{escape(c.check)}</td>"
        f"<td>{escape(c.message)}</td></tr>"
        for c in verification.checks
    )
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">run {escape(verification.run_id or "?")} · {escape(pack.name)}</p>',
        f'<p class="banner {status}" id="verification">'
        + (
            "Verified: the signature, every member, the receipt chain, the reviews, the side "
            "effects and every decision's replay"
            if verification.ok
            else "NOT VERIFIED: read what failed below before trusting anything on this page"
        )
        + "</p>",
        f'<table class="checks">{checks}</table>',
        "<h2>Timeline</h2>",
    ]
    if report is None:
        body.append("<p>The pack holds no readable audit report.</p>")
    else:
        body.append('<ol class="timeline">')
        body += [_entry(e) for e in report.entries]
        body.append("</ol>")
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title><style>{_STYLE}</style></head><body>{''.join(body)}</body></html>"
    )


def _entry(e: object) -> str:
    if isinstance(e, WorkflowStarted):
        return _item("start", e.event_id, f"Started {e.workflow_type}", _json(e.input))
    if isinstance(e, DecisionRecorded):
        d = e.decision
        verdict = "ALLOW" if d.allow else "DENY"
        receipt = f"receipt key {d.receipt.key_id[:16]}…" if d.receipt else "no receipt"
        reasons = "".join(f"<li>{escape(r)}</li>" for r in d.reasons)
        return _item(
            "allow" if d.allow else "deny",
            e.event_id,
            f"{verdict} {d.policy}",
            f'<p class="meta">decision {escape(d.decision_id)} · bundle '
            f"{escape(d.bundle_revision)} · {escape(receipt)} · {d.evaluated_at.isoformat()}</p>"
            f"<ul>{reasons}</ul><details><summary>input</summary>{_json(d.input)}</details>",
        )
    if isinstance(e, DecisionFailed):
        return _item("deny", e.event_id, "No decision", f"<p>{escape(e.failure)}</p>")
    if isinstance(e, ReviewResolved):
        o = e.outcome
        signed = f"signed, key {o.signing_key_id}" if o.signing_key_id else "unsigned"
        return _item(
            "review",
            e.event_id,
            f"Review {o.review_id} {'approved' if o.approved else 'rejected'} by {who(o)}",
            f'<p class="meta">{escape(signed)} · requested by '
            f"{escape(o.requester or '?')}</p><p>{escape(o.comment)}</p>",
        )
    if isinstance(e, ReviewAttemptRefused):
        return _item(
            "deny", e.event_id, f"Refused {e.reviewer or '?'}", f"<p>{escape(e.refusal)}</p>"
        )
    if isinstance(e, ActivityRun):
        key = f"key {e.idempotency_key}" if e.idempotency_key else "no key"
        grant = (
            f"override {e.override_review_id}"
            if e.override_review_id
            else (f"decision {e.decision_id}" if e.decision_id else "no decision")
        )
        return _item(
            "activity",
            e.event_id,
            f"{e.activity} {e.version or ''} → {e.status}",
            f'<p class="meta">{escape(key)} · {escape(grant)} · attempts {e.attempts}</p>'
            f"<details><summary>input and output</summary>{_json(e.input)}{_json(e.output)}"
            "</details>",
        )
    if isinstance(e, WorkflowClosed):
        return _item("start", e.event_id, f"Closed: {e.status}", _json(e.result))
    return ""


def _item(kind: str, event_id: int, heading: str, content: str) -> str:
    return f'<li class="{kind}"><b>#{event_id} {escape(heading)}</b>{content}</li>'


def _json(value: JsonValue) -> str:
    return f"<pre>{escape(json.dumps(value, indent=2))}</pre>"
