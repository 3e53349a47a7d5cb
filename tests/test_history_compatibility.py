"""Histories recorded by agento before its private modules moved into subpackages
(tests/support/histories/, written by ``python -m tests.support.record_histories``) still replay,
and every name agento writes to history is the one it wrote then.

Replay alone does not prove the second part: Temporal compares commands (activity types and
ids, timers, markers), not headers, search attributes or payload fields. So each history's wire
names, read from the recorded JSON, are pinned here as literals; the same runs made now must
write the same names; and agento's own readers of history (the governance invariant, which reads
the call header, the decision step and the review update by name) must still read the recorded
ones. Queries leave nothing in history: the runs made now ask for pending reviews, and resolve
them, by the literal query and update names, so a renamed handler fails them. Only agento's
public API is used, so that this test survives any move of its private
modules unchanged.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from agento.testing import governance_violations
from tests.support.record_histories import (
    PENDING_REVIEWS_QUERY,
    RESOLVE_REVIEW_UPDATE,
    SCENARIOS,
    Scenario,
)

BY_NAME = {s.name: s for s in SCENARIOS}

_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
_HEX64 = re.compile(r"[0-9a-f]{64,}")


def _payload(payload: dict[str, Any]) -> Any:
    data = base64.b64decode(payload.get("data", ""))
    return json.loads(data) if data else None


def _jwt(token: str) -> dict[str, Any]:
    """A JWS compact token's header and claims (unverified), for their names."""
    header, claims, _ = token.split(".")

    def part(text: str) -> Any:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))

    return {"header": part(header), "claims": part(claims)}


class _Normalized:
    """Replaces what differs from run to run (ids, digests, instants) by placeholders, so that
    what is left is the names and the shapes: the contract."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        started = events[0]["workflowExecutionStartedEventAttributes"]
        self.known: dict[str, str] = {
            started["workflowId"]: "{workflow}",
            started["firstExecutionRunId"]: "{first_run}",
        }
        self.known.setdefault(started["originalExecutionRunId"], "{run}")
        for event in events:
            marker = event.get("markerRecordedEventAttributes")
            if marker and marker["markerName"] == "core_local_activity":
                data = _payload(marker["details"]["data"]["payloads"][0])
                result = _payload(marker["details"]["result"]["payloads"][0])
                self.known[result["decision_id"]] = f"{{decision of {data['activity_id']}}}"

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, str):
            return value
        for raw, placeholder in sorted(self.known.items(), key=lambda kv: -len(kv[0])):
            value = value.replace(raw, placeholder)
        value = _SHA256.sub("sha256:<hex>", value)
        value = _UUID.sub("<uuid>", value)
        value = _TIME.sub("<time>", value)
        return _HEX64.sub("<hex>", value)


def wire(recorded: dict[str, Any]) -> dict[str, Any]:
    """What agento wrote to a history, by name: the run's start header, each governed
    activity's type, id, headers and attempts, each decision step, patch, search attribute,
    review timer, review update and failure. Activities of an agent framework (no agento
    header) are left out: their names are the framework's."""
    events: list[dict[str, Any]] = recorded["events"]
    norm = _Normalized(events)
    started = events[0]["workflowExecutionStartedEventAttributes"]
    names: dict[str, Any] = {
        "workflow": started["workflowType"]["name"],
        "start_header": {
            k: norm(_payload(p)) for k, p in started.get("header", {}).get("fields", {}).items()
        },
        "activities": [],
        "decision_steps": [],
        "patches": [],
        "search_attributes": [],
        "timers": [],
        "updates": [],
        "failure": None,
    }
    for event in events:
        if a := event.get("activityTaskScheduledEventAttributes"):
            fields = a.get("header", {}).get("fields", {})
            if "agento" not in fields:
                continue
            names["activities"].append(
                {
                    "type": a["activityType"]["name"],
                    "id": a["activityId"],
                    "headers": {k: norm(_payload(p)) for k, p in fields.items()},
                    "maximum_attempts": a["retryPolicy"].get("maximumAttempts"),
                }
            )
        elif m := event.get("markerRecordedEventAttributes"):
            if m["markerName"] == "core_patch":
                names["patches"].append(_payload(m["details"]["patch-data"]["payloads"][0])["id"])
            elif m["markerName"] == "core_local_activity":
                data = _payload(m["details"]["data"]["payloads"][0])
                decision = _payload(m["details"]["result"]["payloads"][0])
                receipt = decision["receipt"]
                names["decision_steps"].append(
                    {
                        "type": data["activity_type"],
                        "id": data["activity_id"],
                        "policy": decision["policy"],
                        "fields": sorted(decision),
                        "context": norm(decision["input"]["agento"]),
                        "receipt": None
                        if receipt is None
                        else {"fields": sorted(receipt), "statement": norm(receipt["statement"])},
                    }
                )
            else:
                names["patches"].append(f"marker {m['markerName']}")
        elif s := event.get("upsertWorkflowSearchAttributesEventAttributes"):
            for name, p in s["searchAttributes"]["indexedFields"].items():
                value = _payload(p)
                if name == "AgentoPendingReviews" and value is not None:
                    value = [norm(json.loads(entry)) for entry in value]
                names["search_attributes"].append({name: value})
        elif t := event.get("timerStartedEventAttributes"):
            names["timers"].append(t["startToFireTimeout"])
        elif u := event.get("workflowExecutionUpdateAcceptedEventAttributes"):
            request = u["acceptedRequest"]["input"]
            args = [_payload(p) for p in request["args"]["payloads"]]
            for arg in args:
                if isinstance(arg, dict) and arg.get("signature"):
                    arg["signature"] = _jwt(arg["signature"])
            names["updates"].append({"name": request["name"], "args": norm(args)})
        elif c := event.get("workflowExecutionUpdateCompletedEventAttributes"):
            [outcome] = [_payload(p) for p in c["outcome"]["success"]["payloads"]]
            outcome["signature"] = _jwt(outcome["signature"]) if outcome["signature"] else None
            names["updates"].append({"outcome": norm(outcome)})
        elif f := event.get("workflowExecutionFailedEventAttributes"):
            failure = f["failure"]
            info = failure["applicationFailureInfo"]
            names["failure"] = {
                "type": info["type"],
                "non_retryable": info.get("nonRetryable", False),
                "message": failure["message"],
                "details": norm([_payload(p) for p in info["details"]["payloads"]]),
            }
    return names


