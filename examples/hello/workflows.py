from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy


@workflow.defn
class PunchListWorkflow:
    @workflow.run
    async def run(self, project_id: str) -> list[str]:
        # READ_ONLY activities need no decision. Governed calls through agento.execute_activity
        # (with its policy decision recorded in history) arrive with the execution layer.
        items: list[str] = await workflow.execute_activity(
            "list_open_punch_items",
            project_id,
            result_type=list[str],
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        return items
