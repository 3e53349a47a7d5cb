import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput


class RouteRequest(PolicyInput):
    project_id: str


from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def plain(request: RouteRequest) -> None: ...


async def run(request: RouteRequest) -> None:
    await workflow.execute_activity(plain, request, start_to_close_timeout=timedelta(minutes=1))