def recorded(scenario: Scenario) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(scenario.path.read_text())
    return parsed


# The contract: what the pre-move agento wrote, by name. Never edit these to make a test pass.

CALL_HEADER = "agento"
GENERATION_HEADER = "agento-generation"
DECISION_STEP = "agento.decide"
LISTING_PATCH = "agento-review-search-attribute"
PENDING_REVIEWS = "AgentoPendingReviews"
CHANGE_VERSION = "TemporalChangeVersion"  # Temporal's own, upserted for every patch
DECISION_FIELDS = [
    "allow",
    "bundle_revision",
    "bundle_signing_key_id",
    "decision_id",
    "engine",
    "engine_version",
    "evaluated_at",
    "evaluation_ms",
    "input",
    "input_complete",
    "input_redacted",
    "input_sha256",
    "nondeterministic",
    "policy",
    "reasons",
    "receipt",
    "recoverable",
    "result",
]


Declared = tuple[str, str, str, str]
"""An activity as declared: name, version, idempotency, policy class."""

UPSERT: Declared = ("upsert", "2.0.0", "keyed", "side_effect")
ROUTE: Declared = ("route", "1.4.0", "non_idempotent", "side_effect")
LOOKUP: Declared = ("lookup", "1.0.0", "idempotent", "read_only")
LOOKUP_ORDER: Declared = ("lookup_order", "1.0.0", "idempotent", "read_only")
ISSUE_REFUND: Declared = ("issue_refund", "2.1.0", "non_idempotent", "side_effect")


def _context(declared: Declared, workflow: str, **more: Any) -> dict[str, Any]:
    """The ``input.agento`` document of an activity decision."""
    activity, version, idempotency, policy_class = declared
    return {
        "activity": activity,
        "activity_version": version,
        "idempotency": idempotency,
        "policy_class": policy_class,
        "namespace": "default",
        "requester": None,
        "run_id": "{first_run}",
        "workflow_id": "{workflow}",
        "workflow_type": workflow,
        **more,
    }


