"""A governed tool call against the framework's own activity tool, in the same agent run.

One OpenAI Agents SDK agent on Temporal's dev server, with the example's scripted model, calls
a governed tool (``agento.agents.openai.governed_tool``: decision as a local activity, then the
activity) and ``activity_as_tool`` over an equivalent plain activity, alternately, in one
conversation. Each tool call's time is read from the run's history: from the completion of the
model call that asked for it to the scheduling of the next model call, so the model's own time
is left out and both kinds share the same worker, server and moment.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import uuid
from datetime import datetime

from agents import set_tracing_disabled
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import agento
from agento.agents.openai import MODEL_ACTIVITIES
from agento.testing import server_binary
from benchmarks._agent_workflows import AgentOrders, place_plain
from benchmarks._execution_workflows import BUNDLE, place
from examples.agent_refunds.model import ScriptedModels

PAIRS = 30
MODEL = "invoke_model_activity"
ORDER = {"project_id": "bess-7", "amount": 40}


def per_call_ms(events: list[HistoryEvent]) -> dict[str, list[float]]:
    """Tool -> the time of each of its calls: model call completed -> next model call scheduled."""
    scheduled: dict[int, str] = {}  # scheduled event id -> activity type
    times: dict[str, list[float]] = {"governed": [], "plain": []}
    asked_at: datetime | None = None
    tool: str | None = None
    for e in events:
        if e.HasField("activity_task_scheduled_event_attributes"):
            kind = e.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[e.event_id] = kind
            if kind == MODEL and asked_at is not None and tool is not None:
                times[tool].append((e.event_time.ToDatetime() - asked_at).total_seconds() * 1e3)
                asked_at = tool = None
            elif kind in (place.declaration.name, "place_plain"):
                tool = "governed" if kind == place.declaration.name else "plain"
        elif e.HasField("activity_task_completed_event_attributes"):
            done = e.activity_task_completed_event_attributes.scheduled_event_id
            if scheduled.get(done) == MODEL:
                asked_at = e.event_time.ToDatetime()
    return times


async def _main() -> None:
    set_tracing_disabled(True)  # the SDK would export traces to OpenAI's servers
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=server_binary("temporal"), dev_server_log_level="error"
    )
    async with env:
        await agento.ensure_search_attributes(env.client)
        client = Client(
            env.client.service_client,
            plugins=[
                OpenAIAgentsPlugin(model_provider=ScriptedModels()),
                agento.AgentoPlugin(
                    engine=agento.EmbeddedEngine(BUNDLE),
                    ungoverned=[*MODEL_ACTIVITIES, place_plain],
                ),
            ],
        )
        queue = f"bench-agents-{uuid.uuid4()}"
        plan = json.dumps(
            [
                call
                for _ in range(PAIRS)
                for call in (["place", ORDER], ["place_plain", {"order": ORDER}])
            ]
        )
        async with Worker(
            client,
            task_queue=queue,
            workflows=[AgentOrders],
            activities=[*agento.as_temporal_activities(place), place_plain],
        ):
            handle = await client.start_workflow(
                AgentOrders.run, plan, id=f"bench-agents-{uuid.uuid4()}", task_queue=queue
            )
            await handle.result()
        times = per_call_ms([e async for e in handle.fetch_history_events()])
    governed, plain = statistics.median(times["governed"]), statistics.median(times["plain"])
    print(
        f"agents: tool call, median of {len(times['governed'])} governed and "
        f"{len(times['plain'])} plain in one run: governed {governed:.1f} ms, "
        f"activity_as_tool {plain:.1f} ms, overhead {governed - plain:+.1f} ms "
        f"({governed / plain:.2f}x)"
    )


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
