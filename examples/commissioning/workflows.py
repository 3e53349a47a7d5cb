"""The seed's commissioning workflow, governed: the engineer-review pause is agento's."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

import agento

with workflow.unsafe.imports_passed_through():
    from examples.commissioning.activities import (
        Procore,
        RouteReceipt,
        RouteReportRequest,
        generate_and_route_report,
        retrieve_procore_data,
        validate_against_specs,
    )


class CommissioningInput(BaseModel):
    project_id: str
    template_id: str
    requested_by: str


@workflow.defn
class CommissioningWorkflow:
    @workflow.run
    async def run(self, input: CommissioningInput) -> RouteReceipt:
        payload = await agento.execute_activity(
            retrieve_procore_data,
            input.project_id,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=2)),
        )
        validation = await agento.execute_activity(
            validate_against_specs, payload, start_to_close_timeout=timedelta(minutes=3)
        )
        workflow.logger.info("validation: %s", validation)
        # The routing policy decides; a recoverable deny pauses here for an engineer (48 h).
        return await agento.execute_activity(
            generate_and_route_report,
            RouteReportRequest(
                project_id=input.project_id,
                template_id=input.template_id,
                procore=Procore(punch_items_open_bess=payload.punch_items_open_bess),
                test_results=payload.test_results,
                protection_settings_schedule=payload.protection_settings_schedule,
            ),
            start_to_close_timeout=timedelta(minutes=5),
            requester=input.requested_by,
            review_timeout=timedelta(hours=48),
        )