def _call(
    declared: Declared,
    keyed_as: str | None = None,
    *,
    step: str | None = None,
    override: str | None = None,
    generation: int = 0,
) -> dict[str, Any]:
    """The ``agento`` header of a governed activity's start: ``keyed_as``, the activity id its
    idempotency key ends with; ``step``, the decision step whose allow it carries."""
    activity, version, idempotency, policy_class = declared
    grant = None
    if step is not None:
        grant = {
            "decision_id": f"{{decision of {step}}}",
            "input_sha256": "sha256:<hex>",
            "request_sha256": "sha256:<hex>",
            "override_review_id": override,
        }
    return {
        CALL_HEADER: {
            "activity": activity,
            "version": version,
            "idempotency": idempotency,
            "policy_class": policy_class,
            "idempotency_key": None
            if keyed_as is None
            else f"{{workflow}}/{{first_run}}/{generation}/{keyed_as}",
            "grant": grant,
        }
    }


def _listing_patch() -> list[dict[str, Any]]:
    return [{CHANGE_VERSION: [LISTING_PATCH]}]


ROUTE_DENIED_REASON = "amount over the limit of 100"

LOOKUP_CALL = {
    "type": "lookup",
    "id": "agento-1-lookup",
    "headers": _call(LOOKUP),
    "maximum_attempts": None,
}

REVIEW_ID = "agento-2-route-review-1"
CAROL = {"subject": "carol", "name": None, "email": None, "groups": ["approvers"]}
RESOLUTION_JWT = {
    "header": {"alg": "ES256", "kid": "review-service", "typ": "JWT"},
    "claims": {
        "aud": "agento.resolve_review",
        "sub": "carol",
        "workflow_id": "{workflow}",
        "review_id": REVIEW_ID,
        "decision_id": "{decision of agento-2-route-decision-1}",
        "approve": True,
        "comment": "checked",
        "reviewer": {**CAROL, "issuer": "test-idp"},
        "iat": "<int>",
        "exp": "<int>",
    },
}
PENDING_ENTRY = {
    "activity": "route",
    "id": REVIEW_ID,
    "reason": "policy_denied",
    "reasons": ROUTE_DENIED_REASON,
    "since": "<time>",
    "until": "<time>",
}

