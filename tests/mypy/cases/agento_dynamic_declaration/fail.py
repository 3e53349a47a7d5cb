import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput


class RouteRequest(PolicyInput):
    project_id: str


POSTURE = Idempotency.IDEMPOTENT


def choose() -> PolicyClass:
    return PolicyClass.READ_ONLY


@agento.activity(idempotency=POSTURE, policy_class=PolicyClass.READ_ONLY, version="1.0.0")
async def from_variable(project_id: str) -> None: ...


@agento.activity(idempotency=Idempotency.IDEMPOTENT, policy_class=choose(), version="1.0.0")
async def from_call(project_id: str) -> None: ...


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT if POSTURE else Idempotency.KEYED,
    policy_class=PolicyClass.READ_ONLY,
    version="1.0.0",
)
async def from_conditional(project_id: str) -> None: ...


@agento.activity(idempotency="idempotent", policy_class=PolicyClass.READ_ONLY, version="1.0.0")
async def from_string(project_id: str) -> None: ...
