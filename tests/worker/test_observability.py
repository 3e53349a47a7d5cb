"""Metrics scraped from a worker's Prometheus endpoint, spans under Temporal's, and decision logs
delivered to a loopback receiver that is down at first: the paths an operator watches."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import JsonValue
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment

import agento
from agento import EmbeddedEngine, ResolveReview, ReviewOutcome
from agento.testing import OutageEngine
from tests.support.engines import POLICY_BUNDLE
from tests.support.governed_activities import Payment, Transfer
from tests.support.governed_workflows import (
    BypassWorkflow,
    PayWorkflow,
    RouteWorkflow,
    UnsafeRetryWorkflow,
)
from tests.support.reviews import pending_reviews
from tests.support.runs import governed_worker

_SERIES = re.compile(r"^(?P<name>\w+)\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def run(client: Client, task_queue: str, workflow: Any, request: Any) -> Any:
    handle = await client.start_workflow(
        workflow, request, id=f"obs-{uuid.uuid4()}", task_queue=task_queue
    )
    if isinstance(request, Transfer) and request.amount == 150:
        [review] = await pending_reviews(handle)
        await handle.execute_update(
            "agento.resolve_review",
            ResolveReview(review_id=review.review_id, approve=True, reviewer="bob"),
            result_type=ReviewOutcome,
        )
    try:
        return await handle.result()
    except WorkflowFailureError as e:
        return e


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    series = {}
    for line in text.splitlines():
        if m := _SERIES.match(line):
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m["labels"]))
            series[m["name"], labels] = float(m["value"])
    return series


def total(
    series: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **want: str
) -> float:
    """The sum over ``name``'s series whose labels include ``want``."""
    return sum(
        value
        for (series_name, labels), value in series.items()
        if series_name == name and set(want.items()) <= labels
    )