EXPECTED: dict[str, dict[str, Any]] = {
    "allowed-keyed-and-at-most-once": {
        "workflow": "StartedWorkflow",
        "start_header": {},
        "activities": [
            {
                "type": "upsert",
                "id": "agento-1-upsert",
                "headers": _call(UPSERT, "agento-1-upsert", step="agento-1-upsert-decision-1"),
                "maximum_attempts": None,
            },
            {
                "type": "route",
                "id": "agento-2-route",
                "headers": _call(ROUTE, "agento-2-route", step="agento-2-route-decision-1"),
                "maximum_attempts": 1,  # at most once: never retried
            },
        ],
        "decision_steps": [
            {
                "type": DECISION_STEP,
                "id": step,
                "policy": "agento/tests/route",
                "fields": DECISION_FIELDS,
                "context": _context(called, "StartedWorkflow"),
                "receipt": {
                    "fields": ["key_id", "signature", "statement"],
                    "statement": {
                        "type": "https://agento.dev/decision-receipt/v1",
                        "decision_id": f"{{decision of {step}}}",
                        "policy": "agento/tests/route",
                        "bundle_revision": "sha256:<hex>",
                        "bundle_signing_key_id": None,
                        "input_sha256": "sha256:<hex>",
                        "allow": True,
                        "result": {"allow": True, "reason": []},
                        "reasons": [],
                        "recoverable": False,
                        "evaluated_at": "<time>",
                        "workflow_id": "{workflow}",
                        "run_id": "{first_run}",
                        "step_id": step,
                        "activity": called[0],
                        "activity_version": called[1],
                        # Both decisions were asked together (agento.start_activity), before
                        # either answered: neither had a receipt before it to chain to.
                        "previous": None,
                    },
                },
            }
            for step, called in [
                ("agento-1-upsert-decision-1", UPSERT),
                ("agento-2-route-decision-1", ROUTE),
            ]
        ],
        "patches": [LISTING_PATCH],
        "search_attributes": _listing_patch(),
        "timers": [],
        "updates": [],
        "failure": None,
    },
    "denied-then-approved-by-signed-review": {
        "workflow": "RouteWorkflow",
        "start_header": {},
        "activities": [
            LOOKUP_CALL,
            {
                "type": "route",
                "id": "agento-2-route",
                "headers": _call(
                    ROUTE, "agento-2-route", step="agento-2-route-decision-1", override=REVIEW_ID
                ),
                "maximum_attempts": 1,
            },
        ],
        "decision_steps": [
            {
                "type": DECISION_STEP,
                "id": "agento-2-route-decision-1",
                "policy": "agento/tests/route",
                "fields": DECISION_FIELDS,
                "context": _context(ROUTE, "RouteWorkflow", requester="alice"),
                "receipt": None,
            },
            {
                "type": DECISION_STEP,
                "id": f"{REVIEW_ID}-reviewer-1",
                "policy": "agento/tests/reviewers",
                "fields": DECISION_FIELDS,
                "context": {
                    "activity": "route",
                    "namespace": "default",
                    "requester": "alice",
                    "run_id": "{first_run}",
                    "workflow_id": "{workflow}",
                    "workflow_type": "RouteWorkflow",
                },
                "receipt": None,
            },
        ],
        "patches": [
            LISTING_PATCH,
            f"agento-requester-check/{REVIEW_ID}",
            f"agento-reviewer-policy/{REVIEW_ID}",
        ],
        "search_attributes": [
            *_listing_patch(),
            {PENDING_REVIEWS: [PENDING_ENTRY]},
            {CHANGE_VERSION: [f"agento-requester-check/{REVIEW_ID}", LISTING_PATCH]},
            {
                CHANGE_VERSION: [
                    f"agento-requester-check/{REVIEW_ID}",
                    LISTING_PATCH,
                    f"agento-reviewer-policy/{REVIEW_ID}",
                ]
            },
            {PENDING_REVIEWS: None},
        ],
        "timers": ["172800s"],  # the review's 48 hours
        "updates": [
            {
                "name": "agento.resolve_review",
                "args": [
                    {
                        "review_id": REVIEW_ID,
                        "approve": True,
                        "reviewer": "carol",
                        "comment": "checked",
                        "signature": RESOLUTION_JWT,
                    }
                ],
            },
            {
                "outcome": {
                    "review_id": REVIEW_ID,
                    "activity": "route",
                    "approved": True,
                    "reviewer": "carol",
                    "comment": "checked",
                    "resolved_at": "<time>",
                    "reason": "policy_denied",
                    "reasons": [ROUTE_DENIED_REASON],
                    "decision_id": "{decision of agento-2-route-decision-1}",
                    "requester": "alice",
                    "opened_by": "agento-2-route-decision-1",
                    "identity": {**CAROL, "issuer": "test-idp"},
                    "signature": RESOLUTION_JWT,
                    "signing_key_id": "review-service",
                    "reviewer_decision_id": f"{{decision of {REVIEW_ID}-reviewer-1}}",
                    "requester_check": "uts39-skeleton",
                }
            },
        ],
        "failure": None,
    },
    "denied-for-good": {
        "workflow": "RouteWorkflow",
        "start_header": {},
        "activities": [LOOKUP_CALL],
        "decision_steps": [
            {
                "type": DECISION_STEP,
                "id": "agento-2-route-decision-1",
                "policy": "agento/tests/route",
                "fields": DECISION_FIELDS,
                "context": _context(ROUTE, "RouteWorkflow", requester="alice"),
                "receipt": None,
            }
        ],
        "patches": [LISTING_PATCH],
        "search_attributes": _listing_patch(),
        "timers": [],
        "updates": [],
        "failure": {
            "type": "PolicyDenied",
            "non_retryable": True,
            "message": f'policy denied activity "route": {ROUTE_DENIED_REASON}',
            "details": [
                {
                    "activity": "route",
                    "reasons": [ROUTE_DENIED_REASON],
                    "decision_id": "{decision of agento-2-route-decision-1}",
                }
            ],
        },
    },
    "keyed-after-continue-as-new": {
        "workflow": "UpsertAcrossContinueAsNewWorkflow",
        "start_header": {GENERATION_HEADER: 1},
        "activities": [
            {
                "type": "upsert",
                "id": "agento-1-upsert",
                "headers": _call(
                    UPSERT, "agento-1-upsert", step="agento-1-upsert-decision-1", generation=1
                ),
                "maximum_attempts": None,
            }
        ],
        "decision_steps": [
            {
                "type": DECISION_STEP,
                "id": "agento-1-upsert-decision-1",
                "policy": "agento/tests/route",
                "fields": DECISION_FIELDS,
                # The run decides as itself; its key names the chain's first run.
                "context": {
                    **_context(UPSERT, "UpsertAcrossContinueAsNewWorkflow"),
                    "run_id": "{run}",
                },
                "receipt": None,
            }
        ],
        "patches": [LISTING_PATCH],
        "search_attributes": _listing_patch(),
        "timers": [],
        "updates": [],
        "failure": None,
    },
    "agent-tool-call-allowed": {
        "workflow": "PydanticRefundDesk",
        "start_header": {},
        "activities": [
            {
                "type": "lookup_order",
                "id": "agento-1-lookup_order",
                "headers": _call(LOOKUP_ORDER),
                "maximum_attempts": None,
            },
            {
                "type": "issue_refund",
                "id": "agento-2-issue_refund",
                "headers": _call(
                    ISSUE_REFUND, "agento-2-issue_refund", step="agento-2-issue_refund-decision-1"
                ),
                "maximum_attempts": 1,
            },
        ],
        "decision_steps": [
            {
                "type": DECISION_STEP,
                "id": "agento-2-issue_refund-decision-1",
                "policy": "agento/refunds/issue",
                "fields": DECISION_FIELDS,
                "context": _context(
                    ISSUE_REFUND,
                    "PydanticRefundDesk",
                    agent={
                        "agent": "refund_desk",
                        "conversation_id": "<uuid>",
                        "framework": "pydantic-ai",
                        "instructions_sha256": "sha256:<hex>",
                        "instructions_version": "refund-desk/3",
                        "model": "scripted-refund-desk",
                        "tool": "issue_refund",
                        "tool_call_id": "call-2",
                        "tools_sha256": "sha256:<hex>",
                    },
                ),
                "receipt": None,
            }
        ],
        # Pydantic AI's own patch comes first: its run asks it before any tool is called.
        "patches": ["pydantic_ai:stable_default_run_id", LISTING_PATCH],
        "search_attributes": [
            {CHANGE_VERSION: ["pydantic_ai:stable_default_run_id"]},
            {CHANGE_VERSION: [LISTING_PATCH, "pydantic_ai:stable_default_run_id"]},
        ],
        "timers": [],
        "updates": [],
        "failure": None,
    },
}


