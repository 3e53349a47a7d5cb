"""A Pydantic AI agent handed a governed activity as a plain ``pydantic_ai.Tool``: Pydantic AI
runs it inside its own tool activity, where agento refuses it (agento-raw-tool)."""

from __future__ import annotations

from typing import Any, cast

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic_ai import Agent, Tool
    from pydantic_ai.durable_exec.temporal import TemporalDurability
    from pydantic_ai.models.function import FunctionModel

    from examples.agent_refunds.activities import issue_refund
    from examples.agent_refunds.pydantic_ai_desk import MODEL_ID, scripted

raw_pydantic = Agent(
    FunctionModel(scripted, model_name=MODEL_ID),
    name="raw_refunds",
    tools=[Tool(cast(Any, issue_refund))],  # what agento-raw-tool reports
    capabilities=[TemporalDurability()],
)


@workflow.defn
class RawPydanticTool:
    __pydantic_ai_agents__ = (raw_pydantic,)

    @workflow.run
    async def run(self, message: str) -> str:
        return (await raw_pydantic.run(message)).output
