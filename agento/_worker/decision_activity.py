"""The decision activity: where a workflow's question reaches the policy engine.

Its result, the full `agento.Decision`, is what the workflow history records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import JsonValue
from temporalio import activity

from agento._decision.protocol import DECISION_ACTIVITY, DecisionRequest
from agento._decision.receipt import ReceiptStatement, sign_receipt
from agento._decision.record import RESERVED_KEY, Decision
from agento._decision.redaction import recorded_input
from agento._errors import PolicyEngineUnavailable, PolicyError
from agento._observability import metrics
from agento._observability.decision_log import DecisionLog, record
from agento._observability.tracing import activity_span
from agento._policy.engine import PolicyEngine
from agento._worker.fail_closed_log import fail_closed

if TYPE_CHECKING:  # a type only: importing securesystemslib's signers takes ~0.4 s
    from securesystemslib.signer import Signer


class DecisionActivity:
    def __init__(
        self,
        engine: PolicyEngine,
        decision_log: DecisionLog | None = None,
        receipt_signer: Signer | None = None,
    ) -> None:
        self.engine = engine
        self.decision_log = decision_log
        self.receipt_signer = receipt_signer

    @activity.defn(name=DECISION_ACTIVITY)
    async def decide(self, request: DecisionRequest) -> Decision:
        with activity_span("agento.decision", {"agento.policy": request.policy}) as span:
            try:
                decision = await self.engine.decide(request.policy, request.input)
            except PolicyEngineUnavailable as e:  # retried, then a review: failing closed
                metrics.decision(request.policy, "unavailable")
                span["agento.outcome"] = "unavailable"
                raise fail_closed("policy engine unavailable", e, request) from None
            except PolicyError as e:  # asking again cannot help: the run fails
                metrics.decision(request.policy, "error")
                span["agento.outcome"] = "error"
                raise fail_closed("policy cannot be asked", e, request) from None
            recorded, complete = recorded_input(
                decision.input, sensitive=request.sensitive, needed=request.needed
            )
            decision = decision.model_copy(
                update={
                    "input": recorded,
                    "input_redacted": request.sensitive,
                    "input_complete": complete,
                }
            )
            outcome = "allow" if decision.allow else "deny"
            metrics.decision(request.policy, outcome, decision.evaluation_ms)
            span.update(
                {
                    "agento.outcome": outcome,
                    "agento.allow": decision.allow,
                    "agento.decision_id": decision.decision_id,
                    "agento.bundle_revision": decision.bundle_revision,
                    "agento.evaluation_ms": decision.evaluation_ms,
                }
            )
        if self.receipt_signer is not None:
            info = activity.info()
            decision = signed(
                decision,
                request,
                self.receipt_signer,
                workflow_id=info.workflow_id or "",
                run_id=info.workflow_run_id or "",
                step_id=info.activity_id,
            )
        if self.decision_log is not None:
            record(self.decision_log, decision, _context(request))
        return decision


def signed(
    decision: Decision,
    request: DecisionRequest,
    signer: Signer,
    *,
    workflow_id: str,
    run_id: str,
    step_id: str,
) -> Decision:
    """The decision with its receipt: signed here, before the workflow (and history) sees it."""
    context = _context(request)
    version = context.get("activity_version")
    name = context.get("activity")
    recorded = decision.model_dump(mode="json", include={"evaluated_at", "result"})
    statement = ReceiptStatement(
        decision_id=decision.decision_id,
        policy=decision.policy,
        bundle_revision=decision.bundle_revision,
        bundle_signing_key_id=decision.bundle_signing_key_id,
        input_sha256=decision.input_sha256,
        allow=decision.allow,
        result=recorded["result"],
        reasons=decision.reasons,
        recoverable=decision.recoverable,
        evaluated_at=recorded["evaluated_at"],
        workflow_id=workflow_id,
        run_id=run_id,
        step_id=step_id,
        activity=name if isinstance(name, str) else None,
        activity_version=version if isinstance(version, str) else None,
        previous=request.previous_receipt,
    )
    return decision.model_copy(update={"receipt": sign_receipt(statement, signer)})


def _context(request: DecisionRequest) -> dict[str, JsonValue]:
    """agento's context of a decision-log event: who asked, from the input document."""
    called = request.input.get(RESERVED_KEY)
    called = called if isinstance(called, dict) else {}
    keys = ("workflow_id", "run_id", "workflow_type", "activity", "activity_version", "requester")
    return {key: called.get(key) for key in keys}
