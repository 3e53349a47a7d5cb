"""Everything agento writes to Temporal history or reads back from it, in one place.

History outlives the code that wrote it: an audit replays runs years old, and a worker replays
a waiting run after each redeploy. So every name and id below is a contract, byte for byte:
change one and recorded histories no longer replay, nor do audits read them. The functions
that build ids are the only place ids are built, and their parsers the only place they are read.
"""

from __future__ import annotations

import re

import pydantic
from pydantic import JsonValue

from agento._postures import Idempotency, PolicyClass

# Names Temporal records: activity types, headers, the update and the query.
DECISION_ACTIVITY = "agento.decide"
CALL_HEADER = "agento"
"""The header every governed activity start carries: its `CallRecord`."""
GENERATION_HEADER = "agento-generation"
"""The header a continued-as-new run starts with: how many runs came before it."""
PENDING_REVIEWS_QUERY = "agento.pending_reviews"
RESOLVE_REVIEW_UPDATE = "agento.resolve_review"


class DecisionRequest(pydantic.BaseModel):
    """The decision activity's input: which policy, the input document, and how to record it."""

    policy: str
    input: dict[str, JsonValue]
    sensitive: tuple[str, ...] = ()
    needed: tuple[str, ...] = ()
    previous_receipt: str | None = None
    """The digest of the run's latest decision receipt, which a signed receipt chains to."""


class Grant(pydantic.BaseModel):
    """The header a policy-gated activity is started with: the decision that allowed it."""

    decision_id: str
    input_sha256: str
    request_sha256: str
    """Digest of the request alone, which the activity side recomputes from what it received."""
    override_review_id: str | None = None
    """Set when a reviewer's approval overrode a deny."""


class CallRecord(pydantic.BaseModel):
    """The header every governed activity is started with, and so part of its scheduled event:
    what was declared, the key it carries, and for a policy-gated activity the grant."""

    activity: str
    version: str
    idempotency: Idempotency
    policy_class: PolicyClass
    idempotency_key: str | None = None
    grant: Grant | None = None


# Activity ids of a governed call. ``call`` is the call's own id, ``agento-2-route``: the
# run's second governed call, of activity ``route``; a rerun after an outcome review is
# ``agento-2-route-rerun-1``, and each attempt's steps hang off the attempt's id.


def call_id(number: int, activity: str) -> str:
    """``agento-2-route``: the ``number``-th governed call of the run, to ``activity``."""
    return f"agento-{number}-{activity}"


def decision_step_id(call: str, round_: int) -> str:
    """``agento-2-route-decision-1``: the ``round_``-th decision asked for the call."""
    return f"{call}-decision-{round_}"


def review_id(call: str, round_: int) -> str:
    """``agento-2-route-review-1``: the review opened by the call's ``round_``-th decision."""
    return f"{call}-review-{round_}"


def rerun_id(call: str, rerun: int) -> str:
    """``agento-2-route-rerun-1``: the call run again after an approved outcome review."""
    return f"{call}-rerun-{rerun}"


def outcome_review_id(attempt: str) -> str:
    """``agento-2-route-outcome``: the review of an attempt whose outcome is unknown."""
    return f"{attempt}-outcome"


def reconcile_id(attempt: str) -> str:
    """``agento-2-route-reconcile``: the look-up that asks whether an attempt acted."""
    return f"{attempt}-reconcile"


def reviewer_step_id(review: str, attempt: int) -> str:
    """``agento-2-route-review-1-reviewer-1``: the reviewer policy's decision on a resolution."""
    return f"{review}-reviewer-{attempt}"


def idempotency_key(workflow_id: str, first_run_id: str, generation: int, call: str) -> str:
    """The key a keyed activity carries: the same on every retry and replay of the call, and
    new for a new run reusing the workflow id (its first run id differs)."""
    return f"{workflow_id}/{first_run_id}/{generation}/{call}"


_REVIEWER_STEP = re.compile(r"-reviewer-\d+$")
_REVIEW_SUFFIX = re.compile(r"(?:-rerun-\d+)?(?:-review-\d+|-outcome)$")
_RERUN_SUFFIX = re.compile(r"-rerun-\d+$")


def is_reviewer_step(step_id: str) -> bool:
    """Whether a decision step decided on a reviewer (`reviewer_step_id`), not on a call."""
    return _REVIEWER_STEP.search(step_id) is not None


def call_of_review(review: str) -> str:
    """``agento-2-route`` from ``agento-2-route-review-1`` or ``agento-2-route-rerun-1-outcome``."""
    return _REVIEW_SUFFIX.sub("", review)


def call_of_attempt(attempt: str) -> str:
    """``agento-2-route`` from ``agento-2-route`` or ``agento-2-route-rerun-1``."""
    return _RERUN_SUFFIX.sub("", attempt)


# Patch ids (`workflow.patched`): each marks a change of behaviour that histories recorded before
# it must replay without.
REVIEW_SEARCH_ATTRIBUTE_PATCH = "agento-review-search-attribute"


def version_changed_patch(at: str) -> str:
    """A decision or approval is checked against the activity version deployed now, at ``at``
    (the decision step or the review): one patch per place, so each replays as it ran."""
    return f"agento-version-changed/{at}"


def requester_check_patch(review: str) -> str:
    """The reviewer is told apart from the requester by look-alike skeleton, not case only."""
    return f"agento-requester-check/{review}"


def reviewer_policy_patch(review: str) -> str:
    """A reviewer policy decides who may resolve ``review``."""
    return f"agento-reviewer-policy/{review}"
