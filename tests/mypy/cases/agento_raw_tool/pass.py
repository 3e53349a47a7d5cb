import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput


class Refund(PolicyInput):
    order_id: str
    amount: float


from pydantic_ai import Tool
from temporalio import activity
from temporalio.openai_agents.workflow import activity_as_tool

from agento.agents import openai, pydantic_ai


@agento.activity(
    idempotency=Idempotency.NON_IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy="agento/refunds/issue",
    version="1.0.0",
)
async def issue_refund(key: IdempotencyKey, request: Refund) -> None: ...


@activity.defn
async def weather(city: str) -> str:
    return city


async def forecast(city: str) -> str:
    return city


governed_openai = openai.governed_tool(issue_refund)
governed_pydantic = pydantic_ai.governed_tool(issue_refund)
plain_openai = activity_as_tool(weather)
plain_pydantic = Tool(forecast)
