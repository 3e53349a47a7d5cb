"""The edges of agento's promise, tried as an attacker and a careless user would: two reviewers at
once, a workflow id reused, a policy the OPA server does not define, requests that are not JSON,
an engine down, and what the audit trail says about each."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import agento
from agento import (
    AnyActivity,
    EmbeddedEngine,
    MisdeclaredActivityError,
    OpaServerEngine,
    PolicyEngineUnavailable,
    ResolveReview,
    ReviewOutcome,
    ReviewReason,
)
from agento._audit.report import DecisionFailed, DecisionRecorded, ReviewResolved, audit_report
from agento.testing import assert_replays, governance_violations, governed_client
from tests.support.engines import POLICY_BUNDLE, ROUTE, flaky, listing
from tests.support.governed_activities import EXECUTED, GOVERNED, UNSERIALIZABLE, Transfer
from tests.support.governed_workflows import (
    OversizedWorkflow,
    RouteWorkflow,
    UnserializableWorkflow,
)
from tests.support.history import doctored
from tests.support.ledger import Booking, Ledger, RefundWorkflow, refund, running_ledger
from tests.support.reviews import RESOLVE, pending_reviews
from tests.support.runs import failure_of, governed_worker
from tests.support.versions import DeployV1, DeployV2, deploy_v1, deploy_v2


@pytest.fixture
def env(agento_time_skipping_env: WorkflowEnvironment) -> WorkflowEnvironment:
    return agento_time_skipping_env


async def start_route(client: Client, task_queue: str, amount: int) -> WorkflowHandle[Any, str]:
    return await client.start_workflow(
        RouteWorkflow.run,
        Transfer(project_id="p", amount=amount),
        id=f"wf-{uuid.uuid4()}",
        task_queue=task_queue,
    )


# 1. Exactly one resolution of a review is ever accepted.


async def resolve(
    handle: WorkflowHandle[Any, Any], review_id: str, *, approve: bool, reviewer: str
) -> ReviewOutcome | str:
    """The outcome, or the refusal's message."""
    try:
        outcome: ReviewOutcome = await handle.execute_update(
            RESOLVE,
            ResolveReview(review_id=review_id, approve=approve, reviewer=reviewer),
            result_type=ReviewOutcome,
        )
    except WorkflowUpdateFailedError as e:
        return str(e.cause)
    except RPCError as e:  # the run closed (a rejection won) before this update was taken
        return e.message
    return outcome


async def test_concurrent_resolutions_of_one_review_accept_exactly_one(
    agento_dev_server: WorkflowEnvironment,
) -> None:
    client = governed_client(agento_dev_server, EmbeddedEngine(POLICY_BUNDLE))
    task_queue = f"race-{uuid.uuid4()}"
    pairs = [(True, False)] * 40 + [(True, True)] * 10 + [(False, False)] * 5
    async with governed_worker(client, task_queue, max_concurrent_workflow_tasks=20):
        handles = [
            await client.start_workflow(
                RouteWorkflow.run,
                Transfer(project_id=f"race-{n}", amount=150),
                id=f"race-{n}-{uuid.uuid4()}",
                task_queue=task_queue,
            )
            for n in range(len(pairs))
        ]
        reviews = await asyncio.gather(*(pending_reviews(h) for h in handles))

        async def race(handle: WorkflowHandle[Any, Any], review_id: str, votes: Any) -> Any:
            return await asyncio.gather(
                resolve(handle, review_id, approve=votes[0], reviewer="bob"),
                resolve(handle, review_id, approve=votes[1], reviewer="carol"),
            )

        results = await asyncio.gather(
            *(
                race(h, r[0].review_id, votes)
                for h, r, votes in zip(handles, reviews, pairs, strict=True)
            )
        )
        for handle, (first, second) in zip(handles, results, strict=True):
            outcomes = [r for r in (first, second) if isinstance(r, ReviewOutcome)]
            refusals = [r for r in (first, second) if isinstance(r, str)]
            assert len(outcomes) == 1, f"{handle.id}: {first!r} / {second!r}"
            assert any(
                reason in refusals[0]
                for reason in ("already resolved", "not pending", "aborted by closing workflow")
            ), refusals[0]
            [winner] = outcomes
            if winner.approved:
                assert (await handle.result()).startswith("routed")
            else:
                assert (await failure_of(handle)).type == "ReviewRejected"
            history = await handle.fetch_history()
            resolutions = [
                e for e in audit_report(history).entries if isinstance(e, ReviewResolved)
            ]
            assert [r.outcome.approved for r in resolutions] == [winner.approved]
            assert governance_violations(history, GOVERNED) == []


