"""Governed tools for Pydantic AI agents on Temporal (``pip install agento[pydantic-ai]``).

`governed_tool` makes a governed activity a ``pydantic_ai.Tool`` for an agent made durable with
``TemporalDurability``. The tool runs in the workflow (its ``temporal`` metadata is ``False``,
so Pydantic AI does not wrap it in an activity of its own) and calls `agento.execute_activity`:
the decision, any review and the posture rules apply to each call the model makes, and agento's
review is the approval step (a recoverable deny pauses the run until a reviewer resolves it).
A refusal is the tool's return value, for the model to act on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pydantic_ai import FunctionToolset, RunContext, Tool
from pydantic_ai.agent.abstract import AbstractAgent
from pydantic_ai.durable_exec.temporal import TemporalDurability
from pydantic_ai.durable_exec.temporal._durability import worker_registrations
from pydantic_ai.messages import ModelRequest
from temporalio.common import RetryPolicy

from agento._decision.record import AgentCall
from agento._declaration.activity import GovernedActivity
from agento.agents._tools import ToolContract, ToolOptions, call_tool, who_asked

FRAMEWORK = "pydantic-ai"


def governed_tool(
    activity: GovernedActivity[Any, Any, [Any], Any],
    *,
    name: str | None = None,
    description: str | None = None,
    start_to_close_timeout: timedelta | None = timedelta(minutes=5),
    schedule_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    task_queue: str | None = None,
    review_timeout: timedelta = timedelta(hours=48),
    requester: str | None = None,
    instructions_version: str | None = None,
) -> Tool[Any]:
    """A governed activity as a tool for a Pydantic AI agent run in a Temporal workflow.

    The tool's arguments are the activity's `agento.PolicyInput` request; its result, or a JSON
    refusal when nothing ran, is what the model receives (the same answers as
    `agento.agents.openai.governed_tool`). Options mean what they mean there.
    """
    contract = ToolContract.of(activity, name=name, description=description)
    options = ToolOptions(
        start_to_close_timeout=start_to_close_timeout,
        schedule_to_close_timeout=schedule_to_close_timeout,
        heartbeat_timeout=heartbeat_timeout,
        retry_policy=retry_policy,
        task_queue=task_queue,
        review_timeout=review_timeout,
        requester=requester,
        instructions_version=instructions_version,
    )

    async def invoke(context: RunContext[Any], **arguments: Any) -> str:
        return await call_tool(
            contract, json.dumps(arguments), _who_asked(context, contract, options), options
        )

    tool: Tool[Any] = Tool.from_schema(
        invoke,
        name=contract.name,
        description=contract.description,
        json_schema=contract.schema,
        takes_ctx=True,
    )
    tool.metadata = {"temporal": False}  # runs in the workflow, where agento decides
    return tool


def framework_activities(agent: AbstractAgent[Any, Any]) -> list[Callable[..., Any]]:
    """The activities Pydantic AI registers for a durable agent (its model requests, and the
    tools it runs as activities of its own): what a governed worker runs ungoverned, visibly
    (``AgentoPlugin(ungoverned=framework_activities(agent))``)."""
    durability = TemporalDurability.from_agent(agent)
    if durability is None:
        raise TypeError(
            f"agent {agent.name!r} has no TemporalDurability capability, so it registers no "
            "activities and its runs are not durable. Fix: Agent(..., "
            "capabilities=[TemporalDurability()])"
        )
    activities, _ = worker_registrations(durability)
    return activities


def _who_asked(context: RunContext[Any], contract: ToolContract, options: ToolOptions) -> AgentCall:
    agent = context.agent
    return who_asked(
        framework=FRAMEWORK,
        agent=(agent.name if agent is not None else None) or "",
        model=context.model.model_name,
        tool=contract.name,
        tool_call_id=context.tool_call_id or "",
        conversation_id=context.conversation_id or context.run_id,
        instructions=_instructions(context),
        tools=[
            {"name": t.name, "description": t.description, "schema": t.function_schema.json_schema}
            for toolset in (agent.toolsets if agent is not None else ())
            if isinstance(toolset, FunctionToolset)
            for t in toolset.tools.values()
        ],
        options=options,
    )


def _instructions(context: RunContext[Any]) -> str | None:
    """The instructions sent with the model request that made this call."""
    for message in reversed(context.messages):
        if isinstance(message, ModelRequest) and message.instructions is not None:
            return message.instructions
    return None


__all__ = ["FRAMEWORK", "framework_activities", "governed_tool"]
