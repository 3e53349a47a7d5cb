from datetime import timedelta

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


async def run(request: RouteRequest, key: IdempotencyKey) -> None:
    minute = timedelta(minutes=1)
    await agento.execute_activity(route, key, request, start_to_close_timeout=minute)
    await agento.execute_activity(route, request, args=[request], start_to_close_timeout=minute)
    await agento.start_activity(route, {"project_id": "p"}, start_to_close_timeout=minute)