async def test_governance_violations_flags_double_resolutions_and_runs_after_a_rejection(
    env: WorkflowEnvironment,
) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    task_queue = f"q-{uuid.uuid4()}"
    async with governed_worker(client, task_queue):
        handle = await start_route(client, task_queue, amount=150)
        [review] = await pending_reviews(handle)
        await resolve(handle, review.review_id, approve=True, reviewer="bob")
        await handle.result()
    history = await handle.fetch_history()
    assert governance_violations(history, GOVERNED) == []

    def rejected(o: ReviewOutcome) -> ReviewOutcome:
        return o.model_copy(update={"approved": False, "reviewer": "carol"})

    twice = governance_violations(await doctored(history, rejected, duplicate=True), GOVERNED)
    assert len(twice) == 2, twice
    assert "review agento-2-route-review-1 was resolved again (rejected by carol)" in twice[0]
    assert "ran after a review of the same call was rejected" in twice[1]

    only_rejected = governance_violations(await doctored(history, rejected), GOVERNED)
    assert ["ran after a review of the same call was rejected" in v for v in only_rejected] == [
        True
    ]


# 2. A reused workflow id never reuses idempotency keys.


@pytest.fixture
def ledger() -> Iterator[tuple[Ledger, str]]:
    with running_ledger() as running:
        yield running


async def test_a_reused_workflow_id_gets_new_keys_and_pays_again(
    env: WorkflowEnvironment, ledger: tuple[Ledger, str]
) -> None:
    book, url = ledger
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    task_queue = f"q-{uuid.uuid4()}"
    workflow_id = f"refund-small-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[RefundWorkflow],
        activities=agento.as_temporal_activities(refund),
    ):
        keys = [
            await client.execute_workflow(
                RefundWorkflow.run,
                Booking(ledger_url=url, amount=amount, started_file=""),
                id=workflow_id,  # the default id-reuse policy lets a closed id start again
                task_queue=task_queue,
            )
            for amount in (20, 30)
        ]
    assert keys[0] != keys[1]
    assert book.entries == {keys[0]: 20, keys[1]: 30}, "the second refund was paid too"


# 3. A policy the OPA server does not define is a configuration error, whatever the engine.


def opa(
    data: Any, policies: Any = lambda _: httpx.Response(200, json=listing(ROUTE))
) -> OpaServerEngine:
    """An OpaServerEngine against OPA's documented REST shapes (no OPA binary installs here)."""
    return OpaServerEngine(
        "http://opa.test:8181",
        client=httpx.AsyncClient(transport=httpx.MockTransport(data)),
        check_client=httpx.Client(transport=httpx.MockTransport(policies)),
    )


def test_a_worker_refuses_to_start_when_the_opa_server_lacks_a_declared_policy(
    env: WorkflowEnvironment,
) -> None:
    engine = opa(
        data=lambda _: httpx.Response(200, json={"result": {"allow": True}}),
        policies=lambda _: httpx.Response(200, json=listing("payments/transfer")),
    )
    with pytest.raises(MisdeclaredActivityError) as raised:
        governed_worker(governed_client(env, engine), f"q-{uuid.uuid4()}")
    unknown = {v.activity for v in raised.value.violations if v.rule.id == "agento-unknown-policy"}
    assert unknown == {
        "route",
        "upsert",
        "stalls",
        "stalls_before_acting",
        "pay",
        "clash",
        "accept",
    }
    assert "payments/transfer" in str(raised.value), "the message lists what the server defines"


