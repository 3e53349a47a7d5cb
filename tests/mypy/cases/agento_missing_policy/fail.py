import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput


class RouteRequest(PolicyInput):
    project_id: str


@agento.activity(idempotency=Idempotency.IDEMPOTENT, policy_class=PolicyClass.SIDE_EFFECT, version="1.0.0")
async def notify(request: RouteRequest) -> None: ...
