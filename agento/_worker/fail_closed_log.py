"""Expected fail-closed events as one structured log line each, not a traceback per attempt.

An engine outage or a refused bypass is agento working as designed; temporalio would log each
such activity failure with its whole traceback. These failures are raised as BENIGN application
errors (temporalio logs those at DEBUG) after one line on the ``agento`` logger, whose fields are
also in the record's ``agento`` attribute for structured handlers. Unexpected errors keep their
tracebacks.
"""

from __future__ import annotations

import logging

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from agento._decision.protocol import DecisionRequest
from agento._errors import DecidingError

logger = logging.getLogger("agento")


def log_event(event: str, level: int = logging.WARNING, **fields: object) -> None:
    """``event key=value ...`` on the ``agento`` logger."""
    text = " ".join(
        f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}"
        for key, value in fields.items()
    )
    logger.log(level, f"{event} {text}", extra={"agento": {"event": event, **fields}})


def fail_closed(event: str, error: DecidingError, request: DecisionRequest) -> ApplicationError:
    """Log a decision step that could not decide, and the failure to raise for it: its type and
    whether it is retried are the error class's (a subclass is classified as its family)."""
    info = activity.info()
    called = request.input.get("agento")
    log_event(
        event,
        logging.WARNING if error.retryable else logging.ERROR,
        activity=called.get("activity") if isinstance(called, dict) else None,
        policy=request.policy,
        workflow_id=info.workflow_id,
        attempt=info.attempt,
        reason=str(error),
    )
    return ApplicationError(
        str(error),
        type=error.failure_type,
        non_retryable=not error.retryable,
        category=ApplicationErrorCategory.BENIGN,
    )
