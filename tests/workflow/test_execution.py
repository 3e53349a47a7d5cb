"""Governed execution on a real Temporal server (time-skipping): decisions in history, review
pauses, fail-closed engine outages, at-most-once, and refusal of ungranted activities."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from pydantic import JsonValue
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import agento
from agento import (
    Decision,
    EmbeddedEngine,
    PendingReview,
    ResolveReview,
    ReviewOutcome,
    ReviewReason,
)
from agento._audit.report import audit_report
from agento._decision.redaction import value_digest as input_digest
from agento.testing import (
    OutageEngine,
    assert_replays,
    governance_violations,
    governed_client,
)
from tests.support.engines import POLICY_BUNDLE, ROUTE, flaky
from tests.support.governed_activities import (
    EXECUTED,
    GOVERNED,
    SYNC_GOVERNED,
    Clashing,
    Payment,
    Transfer,
)
from tests.support.governed_workflows import (
    WORKFLOWS,
    BypassInThreadWorkflow,
    BypassWorkflow,
    ClashWorkflow,
    MisuseWorkflow,
    PayInThreadWorkflow,
    PayWorkflow,
    ReconciledStallWorkflow,
    RouteTwiceWorkflow,
    RouteWorkflow,
    StallWorkflow,
    StartedWorkflow,
    UnsafeRetryWorkflow,
    UpsertAcrossContinueAsNewWorkflow,
    UpsertTwiceWorkflow,
)
from tests.support.history import recorded_decisions
from tests.support.reviews import PENDING, RESOLVE, pending_reviews
from tests.support.runs import failure_of, governed_worker, start


@pytest.fixture
def env(agento_time_skipping_env: WorkflowEnvironment) -> WorkflowEnvironment:
    return agento_time_skipping_env


async def assert_governed(handle: WorkflowHandle[Any, Any]) -> None:
    assert governance_violations(await handle.fetch_history(), GOVERNED) == []


async def test_allowed_activity_runs_once_with_its_decision_in_history(
    env: WorkflowEnvironment,
) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    handle, worker = await start(
        client, RouteWorkflow.run, Transfer(project_id="bess-7", amount=40)
    )
    before = len(EXECUTED)
    async with worker:
        result = await handle.result()
    key = f"{handle.id}/{handle.first_execution_run_id}/0/agento-2-route"
    assert result == f"routed bess-7 with {key} (6)"
    assert EXECUTED[before:] == [("route", key, 40)]

    history = await handle.fetch_history()
    [decision] = recorded_decisions(history)
    assert decision.allow is True
    assert decision.policy == ROUTE
    assert decision.input["amount"] == 40
    assert decision.input["agento"] == {
        "activity": "route",
        "activity_version": "1.4.0",
        "idempotency": "non_idempotent",
        "policy_class": "side_effect",
        "workflow_id": handle.id,
        "run_id": handle.result_run_id,
        "workflow_type": "RouteWorkflow",
        "namespace": "default",
        "requester": "alice",
    }
    assert governance_violations(history, GOVERNED) == []


async def test_recoverable_deny_pauses_and_an_approval_at_47_hours_runs_it(
    env: WorkflowEnvironment,
) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    handle, worker = await start(
        client, RouteWorkflow.run, Transfer(project_id="bess-9", amount=150)
    )
    before = len(EXECUTED)
    async with worker:
        [review] = await pending_reviews(handle)
        assert review.reason is ReviewReason.POLICY_DENIED
        assert review.reasons == ("amount over the limit of 100",)
        assert review.request == {"project_id": "bess-9", "amount": 150}
        assert review.requester == "alice"
        await env.sleep(timedelta(hours=47))
        outcome = await handle.execute_update(
            RESOLVE,
            ResolveReview(review_id=review.review_id, approve=True, reviewer="bob", comment="ok"),
            result_type=ReviewOutcome,
        )
        result = await handle.result()
    assert outcome.approved
    assert outcome.reviewer == "bob"
    assert outcome.resolved_at - review.since >= timedelta(hours=47)
    assert result.startswith("routed bess-9")
    assert [e[2] for e in EXECUTED[before:]] == [150]
    await assert_governed(handle)


async def test_rejected_review_fails_without_running(env: WorkflowEnvironment) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    handle, worker = await start(
        client, RouteWorkflow.run, Transfer(project_id="bess-9", amount=150)
    )
    before = len(EXECUTED)
    async with worker:
        [review] = await pending_reviews(handle)
        await handle.execute_update(
            RESOLVE,
            ResolveReview(review_id=review.review_id, approve=False, reviewer="bob", comment="no"),
            result_type=ReviewOutcome,
        )
        failure = await failure_of(handle)
    assert failure.type == "ReviewRejected"
    assert EXECUTED[before:] == []


async def test_unresolved_review_times_out_after_48_hours(env: WorkflowEnvironment) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    handle, worker = await start(
        client, RouteWorkflow.run, Transfer(project_id="bess-9", amount=150)
    )
    before = len(EXECUTED)
    async with worker:
        await pending_reviews(handle)
        await env.sleep(timedelta(hours=48, minutes=1))
        failure = await failure_of(handle)
    assert failure.type == "ReviewTimedOut"
    assert "not resolved within 48 hours" in failure.message
    assert EXECUTED[before:] == []


async def test_non_recoverable_deny_fails_with_the_reasons(env: WorkflowEnvironment) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    handle, worker = await start(client, RouteWorkflow.run, Transfer(project_id="x", amount=5000))
    before = len(EXECUTED)
    async with worker:
        cause = await failure_of(handle)
    assert cause.type == "PolicyDenied"
    assert cause.non_retryable
    assert "amount over the limit of 100" in cause.message
    assert EXECUTED[before:] == []


async def test_engine_back_within_the_bound_then_runs(env: WorkflowEnvironment) -> None:
    engine = flaky(2)
    client = governed_client(env, engine)
    handle, worker = await start(
        client, RouteWorkflow.run, Transfer(project_id="bess-7", amount=10)
    )
    async with worker:
        assert (await handle.result()).startswith("routed bess-7")
    assert engine.asked == 3
    await assert_governed(handle)


async def test_engine_down_past_the_bound_pauses_for_review_and_runs_nothing(
    env: WorkflowEnvironment,
) -> None:
    engine = flaky(None)
    client = governed_client(env, engine, decision_attempts=3)
    handle, worker = await start(
        client, RouteWorkflow.run, Transfer(project_id="bess-7", amount=10)
    )
    before = len(EXECUTED)
    async with worker:
        [review] = await pending_reviews(handle)
        assert review.reason is ReviewReason.ENGINE_UNAVAILABLE
        assert review.reasons == ("policy engine unavailable: connection refused",)
        await handle.terminate("test over")
    assert engine.asked == 3
    assert [e for e in EXECUTED[before:] if e[0] == "route"] == []


async def test_bad_review_updates_are_rejected_without_history(
    agento_dev_server: WorkflowEnvironment,
) -> None:
    # The time-skipping test server writes a workflow task for every update; the real server
    # (the dev server) drops a rejected update's speculative task, which is what is tested here.
    client = governed_client(agento_dev_server, EmbeddedEngine(POLICY_BUNDLE))
    handle, worker = await start(
        client, RouteTwiceWorkflow.run, Transfer(project_id="bess-9", amount=150)
    )
    async with worker:
        [first] = await pending_reviews(handle)
        await handle.execute_update(
            RESOLVE,
            ResolveReview(review_id=first.review_id, approve=True, reviewer="bob"),
            result_type=ReviewOutcome,
        )
        second = await next_review(handle, after=first.review_id)
        events = len((await handle.fetch_history()).events)
        ok = {"review_id": second.review_id, "approve": True, "reviewer": "bob"}
        bad: list[tuple[list[object], str]] = [
            ([ResolveReview(review_id="nope", approve=True, reviewer="bob")], "not pending"),
            ([ResolveReview(review_id=first.review_id, approve=True, reviewer="bob")], "already"),
            ([ResolveReview(review_id=second.review_id, approve=True, reviewer="alice")], "alice"),
            ([ResolveReview(review_id=second.review_id, approve=True, reviewer=" ALICE")], "ALICE"),
            ([ok | {"approve": "maybe"}], "approve: Input should be a valid boolean"),
            ([ok | {"approve": "yes"}], "approve: Input should be a valid boolean"),
            ([ok | {"approve": 1}], "approve: Input should be a valid boolean"),
            ([{"review_id": second.review_id, "approve": True}], "reviewer: Field required"),
            ([ok | {"reviewer": ""}], "reviewer: String should have at least 1 character"),
            ([ok | {"x": 1}], "x: Extra inputs are not permitted"),
            (["approve"], "the resolution: Input should be a valid dictionary"),
            ([], "exactly one resolution, not 0"),
            ([ok, ok], "exactly one resolution, not 2"),
        ]
        for args, message in bad:
            with pytest.raises(WorkflowUpdateFailedError) as raised:
                await handle.execute_update(RESOLVE, args=args, result_type=ReviewOutcome)
            assert isinstance(raised.value.cause, ApplicationError)
            unknown = message in ("not pending", "already")
            assert raised.value.cause.type == ("ReviewNotPending" if unknown else "ReviewRefused")
            assert message in raised.value.cause.message
            if not isinstance(args[0] if args else None, ResolveReview):
                assert '"approve": true or false' in raised.value.cause.message, "names the fix"
        assert len((await handle.fetch_history()).events) == events, "rejections left no trace"
        await handle.execute_update(
            RESOLVE,
            ResolveReview(review_id=second.review_id, approve=True, reviewer="carol"),
            result_type=ReviewOutcome,
        )
        assert len(await handle.result()) == 2
    await assert_governed(handle)


async def next_review(handle: WorkflowHandle[Any, Any], *, after: str) -> PendingReview:
    for _ in range(200):
        pending: list[PendingReview] = await handle.query(PENDING, result_type=list[PendingReview])
        if pending and pending[0].review_id != after:
            return pending[0]
        await asyncio.sleep(0.05)
    raise AssertionError("no second review became pending")


async def test_unsafe_retry_policy_fails_before_anything_runs(env: WorkflowEnvironment) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    handle, worker = await start(
        client, UnsafeRetryWorkflow.run, Transfer(project_id="x", amount=1)
    )
    before = len(EXECUTED)
    async with worker:
        cause = await failure_of(handle)
    assert cause.type == "agento-retry-unsafe"
    assert "allows 3 attempts" in cause.message
    assert EXECUTED[before:] == []
    history = await handle.fetch_history()
    assert recorded_decisions(history) == [], "refused before even asking the policy"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            "extra",
            'agento.execute_activity("route", ...) was given 2 positional arguments after the '
            "activity; it takes one: its Transfer request (agento fills the idempotency key). "
            "Fix: pass Transfer(...) alone, or args=[...] for an activity that takes several. "
            "[agento-bad-call]",
        ),
        (
            "dict",
            'agento.execute_activity("route", ...) was given a dict where its request is '
            "expected; it takes a Transfer, the PolicyInput the policy decides on. Fix: pass "
            "Transfer(...), or Transfer.model_validate(value) from a dict. [agento-bad-call]",
        ),
        (
            "both",
            'agento.execute_activity("route", ...) was given both a request and args=[...]; it '
            "takes one or the other. Fix: pass the request alone. [agento-bad-call]",
        ),
        (
            "plain",
            'agento.execute_activity("lookup", ...) was given lookup, a function not declared '
            "with @agento.activity; it takes a governed activity. Fix: declare it with "
            "@agento.activity(...), or start a plain activity with temporalio's "
            "workflow.execute_activity. [agento-bad-call]",
        ),
    ],
)
async def test_a_misused_call_fails_the_run_naming_the_activity_and_the_fix(
    env: WorkflowEnvironment, case: str, message: str
) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    task_queue = f"q-{uuid.uuid4()}"
    before = len(EXECUTED)
    async with governed_worker(client, task_queue):
        handle = await client.start_workflow(
            MisuseWorkflow.run,
            args=[case, Transfer(project_id="x", amount=1)],
            id=f"wf-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        cause = await asyncio.wait_for(failure_of(handle), 30)
    assert (cause.type, cause.message, cause.non_retryable) == ("agento-bad-call", message, True)
    assert EXECUTED[before:] == []
    assert recorded_decisions(await handle.fetch_history()) == []


async def test_raw_workflow_call_of_a_gated_activity_is_refused(env: WorkflowEnvironment) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    handle, worker = await start(client, BypassWorkflow.run, Transfer(project_id="x", amount=1))
    before = len(EXECUTED)
    async with worker:
        with pytest.raises(WorkflowFailureError) as raised:
            await handle.result()
    assert isinstance(raised.value.cause, ActivityError)
    refusal = raised.value.cause.cause
    assert isinstance(refusal, ApplicationError)
    assert refusal.type == "agento-bypass"
    assert EXECUTED[before:] == []
    [violation] = governance_violations(await handle.fetch_history(), GOVERNED)
    assert "route" in violation
    assert "without agento's grant" in violation


async def test_keyed_calls_get_distinct_stable_keys(env: WorkflowEnvironment) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    handle, worker = await start(
        client, UpsertTwiceWorkflow.run, Transfer(project_id="p", amount=1)
    )
    async with worker:
        keys = await handle.result()
    prefix = f"{handle.id}/{handle.first_execution_run_id}"
    assert keys == [f"{prefix}/0/agento-1-upsert", f"{prefix}/0/agento-2-upsert"]
    await assert_governed(handle)


async def test_timed_out_non_idempotent_activity_pauses_for_reconciliation(
    env: WorkflowEnvironment,
) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    handle, worker = await start(client, StallWorkflow.run, Transfer(project_id="p", amount=1))
    before = len(EXECUTED)
    async with worker:
        [review] = await pending_reviews(handle)
        assert review.reason is ReviewReason.OUTCOME_UNKNOWN
        assert review.reasons[0].startswith("outcome unknown: the activity timed out")
        ran_once = [e for e in EXECUTED[before:] if e[0] == "stalls"]
        assert len(ran_once) == 1, "never silently retried"
        await handle.execute_update(
            RESOLVE,
            ResolveReview(review_id=review.review_id, approve=True, reviewer="ops"),
            result_type=ReviewOutcome,
        )
        key = await handle.result()
    runs = [e for e in EXECUTED[before:] if e[0] == "stalls"]
    assert [e[1] for e in runs] == [key, key], "the re-run carries the same idempotency key"
    await assert_governed(handle)


async def test_histories_replay_deterministically(env: WorkflowEnvironment) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    handle, worker = await start(client, RouteWorkflow.run, Transfer(project_id="r", amount=20))
    async with worker:
        await handle.result()
    await assert_replays([await handle.fetch_history()], WORKFLOWS)


async def test_keys_are_distinct_across_continue_as_new(env: WorkflowEnvironment) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    handle, worker = await start(
        client, UpsertAcrossContinueAsNewWorkflow.run, Transfer(project_id="p", amount=1)
    )
    before = len(EXECUTED)
    async with worker:
        last = await client.get_workflow_handle(handle.id).result()
    keys = [key for name, key, _ in EXECUTED[before:] if name == "upsert"]
    prefix = f"{handle.id}/{handle.first_execution_run_id}"
    assert keys == [f"{prefix}/0/agento-1-upsert", f"{prefix}/1/agento-1-upsert"]
    assert last == keys[1]


async def test_keys_repeat_after_a_reset(agento_dev_server: WorkflowEnvironment) -> None:
    client = governed_client(agento_dev_server, EmbeddedEngine(POLICY_BUNDLE))
    handle, worker = await start(
        client, UpsertTwiceWorkflow.run, Transfer(project_id="p", amount=1)
    )
    async with worker:
        first = await handle.result()
        history = await handle.fetch_history()
        first_task = next(
            e.event_id
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        )
        await client.workflow_service.reset_workflow_execution(
            ResetWorkflowExecutionRequest(
                namespace=client.namespace,
                workflow_execution=WorkflowExecution(
                    workflow_id=handle.id, run_id=handle.result_run_id or ""
                ),
                reason="re-run from the start",
                workflow_task_finish_event_id=first_task,
                request_id=str(uuid.uuid4()),
            )
        )
        again = await client.get_workflow_handle(handle.id).result()
    assert again == first, "a reset re-runs with the same activity ids, and so the same keys"
    # Because the reset run carries the first run's id as its first_execution_run_id:
    assert all(f"/{handle.first_execution_run_id}/" in key for key in again)


async def test_sensitive_fields_are_recorded_as_hashes(env: WorkflowEnvironment) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    payment = Payment(project_id="p", amount=10, iban="DE89370400440532013000", memo="m")
    handle, worker = await start(client, PayWorkflow.run, payment)
    async with worker:
        assert await handle.result() == "paid 10"
    history = await handle.fetch_history()
    [decision] = recorded_decisions(history)
    assert decision.input_redacted == ("iban",)
    assert decision.input["iban"] == {"redacted": input_digest("DE89370400440532013000")}
    assert decision.input["memo"] == "m"
    assert "DE89370400440532013000" not in decision.model_dump_json()


async def test_reviewers_see_sensitive_fields_hashed(env: WorkflowEnvironment) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    payment = Payment(project_id="p", amount=150, iban="DE89370400440532013000")
    handle, worker = await start(client, PayWorkflow.run, payment)
    async with worker:
        [review] = await pending_reviews(handle)
        await handle.terminate("test over")
    assert review.request is not None
    assert review.request["iban"] == {"redacted": input_digest("DE89370400440532013000")}


@pytest.mark.parametrize("acted", [True, False])
async def test_a_reconciliation_check_settles_an_unknown_outcome(
    env: WorkflowEnvironment, acted: bool
) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    task_queue = f"q-{uuid.uuid4()}"
    before = len(EXECUTED)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=agento.as_temporal_activities(*GOVERNED),
    ):
        key = await client.execute_workflow(
            ReconciledStallWorkflow.run,
            args=[Transfer(project_id="p", amount=1), acted],
            id=f"wf-{uuid.uuid4()}",
            task_queue=task_queue,
        )
    # Acted: the check finds the effect and its result stands. Did not: one re-run, same key.
    assert [e[1] for e in EXECUTED[before:] if e[0] == "stalls"] == [key]


async def test_decisions_can_be_asked_through_a_regular_activity(env: WorkflowEnvironment) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE), decide_locally=False)
    handle, worker = await start(client, RouteWorkflow.run, Transfer(project_id="r", amount=30))
    async with worker:
        assert (await handle.result()).startswith("routed r")
    history = await handle.fetch_history()
    assert recorded_decisions(history) == [], "no local-activity marker"
    [decision] = audit_report(history).decisions
    assert decision.decision.allow
    assert decision.decision.input["amount"] == 30
    assert governance_violations(history, GOVERNED) == []


async def test_a_contract_that_cannot_become_an_input_document_fails_the_run(
    env: WorkflowEnvironment,
) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    handle, worker = await start(client, ClashWorkflow.run, Clashing(agento="x"))
    before = len(EXECUTED)
    async with worker:
        failure = await failure_of(handle)
    assert failure.type == "PolicyError"
    assert "reserves for agento's metadata" in failure.message
    assert EXECUTED[before:] == []


async def test_started_calls_are_numbered_in_call_order_and_governed(
    env: WorkflowEnvironment,
) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    handle, worker = await start(client, StartedWorkflow.run, Transfer(project_id="p", amount=5))
    async with worker:
        routed, upserted = await handle.result()
    prefix = f"{handle.id}/{handle.first_execution_run_id}/0"
    assert upserted == f"{prefix}/agento-1-upsert"
    assert routed == f"routed p with {prefix}/agento-2-route"
    history = await handle.fetch_history()
    assert len(audit_report(history).decisions) == 2, "each started call was decided"
    assert governance_violations(history, GOVERNED) == []


async def test_a_synchronous_activity_is_governed_alike(env: WorkflowEnvironment) -> None:
    client = governed_client(env, EmbeddedEngine(POLICY_BUNDLE))
    task_queue = f"q-{uuid.uuid4()}"
    before = len(EXECUTED)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="activity") as threads:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[PayInThreadWorkflow, BypassInThreadWorkflow],
            activities=agento.as_temporal_activities(*SYNC_GOVERNED),
            activity_executor=threads,
        ):
            allowed = await client.execute_workflow(
                PayInThreadWorkflow.run,
                Transfer(project_id="p", amount=7),
                id=f"wf-{uuid.uuid4()}",
                task_queue=task_queue,
            )
            denied = await client.start_workflow(
                PayInThreadWorkflow.run,
                Transfer(project_id="p", amount=5000),
                id=f"wf-{uuid.uuid4()}",
                task_queue=task_queue,
            )
            assert (await failure_of(denied)).type == "PolicyDenied"
            bypass = await client.start_workflow(
                BypassInThreadWorkflow.run,
                Transfer(project_id="p", amount=1),
                id=f"wf-{uuid.uuid4()}",
                task_queue=task_queue,
            )
            with pytest.raises(WorkflowFailureError):
                await bypass.result()
    assert allowed.startswith("activity"), "it ran in the worker's executor"
    [(name, key, amount)] = EXECUTED[before:]
    assert (name, amount) == ("pay_in_thread", 7), "neither the deny nor the bypass ran"
    assert key.endswith("/0/agento-1-pay_in_thread")


def test_an_outage_needs_an_engine_that_lists_its_policies() -> None:
    class Opaque:
        name = "opaque"

        async def decide(self, policy: str, document: Mapping[str, JsonValue]) -> Decision:
            raise NotImplementedError

    with pytest.raises(TypeError, match="needs an engine that lists its policies"):
        OutageEngine(Opaque())
