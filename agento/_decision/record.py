"""The Decision: what a policy engine answered, in a form an auditor can replay.

Interpretation fails closed: only a result whose ``allow`` is exactly the boolean ``true``
allows. Undefined, missing, non-boolean, an evaluation error, anything else denies, with a
reason saying why.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import pydantic
from pydantic import JsonValue

from agento._decision.receipt import DecisionReceipt
from agento._declaration.activity import PolicyInput
from agento._errors import PolicyError
from agento._postures import Idempotency, PolicyClass

RESERVED_KEY = "agento"
"""The input document's key for agento's own metadata; request fields sit beside it."""

RECOVERABLE_BY_DEFAULT = True
"""A deny whose result does not say ``recoverable`` pauses for human review rather than failing."""


class AgentCall(pydantic.BaseModel):
    """Who asked, when a model chose the call: an agent's tool call, recorded under
    ``input.agento.agent`` so that a policy can tell it from a call workflow code made, and an
    auditor can see which agent, model and tool call it was. The `agento.agents` adapters
    fill it; a call without one is a call a developer wrote."""

    model_config = pydantic.ConfigDict(frozen=True)

    framework: str
    """The agent framework that made the call (``openai-agents``)."""
    agent: str
    """The agent's name."""
    model: str | None
    """The model id the agent runs on, as the framework names it."""
    tool: str
    """The tool the model called."""
    tool_call_id: str
    """The model's id for this tool call."""
    conversation_id: str | None = None
    """The conversation or thread the run belongs to, when the framework has one."""
    instructions_version: str | None = None
    """The version of the agent's instructions, as its author declares it."""
    instructions_sha256: str | None = None
    """Digest of the agent's instructions when they are text: which prompt was loaded."""
    tools_sha256: str | None = None
    """Digest of the tools the model was offered (names, descriptions, schemas)."""


class DecisionContext(pydantic.BaseModel):
    """What agento adds to every input document under ``input.agento``."""

    model_config = pydantic.ConfigDict(frozen=True)

    activity: str
    activity_version: str
    idempotency: Idempotency
    policy_class: PolicyClass
    workflow_id: str | None = None
    run_id: str | None = None
    workflow_type: str | None = None
    namespace: str | None = None
    requester: str | None = None
    """Who asked for the run (``agento.execute_activity(requester=...)``), so that the policy, and
    an auditor, can see it; that person may not approve the run's reviews."""
    agent: AgentCall | None = None
    """The agent's tool call this decision is for; absent from the document for a call that
    workflow code made, so those documents stay as they were recorded."""


class Decision(pydantic.BaseModel):
    """One policy decision, recorded in workflow history: the audit trail's unit."""

    model_config = pydantic.ConfigDict(frozen=True)

    decision_id: str
    """The engine's decision id (OPA's, when its decision log is on), else a fresh UUID."""
    policy: str
    """The policy path asked (``agento/commissioning/routing``)."""
    bundle_revision: str
    bundle_signing_key_id: str | None = None
    """The key the bundle's signature verified with; ``None`` when the engine did not verify
    one (an unsigned bundle, or an OPA server, which verifies its own)."""
    engine: str
    engine_version: str
    input: dict[str, JsonValue]
    """The input document the policy saw, as recorded: sensitive fields hashed, and only the
    needed fields when it was too large (see ``input_complete``)."""
    input_sha256: str
    """``sha256:<hex>`` of the full, clear input as canonical JSON (sorted keys, no whitespace)."""
    input_redacted: tuple[str, ...] = ()
    """Fields recorded as ``{"redacted": "sha256:..."}``: the contract marks them sensitive."""
    input_complete: bool = True
    """False when the input exceeded the recording limit and only its needed fields are here."""
    result: JsonValue
    """The policy's result document as the engine returned it; ``None`` when evaluation failed."""
    allow: bool
    reasons: tuple[str, ...]
    recoverable: bool
    """For a deny: whether a human review may resolve it (else the workflow fails)."""
    evaluated_at: datetime
    evaluation_ms: float
    nondeterministic: tuple[str, ...] = ()
    """Built-ins the policy may call whose answers can change between evaluations
    (``http.send``, ...): replay reports the decision as not reproducible rather than compare."""
    receipt: DecisionReceipt | None = None
    """The deciding worker's signature over this decision, chained to the run's previous
    receipt; ``None`` when the worker was given no receipt signer (and in older histories)."""


