"""agento's metrics, recorded through the Temporal runtime's meter of the current activity or
workflow, so they land wherever the worker's Temporal metrics go (a Prometheus endpoint, an
OpenTelemetry collector). Labels stay low-cardinality: policy paths, reasons, outcomes, rule ids.

Workflow-side metrics use ``workflow.metric_meter()``, which records nothing during replay.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

DECISIONS = "agento_decisions"
DECISION_LATENCY = "agento_decision_latency"
ENGINE_FAILURES = "agento_engine_failures"
REVIEWS_OPENED = "agento_reviews_opened"
REVIEWS_RESOLVED = "agento_reviews_resolved"
REVIEW_WAIT = "agento_review_wait"
REFUSALS = "agento_refusals"
DECISION_LOG_DROPPED = "agento_decision_log_dropped"


def decision(policy: str, outcome: str, evaluation_ms: float | None = None) -> None:
    """One decision step's outcome (``allow``, ``deny``, ``unavailable``, ``error``)."""
    meter = activity.metric_meter()
    meter.create_counter(DECISIONS, "Policy decisions asked, by outcome").add(
        1, {"policy": policy, "outcome": outcome}
    )
    if outcome in ("unavailable", "error"):
        meter.create_counter(ENGINE_FAILURES, "Decision attempts the engine failed").add(
            1, {"policy": policy, "failure": outcome}
        )
    if evaluation_ms is not None:
        meter.create_histogram_float(
            DECISION_LATENCY, "Time the policy engine took to decide", "ms"
        ).record(evaluation_ms, {"policy": policy})


def refusal(rule: str, *, in_workflow: bool) -> None:
    """A governed call refused by a rule (``agento-bypass``, ``agento-retry-unsafe``, ...)."""
    meter = workflow.metric_meter() if in_workflow else activity.metric_meter()
    meter.create_counter(REFUSALS, "Governed calls refused, by rule").add(1, {"rule": rule})


def review_opened(reason: str) -> None:
    workflow.metric_meter().create_counter(REVIEWS_OPENED, "Reviews opened, by reason").add(
        1, {"reason": reason}
    )


def review_resolved(reason: str, outcome: str, waited: timedelta) -> None:
    """``outcome`` is ``approved``, ``rejected`` or ``timed_out``."""
    meter = workflow.metric_meter()
    labels = {"reason": reason, "outcome": outcome}
    meter.create_counter(REVIEWS_RESOLVED, "Reviews closed, by outcome").add(1, labels)
    meter.create_histogram_timedelta(
        REVIEW_WAIT, "How long a review waited for its reviewer", "ms"
    ).record(waited, labels)


def decision_log_dropped(count: int = 1) -> None:
    if not activity.in_activity():  # a sink used outside a worker counts on its own only
        return
    activity.metric_meter().create_counter(
        DECISION_LOG_DROPPED, "Decision-log events dropped: the sink's buffer was full"
    ).add(count)