def test_a_worker_refuses_to_start_when_the_opa_server_cannot_be_asked(
    env: WorkflowEnvironment,
) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(PolicyEngineUnavailable, match="the worker is not built"):
        governed_worker(governed_client(env, opa(data=down, policies=down)), f"q-{uuid.uuid4()}")


async def test_a_policy_undefined_at_decision_time_fails_the_run_unreviewable(
    env: WorkflowEnvironment,
) -> None:
    asked: list[httpx.Request] = []

    def undefined(request: httpx.Request) -> httpx.Response:
        asked.append(request)  # the bundle was replaced after the worker started
        return httpx.Response(200, json={"decision_id": "d-1"})

    client = governed_client(env, opa(data=undefined))
    task_queue = f"q-{uuid.uuid4()}"
    before = len(EXECUTED)
    async with governed_worker(client, task_queue):
        handle = await start_route(client, task_queue, amount=10)
        failure = await failure_of(handle)
    assert failure.type == "PolicyError"
    assert "defines nothing at 'agento/tests/route'" in failure.message
    assert len(asked) == 1, "not retried: asking again cannot help"
    assert [e for e in EXECUTED[before:] if e[0] == "route"] == []
    report = audit_report(await handle.fetch_history())
    assert not any(isinstance(e, ReviewResolved) for e in report.entries)
    assert [a.activity for a in report.activities] == ["lookup"], "route was never scheduled"


# 4. A request that cannot become JSON fails the run before the engine is asked.


@pytest.mark.parametrize("case", list(UNSERIALIZABLE))
async def test_a_request_that_is_not_json_fails_the_run_before_asking(
    env: WorkflowEnvironment, case: str
) -> None:
    engine = flaky(0)  # the embedded engine, counting asks
    client = governed_client(env, engine)
    task_queue = f"q-{uuid.uuid4()}"
    before = len(EXECUTED)
    async with governed_worker(client, task_queue):
        handle = await client.start_workflow(
            UnserializableWorkflow.run, case, id=f"wf-{uuid.uuid4()}", task_queue=task_queue
        )
        failure = await asyncio.wait_for(failure_of(handle), timeout=60)
    assert failure.type == "PolicyError"
    assert failure.non_retryable
    assert 'the request of activity "accept" (Loose) cannot become a JSON policy input' in (
        failure.message
    )
    assert engine.asked == 0
    assert EXECUTED[before:] == []
    history = await handle.fetch_history()
    report = audit_report(history)
    assert (report.decisions, report.activities) == ([], [])
    failed_tasks = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    assert failed_tasks == [], "the run failed; no workflow task was left retrying"


async def test_a_request_over_the_payload_limit_fails_the_run_before_asking(
    env: WorkflowEnvironment,
) -> None:
    # Found by the fault suite: the policy allowed it, then the server refused to schedule the
    # activity and the run retried its workflow task forever.
    engine = flaky(0)
    client = governed_client(env, engine)
    task_queue = f"q-{uuid.uuid4()}"
    before = len(EXECUTED)
    async with governed_worker(client, task_queue):
        handle = await client.start_workflow(
            OversizedWorkflow.run, 3, id=f"wf-{uuid.uuid4()}", task_queue=task_queue
        )
        failure = await asyncio.wait_for(failure_of(handle), timeout=60)
    assert failure.type == "PolicyError"
    assert 'the request of activity "accept" (Loose) is 3,145,' in failure.message
    assert "over the payload limit of 2,097,152" in failure.message
    assert "send a reference" in failure.message, "the message names the fix"
    assert engine.asked == 0
    assert EXECUTED[before:] == []
    history = await handle.fetch_history()
    failed_tasks = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    assert failed_tasks == []


