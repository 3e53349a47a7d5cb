import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput


class RouteRequest(PolicyInput):
    project_id: str


from datetime import timedelta

from temporalio import workflow
from temporalio.workflow import start_activity as start


@agento.activity(
    idempotency=Idempotency.NON_IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy="agento/commissioning/routing",
    version="1.0.0",
)
async def route(key: IdempotencyKey, request: RouteRequest) -> None: ...


async def run(request: RouteRequest) -> None:
    await workflow.execute_activity(route, request, start_to_close_timeout=timedelta(minutes=1))
    start(route, request, start_to_close_timeout=timedelta(minutes=1))
    await workflow.execute_local_activity(route, request, start_to_close_timeout=timedelta(minutes=1))
