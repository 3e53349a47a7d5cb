"""The BESS commissioning activities, declared with agento."""

from __future__ import annotations

import os

import httpx
from pydantic import BaseModel

import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput


def procore_url() -> str:
    """Where Procore (here: the local stand-in) answers; set by whoever runs the worker."""
    return os.environ.get("PROCORE_URL", "http://127.0.0.1:8765")


class Measurement(BaseModel):
    parameter: str
    value: float


class Spec(BaseModel):
    expected: float
    tolerance: float


class ProcoreData(BaseModel):
    project_id: str
    punch_items_open_bess: list[str]
    test_results: list[Measurement]
    protection_settings_schedule: dict[str, Spec]


class Validation(BaseModel):
    out_of_tolerance: list[str]
    unscheduled: list[str]

    @property
    def has_blocks(self) -> bool:
        return bool(self.out_of_tolerance or self.unscheduled)


class Procore(BaseModel):
    punch_items_open_bess: list[str]


class RouteReportRequest(PolicyInput):
    """What the routing policy decides on, and exactly what is routed."""

    project_id: str
    template_id: str
    procore: Procore
    test_results: list[Measurement]
    protection_settings_schedule: dict[str, Spec]


class RouteReceipt(BaseModel):
    submission_id: str
    idempotency_key: str


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT, policy_class=PolicyClass.READ_ONLY, version="1.0.0"
)
async def retrieve_procore_data(project_id: str) -> ProcoreData:
    async with httpx.AsyncClient(base_url=procore_url(), timeout=10) as procore:
        base = f"/projects/{project_id}"
        punch, results, schedule = [
            (await procore.get(f"{base}/{part}")).raise_for_status().json()
            for part in ("punch_items", "test_results", "protection_settings")
        ]
    return ProcoreData(
        project_id=project_id,
        punch_items_open_bess=punch,
        test_results=results,
        protection_settings_schedule=schedule,
    )


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT, policy_class=PolicyClass.READ_ONLY, version="1.0.0"
)
async def validate_against_specs(data: ProcoreData) -> Validation:
    schedule = data.protection_settings_schedule
    return Validation(
        out_of_tolerance=[
            r.parameter
            for r in data.test_results
            if r.parameter in schedule
            and abs(r.value - schedule[r.parameter].expected) > schedule[r.parameter].tolerance
        ],
        unscheduled=[r.parameter for r in data.test_results if r.parameter not in schedule],
    )


@agento.activity(
    idempotency=Idempotency.NON_IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy="agento/commissioning/routing",
    version="1.4.0",
)
async def generate_and_route_report(
    key: IdempotencyKey, request: RouteReportRequest
) -> RouteReceipt:
    transport = agento.IdempotencyKeyTransport(key)
    async with httpx.AsyncClient(base_url=procore_url(), transport=transport, timeout=10) as client:
        response = await client.post(
            "/submissions",
            json={"project_id": request.project_id, "template_id": request.template_id},
        )
        response.raise_for_status()
    return RouteReceipt(submission_id=response.json()["submission_id"], idempotency_key=key)


ACTIVITIES: list[agento.AnyActivity] = [
    retrieve_procore_data,
    validate_against_specs,
    generate_and_route_report,
]
