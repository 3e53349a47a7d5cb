"""One activity and its workflow in two deployed versions, as a redeploy ships them (importable,
as the sandbox needs). Both versions share the activity's and the workflow's names."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

import agento
from agento import Idempotency, IdempotencyKey, PolicyClass
from tests.support.engines import ROUTE
from tests.support.governed_activities import EXECUTED, Transfer


@agento.activity(
    idempotency=Idempotency.KEYED,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=ROUTE,
    version="1.0.0",
    name="deploy",
)
async def deploy_v1(key: IdempotencyKey, request: Transfer) -> str:
    EXECUTED.append(("deploy 1.0.0", key, request.amount))
    return "1.0.0"


@agento.activity(
    idempotency=Idempotency.KEYED,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy=ROUTE,
    version="2.0.0",
    name="deploy",
)
async def deploy_v2(key: IdempotencyKey, request: Transfer) -> str:
    EXECUTED.append(("deploy 2.0.0", key, request.amount))
    return "2.0.0"


@workflow.defn(name="Deploy")
class DeployV1:
    @workflow.run
    async def run(self, request: Transfer) -> str:
        return await agento.execute_activity(
            deploy_v1, request, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn(name="Deploy")
class DeployV2:
    @workflow.run
    async def run(self, request: Transfer) -> str:
        return await agento.execute_activity(
            deploy_v2, request, start_to_close_timeout=timedelta(seconds=10)
        )