@pytest.mark.filterwarnings("ignore:this worker decides with local activities")
async def test_metrics_land_on_the_workers_prometheus_endpoint(
    agento_dev_server: WorkflowEnvironment,
) -> None:
    port = free_port()
    runtime = Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}"))
    )
    engine = OutageEngine(EmbeddedEngine(POLICY_BUNDLE), failures=1)
    client = await Client.connect(
        agento_dev_server.client.service_client.config.target_host,
        runtime=runtime,
        plugins=[agento.AgentoPlugin(engine=engine)],
    )
    task_queue = f"metrics-{uuid.uuid4()}"
    # No cache: every workflow task replays the history so far, which must count nothing.
    async with governed_worker(client, task_queue, max_cached_workflows=0):
        await run(client, task_queue, RouteWorkflow.run, Transfer(project_id="p", amount=10))
        await run(client, task_queue, RouteWorkflow.run, Transfer(project_id="p", amount=5000))
        await run(client, task_queue, RouteWorkflow.run, Transfer(project_id="p", amount=150))
        await run(client, task_queue, BypassWorkflow.run, Transfer(project_id="p", amount=1))
        await run(client, task_queue, UnsafeRetryWorkflow.run, Transfer(project_id="p", amount=1))
    series = scrape(port)
    route = {"policy": "agento/tests/route", "task_queue": task_queue}
    assert total(series, "agento_decisions", outcome="allow", **route) == 1
    assert total(series, "agento_decisions", outcome="unavailable", **route) == 1
    assert total(series, "agento_decisions", outcome="deny", **route) == 2
    assert total(series, "agento_engine_failures", failure="unavailable", **route) == 1
    assert total(series, "agento_decision_latency_count", **route) == 3
    assert total(series, "agento_reviews_opened", reason="policy_denied") == 1
    assert total(series, "agento_reviews_resolved", reason="policy_denied", outcome="approved") == 1
    assert total(series, "agento_review_wait_count", outcome="approved") == 1
    assert total(series, "agento_refusals", rule="agento-bypass") == 1
    assert total(series, "agento_refusals", rule="agento-retry-unsafe") == 1
    assert total(series, "agento_refusals", rule="PolicyDenied") == 0, "a deny is no refusal"


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    """OpenTelemetry's SDK recording in memory (the global provider can be set once)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


async def test_decisions_reviews_and_refusals_are_spans_under_temporals(
    agento_time_skipping_env: WorkflowEnvironment, spans: InMemorySpanExporter
) -> None:
    client = Client(
        agento_time_skipping_env.client.service_client,
        interceptors=[TracingInterceptor()],
        plugins=[agento.AgentoPlugin(engine=EmbeddedEngine(POLICY_BUNDLE))],
    )
    task_queue = f"traces-{uuid.uuid4()}"
    async with governed_worker(client, task_queue):
        await run(client, task_queue, RouteWorkflow.run, Transfer(project_id="p", amount=150))
        await run(client, task_queue, BypassWorkflow.run, Transfer(project_id="p", amount=1))
    finished = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in finished if s.context is not None}

    def ancestors(span: ReadableSpan) -> list[str]:
        names = []
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            names.append(span.name)
        return names

    [decision] = [s for s in finished if s.name == "agento.decision"]
    assert decision.attributes is not None
    assert decision.attributes["agento.policy"] == "agento/tests/route"
    assert decision.attributes["agento.allow"] is False
    assert str(decision.attributes["agento.bundle_revision"]).startswith("sha256:")
    assert decision.attributes["agento.decision_id"]
    assert "RunActivity:agento.decide" in ancestors(decision)
    [review] = [s for s in finished if s.name == "agento.review"]
    assert review.attributes is not None
    assert (review.attributes["agento.outcome"], review.attributes["agento.reviewer"]) == (
        "approved",
        "bob",
    )
    # Temporal puts a workflow's own spans (StartActivity:..., CompleteWorkflow:...) under the
    # workflow's start span; the review's is among them.
    assert ancestors(review) == ["StartWorkflow:RouteWorkflow"]
    [refusal] = [s for s in finished if s.name == "agento.refusal"]
    assert refusal.attributes is not None
    assert refusal.attributes["agento.rule"] == "agento-bypass"
    assert "RunActivity:route" in ancestors(refusal)


class Receiver:
    """A loopback decision-log service: gunzips each POSTed batch."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.headers: list[dict[str, str]] = []

    @contextmanager
    def serving(self, port: int) -> Iterator[None]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.headers.append(dict(self.headers))
                receiver.batches.append(json.loads(gzip.decompress(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield
        finally:
            server.shutdown()
            server.server_close()

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for batch in self.batches for event in batch]


async def wait_until(condition: Any, seconds: float = 30) -> None:
    for _ in range(int(seconds * 20)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_decision_logs_reach_a_service_that_was_down(
    agento_time_skipping_env: WorkflowEnvironment,
) -> None:
    port = free_port()
    log = agento.HttpDecisionLog(
        f"http://127.0.0.1:{port}/logs", headers={"Authorization": "Bearer t"}, max_backoff=0.5
    )
    client = Client(
        agento_time_skipping_env.client.service_client,
        plugins=[agento.AgentoPlugin(engine=EmbeddedEngine(POLICY_BUNDLE), decision_log=log)],
    )
    receiver = Receiver()
    task_queue = f"logs-{uuid.uuid4()}"
    payment = Payment(project_id="p", amount=10, iban="DE89370400440532013000", memo="m")
    async with governed_worker(client, task_queue):
        # The service is down: the decision is made, recorded and run all the same.
        assert await run(client, task_queue, PayWorkflow.run, payment) == "paid 10"
        await asyncio.sleep(1)
        assert log.delivered == 0
        with receiver.serving(port):
            await run(client, task_queue, RouteWorkflow.run, Transfer(project_id="p", amount=5000))
            await wait_until(lambda: len(receiver.events) == 2)
    first, second = receiver.events
    assert receiver.headers[0]["Content-Encoding"] == "gzip"
    assert receiver.headers[0]["Authorization"] == "Bearer t"
    assert first["path"] == "agento/tests/route"
    assert first["result"] == {"allow": True, "reason": []}
    assert first["input"]["iban"] == {"redacted": first["input"]["iban"]["redacted"]}
    assert "DE89370400440532013000" not in json.dumps(first)
    assert first["masked"] == ["/input/iban"]
    assert first["bundles"]["agento"]["revision"].startswith("sha256:")
    assert first["timestamp"].endswith("Z")
    assert first["custom"]["agento"]["activity"] == "pay"
    assert first["custom"]["agento"]["allow"] is True
    assert second["custom"]["agento"]["allow"] is False
    assert second["custom"]["agento"]["reasons"] == ["amount over the limit of 100"]
    assert log.dropped == 0


async def test_a_full_buffer_drops_and_counts_never_blocks(tmp_path: Path) -> None:
    port = free_port()  # nothing listens: every delivery fails
    log = agento.HttpDecisionLog(f"http://127.0.0.1:{port}/logs", buffer=3, max_backoff=0.2)
    event: dict[str, JsonValue] = {"decision_id": "d"}
    for _ in range(10):
        log.emit(event)  # returns at once
    await asyncio.sleep(0.3)
    assert log.dropped >= 6, "the buffer holds 3 and one batch in flight"
    assert log.delivered == 0
    await log.aclose()

    file_log = agento.FileDecisionLog(tmp_path / "decisions.jsonl")
    file_log.emit({"decision_id": "a"})
    file_log.emit({"decision_id": "b"})
    await file_log.aclose()
    lines = (tmp_path / "decisions.jsonl").read_text().splitlines()
    assert [json.loads(line)["decision_id"] for line in lines] == ["a", "b"]


def test_without_opentelemetry_tracing_is_silent() -> None:
    script = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from agento._observability import tracing\n"
        "assert tracing.trace is None\n"
        "with tracing.activity_span('x', {}) as extra: extra['y'] = 1\n"
        "tracing.workflow_span('x', {})\n"
        "print('quiet')"
    )
    run = _python(script)
    assert (run.returncode, run.stdout.strip()) == (0, "quiet"), run.stderr


def test_spans_start_only_once_a_tracer_provider_is_set() -> None:
    # A fresh process: OpenTelemetry installed, no provider yet, so spans would record nothing
    # and none is started; a provider set later is used from then on.
    script = (
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from opentelemetry.sdk.trace.export import SimpleSpanProcessor\n"
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import "
        "InMemorySpanExporter\n"
        "from agento._observability import tracing\n"
        "asked = []\n"
        "get_tracer = trace.get_tracer\n"
        "trace.get_tracer = lambda *a, **k: asked.append(a) or get_tracer(*a, **k)\n"
        "with tracing.activity_span('before', {}) as extra: extra['y'] = 1\n"
        "tracing.activity_event('before', {})\n"
        "assert asked == [], asked\n"
        "exporter = InMemorySpanExporter()\n"
        "provider = TracerProvider()\n"
        "provider.add_span_processor(SimpleSpanProcessor(exporter))\n"
        "trace.set_tracer_provider(provider)\n"
        "with tracing.activity_span('after', {}) as extra: extra['y'] = 1\n"
        "tracing.activity_event('event', {})\n"
        "spans = exporter.get_finished_spans()\n"
        "print([(s.name, dict(s.attributes or {})) for s in spans])"
    )
    run = _python(script)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[('after', {'y': 1}), ('event', {})]"


def _python(script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter: tracing's global state starts unset there."""
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )


async def test_a_sink_goes_on_after_a_worker_closed_it() -> None:
    # One plugin (and so one sink) can serve several workers in turn; each stop closes it.
    port = free_port()
    receiver = Receiver()
    log = agento.HttpDecisionLog(f"http://127.0.0.1:{port}/logs", max_backoff=0.2)
    with receiver.serving(port):
        log.emit({"decision_id": "first"})
        await log.aclose()
        log.emit({"decision_id": "second"})
        await log.aclose()
    assert [e["decision_id"] for e in receiver.events] == ["first", "second"]
