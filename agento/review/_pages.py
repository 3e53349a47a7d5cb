"""The engineers' pages: server-rendered HTML, no script, no front-end build. Every value from a
run or a reviewer is escaped here, the only place HTML is written."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape
from urllib.parse import urlencode

from agento._reviews.models import PendingReview, ReviewOutcome
from agento._reviews.resolution import ReviewerIdentity
from agento._reviews.visibility import ListedReview

_STYLE = """
body{font:16px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#1b1f24;color:#fff;padding:.7rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem;
justify-content:space-between}header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:60rem;margin:0 auto;padding:1rem}
.dev{background:#b00020;color:#fff;padding:.5rem 1rem;font-weight:700;text-align:center}
table{width:100%;border-collapse:collapse;background:#fff}
th,td{text-align:left;padding:.5rem;border-bottom:1px solid #dde1e6;vertical-align:top}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;background:#fff;padding:1rem}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
pre{background:#fff;padding:1rem;overflow-x:auto}
form{background:#fff;padding:1rem;margin-top:1rem}
textarea{width:100%;box-sizing:border-box;min-height:5rem;font:inherit}
button{font:inherit;padding:.5rem 1.2rem;margin:.5rem .5rem 0 0;border:0;border-radius:4px;
color:#fff;cursor:pointer}.approve{background:#1a7f37}.reject{background:#b00020}
.notice{padding:.8rem 1rem;margin:1rem 0;border-left:4px solid}
.ok{background:#e6f4ea;border-color:#1a7f37}.refused{background:#fdecea;border-color:#b00020}
.muted{color:#59636e}
@media (max-width:40rem){thead{display:none}tr{display:block;background:#fff;margin-bottom:.8rem}
td{display:block;border:0;padding:.2rem .8rem}dl{grid-template-columns:1fr}
td::before{content:attr(data-label);display:block;font-size:.8rem;font-weight:600;color:#59636e}}
"""


def page(title: str, body: str, *, identity: ReviewerIdentity | None, dev: bool) -> str:
    who = f"<span>{escape(str(identity))}</span>" if identity else ""
    warning = (
        '<div class="dev" role="alert">Development mode: every visitor is this user, '
        "unauthenticated. Never deploy it.</div>"
        if dev
        else ""
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f'{warning}<header><a href="/">agento reviews</a>{who}</header>'
        f"<main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def queue(reviews: Sequence[ListedReview], now: datetime) -> str:
    if not reviews:
        return "<p>No review is pending.</p>"
    rows = "".join(
        "<tr>"
        f'<td data-label="Activity"><a href="{escape(review_url(r.workflow_id, r.review_id))}">'
        f"{escape(r.activity)}</a><div class=muted>{escape(r.workflow_id)}</div></td>"
        f'<td data-label="Reason">{escape(r.reason)}'
        f"<div class=muted>{escape('; '.join(r.reasons))}</div></td>"
        f'<td data-label="Waiting">{_ago(now - r.since)}</td>'
        f'<td data-label="Time left">{_left(r.until, now)}</td>'
        "</tr>"
        for r in sorted(reviews, key=lambda r: r.since)
    )
    return (
        f"<p>{len(reviews)} pending, oldest first.</p><table><thead><tr><th>Activity</th>"
        "<th>Reason</th><th>Waiting</th><th>Time left</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def review(
    workflow_id: str,
    r: PendingReview,
    *,
    csrf: str,
    now: datetime,
    comment: str = "",
    notice: str | None = None,
) -> str:
    """The decision first (what is asked, why, the form), then the identifiers an auditor needs:
    on a phone the buttons are a thumb away, not below the revisions."""
    asked = [
        ("Activity", r.activity),
        ("Reason", str(r.reason)),
        *(("Policy says", reason) for reason in r.reasons),
        ("Requester", r.requester or "(not given)"),
        ("Time left", _left(r.until, now)),
    ]
    details = [
        ("Workflow", workflow_id),
        ("Review", r.review_id),
        ("Decision", r.decision_id or "(none: the engine was not asked)"),
        ("Bundle revision", r.bundle_revision or "(none)"),
        ("Waiting", _ago(now - r.since)),
    ]
    request = json.dumps(r.request, indent=2, sort_keys=True) if r.request is not None else "-"
    warned = f'<div class="notice refused" role="alert">{escape(notice)}</div>' if notice else ""
    return (
        f"{warned}{_facts(asked)}"
        '<form method="post" action="/review">'
        f'<input type="hidden" name="workflow_id" value="{escape(workflow_id)}">'
        f'<input type="hidden" name="review_id" value="{escape(r.review_id)}">'
        f'<input type="hidden" name="csrf_token" value="{escape(csrf)}">'
        '<label for="comment">Comment (required, recorded in the audit trail)</label>'
        f'<textarea id="comment" name="comment" required>{escape(comment)}</textarea>'
        '<button class="approve" name="action" value="approve">Approve</button>'
        '<button class="reject" name="action" value="reject">Reject</button>'
        "</form>"
        f"<h2>Request</h2><p class=muted>Sensitive fields are shown as their digest.</p>"
        f"<pre>{escape(request)}</pre><h2>Details</h2>{_facts(details)}"
    )


def _facts(facts: Sequence[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts) + "</dl>"


def unanswered(r: ListedReview, task_queue: str | None, problem: str, *, now: datetime) -> str:
    """A review no worker can answer for, as visibility lists it: what it is, why nothing more
    can be shown or done now, and where a worker is missing."""
    queue_name = f"task queue {task_queue}" if task_queue else "the run's task queue"
    facts = [
        ("Activity", r.activity),
        ("Reason", r.reason),
        *(("Policy says", reason) for reason in r.reasons),
        ("Workflow", r.workflow_id),
        ("Review", r.review_id),
        ("Waiting", _ago(now - r.since)),
        ("Time left", _left(r.until, now)),
    ]
    return (
        f'<div class="notice refused" role="alert">{escape(problem)}. Shown from Temporal\'s '
        f"visibility: the request, the decision and approving or rejecting need a worker on "
        f"{escape(queue_name)}. Start one, then reload this page.</div>{_facts(facts)}"
        '<p><a href="/">Back to the queue</a></p>'
    )


def resolved(workflow_id: str, outcome: ReviewOutcome) -> str:
    verdict = "Approved" if outcome.approved else "Rejected"
    then = "the run continues" if outcome.approved else "the call will not run"
    return (
        f'<div class="notice ok" role="status">{verdict}: {then}. Recorded in the history of '
        f"{escape(workflow_id)} as review {escape(outcome.review_id)} by "
        f"{escape(outcome.reviewer)}: {escape(outcome.signed)}."
        '</div><p><a href="/">Back to the queue</a></p>'
    )


def refused(message: str, reasons: Sequence[str]) -> str:
    items = "".join(f"<li>{escape(r)}</li>" for r in reasons)
    listed = f"<ul>{items}</ul>" if items else ""
    return (
        f'<div class="notice refused" role="alert">{escape(message)}{listed}</div>'
        '<p><a href="/">Back to the queue</a></p>'
    )


def review_url(workflow_id: str, review_id: str) -> str:
    return "/review?" + urlencode({"workflow_id": workflow_id, "review_id": review_id})


def _ago(waited: timedelta) -> str:
    return _duration(waited) + " ago"


def _left(until: datetime | None, now: datetime) -> str:
    if until is None:
        return "unknown"
    left = until - now
    return _duration(left) if left > timedelta(0) else "timing out now"


def _duration(span: timedelta) -> str:
    minutes = max(int(span.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
