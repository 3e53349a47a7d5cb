"""The decision activity: where a workflow's question reaches the policy engine.

Its result, the full `agento.Decision`, is what the workflow history records.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from agento._decision import Decision
from agento._engine import PolicyEngine
from agento._errors import PolicyError
from agento._execution import DECISION_ACTIVITY, DecisionRequest
from agento._recording import recorded_input


class DecisionActivity:
    def __init__(self, engine: PolicyEngine) -> None:
        self.engine = engine

    @activity.defn(name=DECISION_ACTIVITY)
    async def decide(self, request: DecisionRequest) -> Decision:
        try:
            decision = await self.engine.decide(request.policy, request.input)
        except PolicyError as e:
            # Asking again cannot help; PolicyEngineUnavailable stays retryable.
            raise ApplicationError(str(e), type="PolicyError", non_retryable=True) from e
        recorded, complete = recorded_input(
            decision.input, sensitive=request.sensitive, needed=request.needed
        )
        return decision.model_copy(
            update={
                "input": recorded,
                "input_redacted": request.sensitive,
                "input_complete": complete,
            }
        )
