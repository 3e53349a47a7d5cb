import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput


class Refund(PolicyInput):
    order_id: str
    amount: float


from pydantic_ai import Tool
from temporalio.contrib.openai_agents.workflow import activity_as_tool as contrib_tool
from temporalio.openai_agents.workflow import activity_as_tool


@agento.activity(
    idempotency=Idempotency.NON_IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy="agento/refunds/issue",
    version="1.0.0",
)
async def issue_refund(key: IdempotencyKey, request: Refund) -> None: ...


openai_tool = activity_as_tool(issue_refund)
contrib = contrib_tool(issue_refund)
pydantic_tool = Tool(issue_refund)
