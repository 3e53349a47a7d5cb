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


class DecisionActivity:
    def __init__(self, engine: PolicyEngine) -> None:
        self.engine = engine

    @activity.defn(name=DECISION_ACTIVITY)
    async def decide(self, request: DecisionRequest) -> Decision:
        try:
            return await self.engine.decide(request.policy, request.input)
        except PolicyError as e:
            # Asking again cannot help; PolicyEngineUnavailable stays retryable.
            raise ApplicationError(str(e), type="PolicyError", non_retryable=True) from e
