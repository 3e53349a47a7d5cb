import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput


class RouteRequest(PolicyInput):
    project_id: str


@agento.activity(
    idempotency=Idempotency.KEYED,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy="agento/commissioning/routing",
    version="1.0.0",
)
async def route(key: IdempotencyKey) -> None: ...
