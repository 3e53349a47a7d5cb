import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput


class RouteRequest(PolicyInput):
    project_id: str


@agento.activity(idempotency=Idempotency.IDEMPOTENT, policy_class=PolicyClass.READ_ONLY, version="1.0.0")
async def fetch(project_id: str) -> None: ...
