"""What every adapter shares: a governed activity as a tool contract, and one tool call run
through `agento.execute_activity`, its refusals turned into answers the model can act on.

No agent framework is imported here; each adapter module brings its own.
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pydantic
from pydantic import JsonValue
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from agento._decision.record import AgentCall, canonical_json, text_digest
from agento._declaration.activity import AnyActivity, PolicyInput
from agento._errors import PolicyDenied, ReviewRejected, ReviewTimedOut
from agento._workflow.execute import execute_activity
from agento.rules import ParameterKind


@dataclass(frozen=True)
class ToolOptions:
    """How a governed tool's activity is run: `agento.execute_activity`'s options."""

    start_to_close_timeout: timedelta | None = timedelta(minutes=5)
    schedule_to_close_timeout: timedelta | None = None
    heartbeat_timeout: timedelta | None = None
    retry_policy: RetryPolicy | None = None
    task_queue: str | None = None
    review_timeout: timedelta = timedelta(hours=48)
    requester: str | None = None
    """Who started the run; they may not approve its reviews."""
    instructions_version: str | None = None
    """The version of the agent's instructions, recorded with every decision."""


@dataclass(frozen=True)
class ToolContract:
    """A governed activity as a tool: its name, what the model is told, and the JSON schema
    of its `PolicyInput` request, which is what the model fills in and the policy decides on."""

    activity: AnyActivity
    request_type: type[PolicyInput]
    name: str
    description: str
    schema: dict[str, Any] = field(repr=False)

    @classmethod
    def of(
        cls, activity: AnyActivity, *, name: str | None, description: str | None
    ) -> ToolContract:
        """The contract of ``activity``, or a `TypeError` naming the activity, the rule and the
        fix when it cannot be one: a tool's arguments are exactly its one request."""
        d = activity.declaration
        requests = [p for p in d.parameters if p.kind is ParameterKind.REQUEST]
        others = [p for p in d.parameters if p.kind is ParameterKind.OTHER]
        if len(requests) != 1 or others:
            raise TypeError(
                f'Activity "{d.name}" cannot be an agent tool: a tool\'s arguments are one '
                "agento.PolicyInput request, which the model fills in and the policy decides "
                f"on, and it takes ({', '.join(p.name for p in d.parameters) or 'nothing'}). "
                "Fix: give it a single PolicyInput parameter (after its IdempotencyKey, if any)"
            )
        request_type = typing.get_type_hints(d.fn)[requests[0].name]
        return cls(
            activity=activity,
            request_type=request_type,
            name=name or d.name,
            description=description or _doc(d.fn) or _doc(request_type),
            schema=request_type.model_json_schema(),
        )


async def call_tool(
    contract: ToolContract, arguments: str, agent: AgentCall, options: ToolOptions
) -> str:
    """Run one tool call the model made, in workflow code: the request is decided (and
    reviewed) like any `agento.execute_activity`, and the answer is text for the model.

    Arguments that are not the request, a deny for good, a reviewer's rejection and a review
    nobody answered in time come back as a refusal the model can act on: nothing ran. What
    may have run (a rejected reconciliation of an unknown outcome) still fails the run.
    """
    try:
        request = contract.request_type.model_validate_json(arguments or "{}")
    except pydantic.ValidationError as e:
        return _answer(
            status="invalid_arguments",
            tool=contract.name,
            detail=f"the arguments are not a {contract.request_type.__name__}; nothing ran",
            errors=[
                {"at": ".".join(map(str, err["loc"])), "error": err["msg"]} for err in e.errors()
            ],
        )
    try:
        result = await execute_activity(
            contract.activity,
            request,
            start_to_close_timeout=options.start_to_close_timeout,
            schedule_to_close_timeout=options.schedule_to_close_timeout,
            heartbeat_timeout=options.heartbeat_timeout,
            retry_policy=options.retry_policy,
            task_queue=options.task_queue,
            review_timeout=options.review_timeout,
            requester=options.requester,
            agent=agent,
        )
    except PolicyDenied as e:
        return _answer(
            status="denied",
            tool=contract.name,
            detail="the policy denied this call; it did not run",
            reasons=list(e.reasons),
            decision_id=e.decision_id,
        )
    except ReviewRejected as e:
        if _attempted(e):
            raise
        return _answer(
            status="rejected",
            tool=contract.name,
            detail=f"a reviewer ({e.reviewer}) rejected this call; it did not run",
            review_id=e.review_id,
            comment=e.comment,
        )
    except ReviewTimedOut as e:
        if _attempted(e):
            raise
        return _answer(
            status="review_timed_out",
            tool=contract.name,
            detail="no reviewer answered in time; it did not run",
            review_id=e.review_id,
        )
    return _text(result)


def who_asked(
    *,
    framework: str,
    agent: str,
    model: str | None,
    tool: str,
    tool_call_id: str,
    conversation_id: str | None,
    instructions: object,
    tools: list[dict[str, Any]],
    options: ToolOptions,
) -> AgentCall:
    """The `AgentCall` of one tool call, with digests of the instructions (when they are
    text) and of the tools offered, so a decision names the prompt and tool set it saw."""
    return AgentCall(
        framework=framework,
        agent=agent,
        model=model,
        tool=tool,
        tool_call_id=tool_call_id,
        conversation_id=conversation_id,
        instructions_version=options.instructions_version,
        instructions_sha256=text_digest(instructions) if isinstance(instructions, str) else None,
        tools_sha256=text_digest(canonical_json(sorted(tools, key=lambda t: str(t["name"])))),
    )


def _attempted(error: BaseException) -> bool:
    """Whether the refusal came after the activity was attempted (an unknown outcome's
    review): then it may have run, and the model must not be told it did not."""
    return isinstance(error.__cause__, ActivityError) or isinstance(
        error.__context__, ActivityError
    )


def _answer(**fields: JsonValue) -> str:
    return json.dumps({k: v for k, v in fields.items() if v is not None})


def _text(result: object) -> str:
    """A result as the model reads it: text as is, anything else as JSON."""
    if isinstance(result, str):
        return result
    if isinstance(result, pydantic.BaseModel):
        return result.model_dump_json()
    return pydantic.TypeAdapter(type(result)).dump_json(result).decode()


def _doc(obj: object) -> str:
    doc = getattr(obj, "__doc__", None)
    return " ".join(doc.split()) if isinstance(doc, str) else ""
