"""Spans for decisions, refusals and reviews, nested under the spans Temporal's OpenTelemetry
interceptor creates; nothing at all when OpenTelemetry is not installed (``agento[otel]``) or no
tracer provider is set."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

try:
    from opentelemetry import trace
except ImportError:  # tracing is optional
    trace = None  # type: ignore[assignment]

Attributes = Mapping[str, str | bool | int | float]


@contextlib.contextmanager
def activity_span(
    name: str, attributes: Attributes
) -> Iterator[dict[str, str | bool | int | float]]:
    """A span around activity-side work (activities are never replayed); attributes added to the
    yielded dict are set on the span when it ends."""
    extra: dict[str, str | bool | int | float] = {}
    if not _tracing():
        yield extra
        return
    with trace.get_tracer("agento").start_as_current_span(
        name, attributes=dict(attributes)
    ) as span:
        try:
            yield extra
        finally:
            span.set_attributes(extra)


def _tracing() -> bool:
    """Whether a span would be recorded. Until a tracer provider is set, OpenTelemetry's proxy
    provider hands out spans that record nothing, yet starting one still costs a context switch
    in and out (a few microseconds on every decision)."""
    return trace is not None and not isinstance(
        trace.get_tracer_provider(), trace.ProxyTracerProvider
    )


def activity_event(name: str, attributes: Attributes) -> None:
    """A completed span marking a moment in activity-side work (a refusal, say)."""
    if _tracing():
        trace.get_tracer("agento").start_span(name, attributes=dict(attributes)).end()


def workflow_span(name: str, attributes: Attributes) -> None:
    """A completed span in workflow code: recorded once, never on replay, and only when
    Temporal's tracing interceptor runs the workflow."""
    if trace is None:
        return
    try:
        from temporalio.contrib.opentelemetry import TracingWorkflowInboundInterceptor
        from temporalio.contrib.opentelemetry.workflow import completed_span
    except ImportError:
        return
    if TracingWorkflowInboundInterceptor._from_context() is not None:
        completed_span(name, attributes=dict(attributes))