# 6. The audit trail says why each review existed, and who asked.


async def test_an_engine_unavailable_review_cites_the_failed_decision_step(
    env: WorkflowEnvironment,
) -> None:
    engine = flaky(2)
    client = governed_client(env, engine, decision_attempts=2)
    task_queue = f"q-{uuid.uuid4()}"
    async with governed_worker(client, task_queue):
        handle = await start_route(client, task_queue, amount=10)
        [review] = await pending_reviews(handle)
        assert review.reason is ReviewReason.ENGINE_UNAVAILABLE
        assert review.opened_by == "agento-2-route-decision-1"
        await resolve(handle, review.review_id, approve=True, reviewer="ops")
        assert (await handle.result()).startswith("routed p")
    history = await handle.fetch_history()
    entries = audit_report(history).entries
    [failed] = [e for e in entries if isinstance(e, DecisionFailed)]
    [resolved] = [e for e in entries if isinstance(e, ReviewResolved)]
    [decided] = [e for e in entries if isinstance(e, DecisionRecorded)]
    assert failed.step_id == "agento-2-route-decision-1"
    assert "connection refused" in failed.failure
    assert resolved.outcome.reason is ReviewReason.ENGINE_UNAVAILABLE
    assert resolved.outcome.requester == "alice"
    assert resolved.opened_by_event == failed.event_id
    assert failed.event_id < resolved.event_id < decided.event_id
    assert decided.step_id == "agento-2-route-decision-2", "approval asked again"
    assert decided.decision.input["agento"]["requester"] == "alice"  # type: ignore[index,call-overload]
    assert governance_violations(history, GOVERNED) == []


# A redeploy while a run waits: the approval covered the version the policy saw.


def deployed(client: Client, task_queue: str, workflow: type, activity: AnyActivity) -> Worker:
    """One deployed version. Without a workflow cache, no task waits on a stopped worker's
    sticky queue, and every task replays the history so far, as a redeploy makes it."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[workflow],
        activities=agento.as_temporal_activities(activity),
        max_cached_workflows=0,
    )


@pytest.mark.filterwarnings("ignore:this worker decides with local activities")
async def test_an_approval_for_one_version_does_not_run_another(env: WorkflowEnvironment) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    task_queue = f"deploy-{uuid.uuid4()}"
    before = len(EXECUTED)
    async with deployed(client, task_queue, DeployV1, deploy_v1):
        handle = await client.start_workflow(
            "Deploy",
            Transfer(project_id="p", amount=150),
            id=f"deploy-{uuid.uuid4()}",
            task_queue=task_queue,
            result_type=str,
        )
        [first] = await pending_reviews(handle)
    # Version 2.0.0 is deployed while the run waits; the reviewer approves what the policy saw.
    async with deployed(client, task_queue, DeployV2, deploy_v2):
        await resolve(handle, first.review_id, approve=True, reviewer="bob")
        [second] = await pending_reviews(handle)
        assert second.review_id != first.review_id, "2.0.0 got a decision, and a review, of its own"
        await resolve(handle, second.review_id, approve=True, reviewer="bob")
        assert await handle.result() == "2.0.0"
    assert [e[0] for e in EXECUTED[before:]] == ["deploy 2.0.0"]
    history = await handle.fetch_history()
    report = audit_report(history)
    versions = [d.decision.input["agento"] for d in report.decisions]
    assert [v["activity_version"] for v in versions if isinstance(v, dict)] == ["1.0.0", "2.0.0"]
    [ran] = report.activities
    assert (ran.version, ran.override_review_id) == ("2.0.0", second.review_id)
    assert governance_violations(history, [deploy_v2]) == []
    await assert_replays([history], [DeployV2])
