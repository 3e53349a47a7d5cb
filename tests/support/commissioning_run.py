"""One commissioning run with every kind of evidence: the routing policy denies it (a punch item
is open), a commissioning engineer's signed approval overrides the deny, the report is routed."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Worker

import agento
from examples.commissioning.activities import ACTIVITIES
from examples.commissioning.procore_standin import procore_standin
from examples.commissioning.workflows import CommissioningInput, CommissioningWorkflow

EXAMPLE = Path(__file__).parents[2] / "examples" / "commissioning"
POLICY = EXAMPLE / "policy"
KEYS = EXAMPLE / "keys"
REVIEW_KEY = "review-service-demo"
REVIEWERS = "agento/commissioning/reviewers"


def plugin(**options: Any) -> agento.AgentoPlugin:
    """The demo's worker plugin; ``options`` add to it (``receipt_signer=...``)."""
    return agento.AgentoPlugin(
        engine=agento.EmbeddedEngine(POLICY),
        review_keys={
            REVIEW_KEY: agento.VerificationKey.from_pem(
                (KEYS / f"{REVIEW_KEY}.pub.pem").read_text()
            )
        },
        reviewer_policy=REVIEWERS,
        **options,
    )


async def approved_run(client: Client, worker_plugin: agento.AgentoPlugin) -> WorkflowHistory:
    """Run bess-9 (one open punch item) to completion through a signed approval."""
    governed = Client(client.service_client, namespace=client.namespace, plugins=[worker_plugin])
    task_queue = f"evidence-{uuid.uuid4()}"
    with procore_standin() as (_, url):
        os.environ["PROCORE_URL"] = url
        async with Worker(
            governed,
            task_queue=task_queue,
            workflows=[CommissioningWorkflow],
            activities=agento.as_temporal_activities(*ACTIVITIES),
        ):
            handle = await governed.start_workflow(
                CommissioningWorkflow.run,
                CommissioningInput(project_id="bess-9", template_id="T-12", requested_by="ana"),
                id=f"commissioning-bess-9-{uuid.uuid4().hex[:6]}",
                task_queue=task_queue,
            )
            review = await _first_review(governed, handle.id)
            await agento.resolve_review(
                governed,
                handle.id,
                review.review_id,
                approve=True,
                reviewer=agento.ReviewerIdentity(
                    subject="engineer.lee",
                    issuer="https://idp.example.com",
                    groups=("commissioning-engineers",),
                ),
                comment="PI-104 label fitted on site",
                signer=agento.ResolutionSigner.from_file(KEYS / f"{REVIEW_KEY}.pem"),
            )
            await handle.result()
    return await handle.fetch_history()


async def _first_review(client: Client, workflow_id: str) -> agento.PendingReview:
    for _ in range(300):
        if reviews := await agento.pending_reviews(client, workflow_id):
            return reviews[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} never paused for review")
