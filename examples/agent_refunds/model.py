"""The refund desk's model, scripted so that the example runs offline: no network, no API key.

It plays a plan: the user's message is a JSON list of tool calls (``[["lookup_order",
{"order_id": "A-1001"}], ...]``), made one a turn; then it answers with what the last tool
returned. What it does next follows from the conversation alone, as a real model's does, so a
run resumed on another worker (after a restart while a review was pending) carries on.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from agents import (
    AgentOutputSchemaBase,
    Handoff,
    Model,
    ModelProvider,
    ModelResponse,
    ModelSettings,
    ModelTracing,
    Tool,
    TResponseInputItem,
)
from agents.items import TResponseStreamEvent
from temporalio.openai_agents.testing import ResponseBuilders

MODEL_ID = "scripted-refund-desk"


class ScriptedModel(Model):
    """Makes the plan's tool calls in order, then reports the last tool output."""

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        **kwargs: Any,
    ) -> ModelResponse:
        items: list[Any] = [{"role": "user", "content": input}] if isinstance(input, str) else input
        plan = json.loads(next(i["content"] for i in items if i.get("role") == "user"))
        outputs = [i["output"] for i in items if i.get("type") == "function_call_output"]
        if len(outputs) < len(plan):
            tool, arguments = plan[len(outputs)]
            return ResponseBuilders.tool_call(
                json.dumps(arguments), tool, call_id=f"call-{len(outputs) + 1}"
            )
        return ResponseBuilders.output_message(f"done: {outputs[-1] if outputs else 'nothing'}")

    def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        **kwargs: Any,
    ) -> AsyncIterator[TResponseStreamEvent]:
        raise NotImplementedError("the scripted model does not stream")


class ScriptedModels(ModelProvider):
    def get_model(self, model_name: str | None) -> Model:
        return ScriptedModel()
