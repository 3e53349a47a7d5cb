"""agento's Temporal interceptors: reviews and grants in workflows, refusals in activities."""

from __future__ import annotations

from typing import Any

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.worker import (
    ActivityInboundInterceptor,
    ContinueAsNewInput,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    Interceptor,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from agento._decision.protocol import (
    CALL_HEADER,
    GENERATION_HEADER,
    PENDING_REVIEWS_QUERY,
    RESOLVE_REVIEW_UPDATE,
    CallRecord,
)
from agento._decision.request import request_digest
from agento._declaration.activity import PolicyInput, declaration_of
from agento._errors import GovernanceError
from agento._observability import metrics
from agento._observability.tracing import activity_event
from agento._reviews.models import PendingReview, ReviewOutcome
from agento._worker.fail_closed_log import log_event
from agento._workflow import state as run_state
from agento._workflow.decision_step import DecisionSettings
from agento._workflow.review_board import ReviewBoard, ReviewSettings
from agento.rules import BYPASS


class GovernanceInterceptor(Interceptor):
    """Installed by `agento.AgentoPlugin`; not meant to be configured by hand."""

    def __init__(self, settings: DecisionSettings, reviews: ReviewSettings) -> None:
        self.settings = settings
        self.reviews = reviews

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _RefuseUngranted(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        settings, reviews = self.settings, self.reviews

        class _Inbound(_GovernedWorkflow):
            decision_settings = settings
            review_settings = reviews

        return _Inbound


class _GovernedWorkflow(WorkflowInboundInterceptor):
    decision_settings: DecisionSettings
    review_settings: ReviewSettings

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_GrantingOutbound(outbound))

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        generation = 0
        if GENERATION_HEADER in input.headers:
            generation = workflow.payload_converter().from_payload(
                input.headers[GENERATION_HEADER], int
            )
        settings = self.decision_settings
        reviews = ReviewBoard(self.review_settings, settings)
        state = run_state.RunState(settings=settings, generation=generation, reviews=reviews)

        def pending() -> list[PendingReview]:
            return list(reviews.pending.values())

        async def handler(*resolution: object) -> ReviewOutcome:
            return await reviews.resolve(*resolution)

        workflow.set_query_handler(PENDING_REVIEWS_QUERY, pending)
        workflow.set_update_handler(RESOLVE_REVIEW_UPDATE, handler, validator=reviews.validate)
        with run_state.running(workflow.info().run_id, state):
            try:
                return await super().execute_workflow(input)
            except GovernanceError as e:  # a rule refused a governed call: the run fails
                metrics.refusal(e.type or "GovernanceError", in_workflow=True)
                raise


class _GrantingOutbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        state = run_state.current()
        record = state.take(input.activity_id) if state and input.activity_id else None
        if record is not None:
            input.headers = {**input.headers, CALL_HEADER: record}
        return super().start_activity(input)

    def continue_as_new(self, input: ContinueAsNewInput) -> Any:
        state = run_state.current()
        generation = (state.generation if state else 0) + 1
        payload = workflow.payload_converter().to_payload(generation)
        input.headers = {**input.headers, GENERATION_HEADER: payload}
        return super().continue_as_new(input)


class _RefuseUngranted(ActivityInboundInterceptor):
    """A policy-gated activity runs only with the grant of a recorded decision for its request."""

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        declaration = declaration_of(input.fn)
        if declaration is not None and declaration.is_policy_gated:
            payload = input.headers.get(CALL_HEADER)
            record = (
                activity.payload_converter().from_payload(payload, CallRecord) if payload else None
            )
            grant = record.grant if record else None
            if grant is None:
                raise _refusal(declaration.name, "a start without agento's grant")
            request = input.args[-1] if input.args else None
            if (
                not isinstance(request, PolicyInput)
                or request_digest(request) != grant.request_sha256
            ):
                raise _refusal(declaration.name, "a start with a request the policy did not see")
        return await super().execute_activity(input)


def _refusal(activity_name: str, call: str) -> ApplicationError:
    message = str(BYPASS.violation(activity_name, call=call))
    metrics.refusal(BYPASS.id, in_workflow=False)
    activity_event("agento.refusal", {"agento.rule": BYPASS.id, "agento.activity": activity_name})
    log_event(
        "ungranted start refused",
        activity=activity_name,
        workflow_id=activity.info().workflow_id,
        rule=BYPASS.id,
        reason=call,
    )
    return ApplicationError(
        f"{message} [{BYPASS.id}]",
        type=BYPASS.id,
        non_retryable=True,
        category=ApplicationErrorCategory.BENIGN,  # logged above, in one line
    )
