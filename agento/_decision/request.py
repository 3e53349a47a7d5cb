"""A governed call's request in its three forms: the policy input document the engine decides
on, the digest the activity side checks, and the redacted form reviewers see.

Each is computed here only, so that what was decided, what runs and what is shown cannot drift.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from pydantic import JsonValue

from agento._decision.protocol import DecisionRequest
from agento._decision.record import DecisionContext, canonical_json, policy_input
from agento._decision.redaction import Needed, Sensitive, marked_fields, redact
from agento._declaration.activity import PolicyInput
from agento._errors import GovernanceError


def compose(
    request: PolicyInput,
    context: DecisionContext,
    *,
    policy: str,
    max_request_bytes: int,
    payload_size: Callable[[PolicyInput], int],
) -> tuple[DecisionRequest, str]:
    """The decision activity's input and the request's digest, or a `GovernanceError`
    (``PolicyError``) before the engine is asked: a request that cannot become the same JSON on
    both sides (bytes that are not UTF-8, NaN, objects pydantic cannot serialize, ...) would
    otherwise fail workflow tasks forever, or be decided on one form and run with another; one
    over the payload limit (``payload_size`` measures what the activity would be sent) would be
    decided, then refused by the server."""
    name, shape = context.activity, type(request).__name__
    try:
        document = policy_input(request, context)
        canonical_json(document).encode()  # a JSON document, in UTF-8
        digest = request_digest(request)
        size = payload_size(request)
    except Exception as e:
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise GovernanceError.policy(
            f'the request of activity "{name}" ({shape}) cannot become a '
            f"JSON policy input: {detail}. Nothing was asked or run; fix the value or the "
            "contract (JSON has no NaN, infinity or raw bytes)"
        ) from e
    if size > max_request_bytes:
        raise GovernanceError.policy(
            f'the request of activity "{name}" ({shape}) is '
            f"{size:,} bytes, over the payload limit of {max_request_bytes:,} "
            "(Temporal's blob size limit): the server would refuse to schedule it. Nothing was "
            "asked or run; send a reference (a URL, a blob id and its digest) instead of the "
            "content"
        )
    decision_request = DecisionRequest(
        policy=policy,
        input=document,
        sensitive=marked_fields(type(request), Sensitive),
        needed=marked_fields(type(request), Needed),
    )
    return decision_request, digest


def request_digest(request: PolicyInput) -> str:
    """Digest of a request's JSON form, recomputed on the activity side from what arrived."""
    text = canonical_json(request.model_dump(mode="json"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def shown(request: object) -> dict[str, JsonValue] | None:
    """A request as reviewers see it: sensitive fields hashed."""
    if not isinstance(request, PolicyInput):
        return None
    return redact(request.model_dump(mode="json"), marked_fields(type(request), Sensitive))
