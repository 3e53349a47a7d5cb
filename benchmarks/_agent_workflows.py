"""An agent with a governed tool and the framework's own activity tool over an equivalent plain
activity, for benchmarks/agents.py (importable, as the sandbox needs)."""

from __future__ import annotations

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from agents import Agent, Runner
    from temporalio.openai_agents.workflow import activity_as_tool

    from agento.agents.openai import governed_tool
    from benchmarks._execution_workflows import CALL, Order, place
    from examples.agent_refunds.model import MODEL_ID


@activity.defn
async def place_plain(order: Order) -> str:
    """Place an order (not governed: the framework's own activity tool)."""
    return order.project_id


@workflow.defn
class AgentOrders:
    """One conversation whose model calls both tools, as its plan says."""

    @workflow.run
    async def run(self, plan: str) -> str:
        agent = Agent[None](
            name="orders",
            model=MODEL_ID,
            tools=[
                governed_tool(place, start_to_close_timeout=CALL),
                activity_as_tool(place_plain, start_to_close_timeout=CALL),
            ],
        )
        return str((await Runner.run(agent, plan, max_turns=1_000)).final_output)