def policy_input(request: PolicyInput, context: DecisionContext) -> dict[str, JsonValue]:
    """The input document: the request's fields at the top level, agento's under ``agento``."""
    document: dict[str, JsonValue] = request.model_dump(mode="json")
    if RESERVED_KEY in document:
        raise PolicyError(
            f"{type(request).__name__} has a field named {RESERVED_KEY!r}, which the input "
            "document reserves for agento's metadata: rename the field"
        )
    document[RESERVED_KEY] = context.model_dump(
        mode="json", exclude={"agent"} if context.agent is None else None
    )
    return document


def canonical_json(value: object) -> str:
    """JSON with sorted keys and no whitespace: equal documents give equal text."""
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as e:
        raise PolicyError(f"the policy input is not a JSON document: {e}") from e


def input_digest(document: Mapping[str, object]) -> str:
    return text_digest(canonical_json(document))


def text_digest(canonical: str) -> str:
    """``sha256:<hex>`` of a document's canonical JSON, when the text is at hand already."""
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    allow: bool
    reasons: tuple[str, ...]
    recoverable: bool


def interpret(result: JsonValue, *, error: str | None = None) -> Verdict:
    """Read allow, reasons and recoverability from a policy result, failing closed.

    An undefined document never reaches here: no policy at the path is a configuration error
    (`agento.PolicyError`), which no reviewer can wave through.
    """
    if error is not None:
        return Verdict(False, (f"policy evaluation failed: {error}",), RECOVERABLE_BY_DEFAULT)
    if not isinstance(result, dict):
        return Verdict(
            False, (f"policy result is {_show(result)}, not an object",), RECOVERABLE_BY_DEFAULT
        )
    reasons = _reasons(result)
    allow = result.get("allow", None)
    if allow is True:
        return Verdict(True, reasons, False)
    if "allow" not in result:
        reasons += ("policy result has no allow",)
    elif allow is not False:
        reasons += (f"allow is {_show(allow)}, not the boolean true",)
    elif not reasons:
        reasons = ("denied by the policy, which gave no reason",)
    recoverable = result.get("recoverable")
    return Verdict(
        False, reasons, recoverable if isinstance(recoverable, bool) else RECOVERABLE_BY_DEFAULT
    )


def _reasons(result: Mapping[str, JsonValue]) -> tuple[str, ...]:
    for key in ("reason", "reasons"):
        value = result.get(key)
        if isinstance(value, list):
            return tuple(v if isinstance(v, str) else _show(v) for v in value)
        if isinstance(value, dict):
            return tuple(value)
        if isinstance(value, str):
            return (value,)
    return ()


def _show(value: object) -> str:
    return json.dumps(value) if value is not None else "null"


def make_decision(
    *,
    policy: str,
    document: dict[str, JsonValue],
    result: JsonValue,
    error: str | None,
    bundle_revision: str,
    engine: str,
    engine_version: str,
    evaluated_at: datetime,
    evaluation_ms: float,
    decision_id: str | None = None,
    nondeterministic: tuple[str, ...] = (),
    bundle_signing_key_id: str | None = None,
    input_sha256: str | None = None,
) -> Decision:
    verdict = interpret(result, error=error)
    return Decision(
        decision_id=decision_id or str(uuid.uuid4()),
        policy=policy,
        bundle_revision=bundle_revision,
        bundle_signing_key_id=bundle_signing_key_id,
        engine=engine,
        engine_version=engine_version,
        input=document,
        input_sha256=input_sha256 or input_digest(document),
        result=result,
        allow=verdict.allow,
        reasons=verdict.reasons,
        recoverable=verdict.recoverable,
        evaluated_at=evaluated_at,
        evaluation_ms=evaluation_ms,
        nondeterministic=nondeterministic,
    )


def now() -> datetime:
    return datetime.now(UTC)
