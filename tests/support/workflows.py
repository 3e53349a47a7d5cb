"""Workflows for the foundation tests (importable, as the workflow sandbox needs)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

import agento
from tests.support.activities import count_specs


@workflow.defn
class CountSpecsWorkflow:
    """Runs a governed READ_ONLY activity through agento: no decision needed."""

    @workflow.run
    async def run(self, project_id: str) -> int:
        return await agento.execute_activity(
            count_specs, args=[project_id, 3], start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn
class PlainCountSpecsWorkflow:
    """The same call by name, as code written for plain Temporal makes it."""

    @workflow.run
    async def run(self, project_id: str) -> int:
        result: int = await workflow.execute_activity(
            "count_specs",
            args=[project_id, 3],
            result_type=int,
            start_to_close_timeout=timedelta(seconds=30),
        )
        return result
