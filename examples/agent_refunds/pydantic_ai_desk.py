"""The refund desk as a Pydantic AI agent, durable on Temporal, its tools governed by agento.

Its model is Pydantic AI's ``FunctionModel`` playing the same plan as `examples.agent_refunds.
model`: offline, and deciding from the conversation alone, so a resumed run carries on.
"""

from __future__ import annotations

import json

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic_ai import Agent
    from pydantic_ai.durable_exec.temporal import TemporalDurability
    from pydantic_ai.messages import (
        ModelMessage,
        ModelRequest,
        ModelResponse,
        TextPart,
        ToolCallPart,
        ToolReturnPart,
        UserPromptPart,
    )
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    from agento.agents.pydantic_ai import governed_tool
    from examples.agent_refunds.activities import issue_refund, lookup_order
    from examples.agent_refunds.workflows import INSTRUCTIONS, INSTRUCTIONS_VERSION

MODEL_ID = "scripted-refund-desk"


def scripted(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """Make the plan's tool calls in order, then report the last tool's answer."""
    parts = [p for m in messages if isinstance(m, ModelRequest) for p in m.parts]
    prompt = next(p.content for p in parts if isinstance(p, UserPromptPart))
    plan = json.loads(str(prompt))
    returned = [p.content for p in parts if isinstance(p, ToolReturnPart)]
    if len(returned) < len(plan):
        tool, arguments = plan[len(returned)]
        return ModelResponse(
            parts=[ToolCallPart(tool, arguments, tool_call_id=f"call-{len(returned) + 1}")]
        )
    return ModelResponse(parts=[TextPart(f"done: {returned[-1] if returned else 'nothing'}")])


refund_desk = Agent(
    FunctionModel(scripted, model_name=MODEL_ID),
    name="refund_desk",
    instructions=INSTRUCTIONS,
    tools=[
        governed_tool(lookup_order, instructions_version=INSTRUCTIONS_VERSION),
        governed_tool(issue_refund, instructions_version=INSTRUCTIONS_VERSION),
    ],
    capabilities=[TemporalDurability()],
)


@workflow.defn
class PydanticRefundDesk:
    """One conversation with the Pydantic AI refund desk."""

    __pydantic_ai_agents__ = (refund_desk,)

    @workflow.run
    async def run(self, message: str) -> str:
        result = await refund_desk.run(message)
        return result.output
