"""Reading workflow histories, and rewriting them as a broken or forged worker would: the
decisions recorded in one, and one with its review resolution changed."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import PydanticPayloadConverter

from agento import Decision, ReviewOutcome


def recorded_decisions(history: Any) -> list[Decision]:
    """The decisions ``history`` recorded, in order."""
    convert = PydanticPayloadConverter()
    return [
        convert.from_payload(
            e.marker_recorded_event_attributes.details["result"].payloads[0], Decision
        )
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    ]


async def doctored(
    history: WorkflowHistory, change: Any, *, duplicate: bool = False
) -> WorkflowHistory:
    """``history`` with its review resolution changed by ``change`` (and, with ``duplicate``,
    resolved a second time right after): the histories a broken or forged worker would write."""
    convert = PydanticPayloadConverter()
    events = list(History(events=history.events).events)
    position = next(
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
        and e.workflow_execution_update_completed_event_attributes.outcome.HasField("success")
    )
    completed = events[position]
    payloads = completed.workflow_execution_update_completed_event_attributes.outcome.success
    outcome = convert.from_payload(payloads.payloads[0], ReviewOutcome)
    changed = type(completed)()
    changed.CopyFrom(completed)
    changed.workflow_execution_update_completed_event_attributes.outcome.success.payloads[
        0
    ].CopyFrom(convert.to_payload(change(outcome)))
    events[position] = changed if not duplicate else completed
    if duplicate:
        events.insert(position + 1, changed)
    return WorkflowHistory(history.workflow_id, events)
