"""The recorded decision step: how workflow code asks the policy engine, so that the answer is
in history. Activity decisions and reviewer decisions both go through it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from agento._decision.protocol import DECISION_ACTIVITY, DecisionRequest
from agento._decision.record import Decision
from agento._errors import GovernanceError, PolicyError


@dataclass(frozen=True)
class DecisionSettings:
    """How a workflow asks for decisions: set once on `agento.AgentoPlugin`."""

    local: bool = True
    """Ask through a local activity (one history event, a few ms) or a regular one (six)."""
    attempts: int = 5
    """How often an unavailable engine is asked (1 s apart, doubling up to 15 s) before the
    activity pauses for review: five attempts span about 15 seconds."""
    max_request_bytes: int = 2 * 1024 * 1024
    """The largest request an activity may be sent: Temporal's default blob size limit. A larger
    one fails the run before anything is asked, where the server would refuse the activity's
    schedule and leave the run retrying its workflow task."""


_LATEST_RECEIPT: dict[str, str] = {}
"""Run id -> digest of its latest receipt, for runs executing on this worker. Rebuilt as a run
replays (read from the recorded decisions); `forget_receipts` clears it when the run leaves."""


def forget_receipts(run_id: str) -> None:
    _LATEST_RECEIPT.pop(run_id, None)


@dataclass(frozen=True)
class Unavailable:
    """The engine stayed unavailable for every attempt (the failure is recorded too)."""

    reason: str


async def ask(
    request: DecisionRequest, step_id: str, settings: DecisionSettings
) -> Decision | Unavailable:
    """The decision, recorded in history as the decision activity's result, or why the engine
    stayed unavailable for every attempt."""
    retry = RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=15),
        maximum_attempts=settings.attempts,
        non_retryable_error_types=[PolicyError.failure_type],
    )
    run = workflow.execute_local_activity if settings.local else workflow.execute_activity
    run_id = workflow.info().run_id
    # The input is not compared on replay, so histories recorded before receipts replay as they are.
    request = request.model_copy(update={"previous_receipt": _LATEST_RECEIPT.get(run_id)})
    try:
        decision: Decision = await run(
            DECISION_ACTIVITY,
            request,
            result_type=Decision,
            activity_id=step_id,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=retry,
        )
        if decision.receipt is not None:
            _LATEST_RECEIPT[run_id] = decision.receipt.digest
        return decision
    except (ActivityError, ApplicationError) as e:
        # A local activity's failure arrives unwrapped; a regular activity's inside ActivityError.
        cause = e.cause if isinstance(e, ActivityError) else e
        if isinstance(cause, ApplicationError) and cause.type == PolicyError.failure_type:
            raise GovernanceError.policy(cause.message) from e
        message = cause.message if isinstance(cause, ApplicationError) else str(e)
        return Unavailable(f"policy engine unavailable: {message}")
    except Exception as e:  # a Decision that cannot be read back, say: fail, never wedge
        raise GovernanceError.policy(f"the decision could not be recorded: {e}") from e
