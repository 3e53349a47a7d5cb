"""The decision activity: where a workflow's question reaches the policy engine.

Its result, the full `agento.Decision`, is what the workflow history records.
"""

from __future__ import annotations

from temporalio import activity

from agento._decision import Decision
from agento._engine import PolicyEngine
from agento._errors import PolicyEngineUnavailable, PolicyError
from agento._execution import DECISION_ACTIVITY, DecisionRequest
from agento._logging import fail_closed
from agento._recording import recorded_input


class DecisionActivity:
    def __init__(self, engine: PolicyEngine) -> None:
        self.engine = engine

    @activity.defn(name=DECISION_ACTIVITY)
    async def decide(self, request: DecisionRequest) -> Decision:
        try:
            decision = await self.engine.decide(request.policy, request.input)
        except PolicyEngineUnavailable as e:  # retried, then a review: failing closed, as meant
            raise fail_closed("policy engine unavailable", e, request, retryable=True) from None
        except PolicyError as e:  # asking again cannot help: the run fails
            raise fail_closed("policy cannot be asked", e, request, retryable=False) from None
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
