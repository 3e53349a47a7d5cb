"""An OpenAI Agents SDK agent handed a governed activity through ``activity_as_tool``, which
agento refuses at run time (the mypy plugin reports it as agento-raw-tool too). The Pydantic AI
counterpart is in `tests.support.raw_pydantic_tool`: each module imports one framework, as the
workflow sandbox passes through only the plugged-in framework's modules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agents import Agent, Runner
    from temporalio.openai_agents.workflow import activity_as_tool

    from examples.agent_refunds.activities import issue_refund
    from examples.agent_refunds.model import MODEL_ID


@workflow.defn
class RawOpenAITool:
    @workflow.run
    async def run(self, message: str) -> str:
        tool = activity_as_tool(  # what agento-raw-tool reports
            cast(Any, issue_refund), start_to_close_timeout=timedelta(minutes=1)
        )
        agent = Agent[None](name="raw-refunds", model=MODEL_ID, tools=[tool])
        return str((await Runner.run(agent, message)).final_output)
