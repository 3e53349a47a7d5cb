import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput


class RouteRequest(PolicyInput):
    project_id: str


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT,
    policy_class=PolicyClass.READ_ONLY,
    policy="agento.specs.read",
    version="1.0.0",
)
async def read_specs(request: RouteRequest) -> None: ...
