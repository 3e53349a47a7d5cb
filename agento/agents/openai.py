"""Governed tools for the OpenAI Agents SDK on Temporal (``pip install agento[openai-agents]``).

`governed_tool` is agento's counterpart of ``temporalio.openai_agents.workflow.activity_as_tool``:
the model chooses the call, agento decides whether it runs. Each call the model makes is an
`agento.execute_activity` from the agent's workflow, with the tool call's `agento.AgentCall` in
the decision's input; a refusal is the tool's result, for the model to act on.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from agents import Agent, FunctionTool
from agents.strict_schema import ensure_strict_json_schema
from agents.tool_context import ToolContext
from temporalio.common import RetryPolicy

from agento._decision.record import AgentCall
from agento._declaration.activity import GovernedActivity
from agento.agents._tools import ToolContract, ToolOptions, call_tool, who_asked

FRAMEWORK = "openai-agents"

MODEL_ACTIVITIES = ("invoke_model_activity", "invoke_model_activity_streaming")
"""The activities ``OpenAIAgentsPlugin`` registers for the model's calls: they ask the model what
to do and change nothing, so a governed worker runs them ungoverned, by name
(``AgentoPlugin(ungoverned=MODEL_ACTIVITIES)``)."""


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
    strict_json_schema: bool = True,
) -> FunctionTool:
    """A governed activity as a tool for an ``agents.Agent`` run in a Temporal workflow.

    The tool's arguments are the activity's `agento.PolicyInput` request (its JSON schema is
    the model's), and each call goes through the decision step, reviews and posture rules as
    `agento.execute_activity` does. The model receives the activity's result; or, when nothing
    ran, a JSON refusal: ``{"status": "denied", "reasons": [...], "decision_id": ...}``,
    ``"rejected"`` (with the reviewer's ``comment``), ``"review_timed_out"`` or
    ``"invalid_arguments"``. A recoverable deny pauses the run for review first; the review's
    outcome is the tool's result.

    Args:
        name: The tool's name; the activity's by default.
        description: What the model is told; the activity's docstring by default.
        requester: Who started the run; they may not approve its reviews.
        instructions_version: The version of the agent's instructions, recorded with every
            decision (``input.agento.agent.instructions_version``).
        strict_json_schema: Whether the model must follow the schema exactly (OpenAI's
            strict mode).

    The other options mean what `agento.execute_activity`'s do.
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

    async def invoke(context: ToolContext[Any], arguments: str) -> str:
        return await call_tool(contract, arguments, _who_asked(context, contract, options), options)

    schema = contract.schema
    return FunctionTool(
        name=contract.name,
        description=contract.description,
        params_json_schema=ensure_strict_json_schema(schema) if strict_json_schema else schema,
        on_invoke_tool=invoke,
        strict_json_schema=strict_json_schema,
    )


def _who_asked(
    context: ToolContext[Any], contract: ToolContract, options: ToolOptions
) -> AgentCall:
    agent = context.agent
    run_config = context.run_config
    model = agent.model if isinstance(agent, Agent) else None
    if model is None and run_config is not None:
        model = run_config.model
    return who_asked(
        framework=FRAMEWORK,
        agent=agent.name if agent is not None else "",
        model=_model_id(model),
        tool=contract.name,
        tool_call_id=context.tool_call_id,
        conversation_id=run_config.group_id if run_config is not None else None,
        instructions=agent.instructions if isinstance(agent, Agent) else None,
        tools=[_described(t) for t in agent.tools] if isinstance(agent, Agent) else [],
        options=options,
    )


def _model_id(model: object) -> str | None:
    """The model's id: a name, or what the Temporal integration's stand-in model names."""
    if model is None or isinstance(model, str):
        return model
    name = getattr(model, "model_name", None) or getattr(model, "model", None)
    return name if isinstance(name, str) else type(model).__name__


def _described(tool: object) -> dict[str, Any]:
    if isinstance(tool, FunctionTool):
        return {
            "name": tool.name,
            "description": tool.description,
            "schema": tool.params_json_schema,
        }
    return {"name": str(getattr(tool, "name", type(tool).__name__))}


__all__ = ["FRAMEWORK", "MODEL_ACTIVITIES", "governed_tool"]