def _int_claims(names: dict[str, Any]) -> dict[str, Any]:
    """The resolution tokens' issued-at and expiry, which differ per run, as placeholders."""
    for update in names["updates"]:
        for resolution in [*update.get("args", []), update.get("outcome")]:
            token = resolution.get("signature") if isinstance(resolution, dict) else None
            if isinstance(token, dict):
                token["claims"].update(iat="<int>", exp="<int>")
    return names


def test_every_scenario_has_its_recorded_history_and_contract() -> None:
    assert sorted(EXPECTED) == sorted(BY_NAME)
    for scenario in SCENARIOS:
        assert scenario.path.is_file(), f"{scenario.path} is not recorded"


def test_the_wire_names_are_literally_the_ones_used_here() -> None:
    """The names the recorder's client sends are the contract's, not agento's constants."""
    assert (PENDING_REVIEWS_QUERY, RESOLVE_REVIEW_UPDATE) == (
        "agento.pending_reviews",
        "agento.resolve_review",
    )


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_recorded_history_has_the_pinned_wire_names(name: str) -> None:
    assert _int_claims(wire(recorded(BY_NAME[name]))) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(BY_NAME))
async def test_recorded_history_replays_without_nondeterminism(name: str) -> None:
    scenario = BY_NAME[name]
    replayer = Replayer(workflows=scenario.workflows, plugins=scenario.replay_plugins())
    result = await replayer.replay_workflow(scenario.load(), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{name}: {result.replay_failure!r}"


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_agento_still_reads_the_recorded_history(name: str) -> None:
    """The invariant finds every recorded decision, grant and review by its recorded name: a
    renamed call header, decision step or review update would show as violations here."""
    scenario = BY_NAME[name]
    assert governance_violations(scenario.load(), scenario.activities) == []


@pytest.mark.parametrize("name", sorted(BY_NAME))
async def test_the_same_run_made_now_writes_the_same_wire_names(
    agento_dev_server: WorkflowEnvironment, name: str
) -> None:
    history: WorkflowHistory = await BY_NAME[name].run(agento_dev_server)
    assert _int_claims(wire(json.loads(history.to_json()))) == EXPECTED[name]
