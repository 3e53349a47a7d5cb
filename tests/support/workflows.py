"""Workflows the tests run on a real Temporal server (importable, as the sandbox requires)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.support.activities import Spec, SpecRequest


@workflow.defn
class CheckSpecsWorkflow:
    """Runs a governed READ_ONLY activity by name: enough to prove a worker serves it."""

    @workflow.run
    async def run(self, project_id: str) -> list[str]:
        request = SpecRequest(
            project_id=project_id,
            specs=(Spec(parameter="frequency", expected=50.0, tolerance=0.0),),
        )
        result: list[str] = await workflow.execute_activity(
            "check_specs",
            request,
            result_type=list[str],
            start_to_close_timeout=timedelta(seconds=30),
        )
        return result
