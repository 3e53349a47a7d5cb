from datetime import timedelta

from temporalio.common import RetryPolicy

import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput


class RouteRequest(PolicyInput):
    project_id: str


@agento.activity(
    idempotency=Idempotency.NON_IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy="agento/commissioning/routing",
    version="1.0.0",
)
async def route(key: IdempotencyKey, request: RouteRequest) -> None: ...


async def run(request: RouteRequest) -> None:
    minute = timedelta(minutes=1)
    await agento.execute_activity(
        route, request, start_to_close_timeout=minute, retry_policy=RetryPolicy(maximum_attempts=3)
    )
    await agento.execute_activity(
        route, request, start_to_close_timeout=minute, retry_policy=RetryPolicy()
    )
    await agento.start_activity(
        route, request, start_to_close_timeout=minute, retry_policy=RetryPolicy(maximum_attempts=2)
    )
