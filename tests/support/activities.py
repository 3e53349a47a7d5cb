"""Well-declared governed activities shared by the tests."""

from __future__ import annotations

import agento
from agento import (
    AnyActivity,
    Idempotency,
    IdempotencyKey,
    PolicyClass,
    PolicyInput,
)


class Spec(PolicyInput):
    parameter: str
    expected: float
    tolerance: float


class SpecRequest(PolicyInput):
    project_id: str
    specs: tuple[Spec, ...] = ()


class SubmitRequest(PolicyInput):
    project_id: str
    summary: str


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT, policy_class=PolicyClass.READ_ONLY, version="1.0.0"
)
async def count_specs(project_id: str, limit: int) -> int:
    return min(len(project_id), limit)


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT,
    policy_class=PolicyClass.READ_ONLY,
    policy="agento/specs/read",
    version="2.1.0",
)
async def check_specs(request: SpecRequest) -> list[str]:
    return [s.parameter for s in request.specs if s.tolerance <= 0]


@agento.activity(
    idempotency=Idempotency.KEYED, policy_class=PolicyClass.READ_ONLY, version="1.0.0-rc.1"
)
async def export_snapshot(key: IdempotencyKey, project_id: str) -> str:
    return f"{project_id}:{key}"


@agento.activity(
    idempotency=Idempotency.NON_IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy="agento/commissioning/routing",
    version="1.4.0",
    name="submit_report",
)
async def submit(key: IdempotencyKey, request: SubmitRequest) -> str:
    return f"submitted {request.project_id} as {key}"


@agento.activity(
    idempotency=Idempotency.KEYED,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy="agento/commissioning/routing",
    version="1.4.0",
)
async def upsert_report(key: IdempotencyKey, request: SubmitRequest) -> str:
    return key


WELL_DECLARED: list[AnyActivity] = [
    count_specs,
    check_specs,
    export_snapshot,
    submit,
    upsert_report,
]
