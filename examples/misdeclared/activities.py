"""One mis-declared activity per rule: what agento rejects, and what it says.

Kept out of the strict type check on purpose. ``agento validate
examples.misdeclared.activities:ACTIVITIES`` prints validator.txt beside this file.
"""

from temporalio import activity

import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput

ROUTING = "agento/commissioning/routing"


class RouteRequest(PolicyInput):
    project_id: str


@agento.activity(
    idempotency=Idempotency.NON_IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=ROUTING,
    version="1.0.0",
)
async def missing_key(request: RouteRequest) -> None: ...


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT, policy_class=PolicyClass.READ_ONLY, version="1.0.0"
)
async def unexpected_key(key: IdempotencyKey, project_id: str) -> None: ...


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT, policy_class=PolicyClass.SIDE_EFFECT, version="1.0.0"
)
async def missing_policy(request: RouteRequest) -> None: ...


@agento.activity(
    idempotency=Idempotency.KEYED,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=ROUTING,
    version="1.0.0",
)
async def missing_input(key: IdempotencyKey) -> None: ...


@agento.activity(
    idempotency=Idempotency.KEYED,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=ROUTING,
    version="1.0.0",
)
async def unchecked_argument(key: IdempotencyKey, request: RouteRequest, force: bool) -> None: ...


@agento.activity(
    idempotency=Idempotency.NON_IDEMPOTENT, policy_class=PolicyClass.READ_ONLY, version="1.0.0"
)
async def contradiction(key: IdempotencyKey, project_id: str) -> None: ...


@agento.activity(idempotency="idempotent", policy_class=PolicyClass.READ_ONLY, version="1.0.0")
async def dynamic_declaration(project_id: str) -> None: ...


@agento.activity(idempotency=Idempotency.IDEMPOTENT, policy_class=PolicyClass.READ_ONLY, version="v1")
async def bad_version(project_id: str) -> None: ...


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT,
    policy_class=PolicyClass.READ_ONLY,
    policy="/agento/specs/",
    version="1.0.0",
)
async def bad_policy_path(request: RouteRequest) -> None: ...


@activity.defn
async def ungoverned(project_id: str) -> None: ...


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT,
    policy_class=PolicyClass.READ_ONLY,
    version="1.0.0",
    name="duplicate_name",
)
async def fetch_specs(project_id: str) -> None: ...


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT,
    policy_class=PolicyClass.READ_ONLY,
    version="2.0.0",
    name="duplicate_name",
)
async def fetch_specs_v2(project_id: str) -> None: ...


ACTIVITIES = [
    missing_key,
    unexpected_key,
    missing_policy,
    missing_input,
    unchecked_argument,
    contradiction,
    dynamic_declaration,
    bad_version,
    bad_policy_path,
    ungoverned,
    fetch_specs,
    fetch_specs_v2,
]
