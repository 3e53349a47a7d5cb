"""The refund desk: an agent whose tools are governed activities, and the same refund started
by workflow code, which the policy treats differently."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

import agento

with workflow.unsafe.imports_passed_through():
    from agents import Agent, RunConfig, Runner

    from agento.agents.openai import governed_tool
    from examples.agent_refunds.activities import Refund, RefundReceipt, issue_refund, lookup_order
    from examples.agent_refunds.model import MODEL_ID

INSTRUCTIONS = (
    "You handle refund requests. Look the order up first; refund at most what was paid. "
    "If a refund is refused, tell the customer why."
)
INSTRUCTIONS_VERSION = "refund-desk/3"


def refund_desk() -> Agent[None]:
    return Agent(
        name="refund-desk",
        instructions=INSTRUCTIONS,
        model=MODEL_ID,
        tools=[
            governed_tool(lookup_order, instructions_version=INSTRUCTIONS_VERSION),
            governed_tool(issue_refund, instructions_version=INSTRUCTIONS_VERSION),
        ],
    )


@workflow.defn
class RefundDesk:
    """One conversation with the refund desk agent."""

    @workflow.run
    async def run(self, message: str) -> str:
        result = await Runner.run(
            refund_desk(), message, run_config=RunConfig(group_id=workflow.info().workflow_id)
        )
        return str(result.final_output)


@workflow.defn
class StaffRefund:
    """A refund a member of staff started: workflow code calls the activity, no model."""

    @workflow.run
    async def run(self, refund: Refund) -> RefundReceipt:
        return await agento.execute_activity(
            issue_refund, refund, start_to_close_timeout=timedelta(minutes=1)
        )


WORKFLOWS = [RefundDesk, StaffRefund]
