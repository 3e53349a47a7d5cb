"""Governed tool calls for AI agents: the model chooses the call, agento decides whether it runs.

One module per agent framework, each importing its framework only when it is imported itself,
so ``import agento`` stays as light as it is without them:

- `agento.agents.openai`: the OpenAI Agents SDK on Temporal (``agento[openai-agents]``);
- `agento.agents.pydantic_ai`: Pydantic AI agents made durable with ``TemporalDurability``
  (``agento[pydantic-ai]``).

Every tool call is an `agento.execute_activity` whose decision input carries an
`agento.AgentCall` under ``input.agento.agent``: the agent, the model, the tool call id, the
conversation, and the versions of the instructions and tools (docs/agents.md).
"""
