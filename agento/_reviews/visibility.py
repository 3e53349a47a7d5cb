"""Pending reviews in Temporal's visibility: a search attribute every governed run keeps current,
so that listing the reviews of 10,000 paused runs is one visibility query that needs no worker.

``AgentoPendingReviews`` (a keyword list) holds one compact JSON entry per pending review. The
namespace must define it before a governed worker starts (`agento setup`, or
`ensure_search_attributes` from code): an undefined attribute would fail the run's workflow
tasks the moment a review opened, and retry them forever. A governed worker checks it as it is
built (and adds it on the time-skipping test server, which cannot list search attributes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import pydantic
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

PENDING_REVIEWS = SearchAttributeKey.for_keyword_list("AgentoPendingReviews")
SEARCH_ATTRIBUTES = {PENDING_REVIEWS.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST}
"""Every search attribute agento uses, with its type."""
LISTING_QUERY = f"{PENDING_REVIEWS.name} IS NOT NULL"


class ListedReview(pydantic.BaseModel):
    """A pending review as visibility lists it: enough to find and triage it with no worker
    (`agento review show` asks the run for the rest)."""

    workflow_id: str
    review_id: str
    activity: str
    reason: str
    since: datetime
    reasons: list[str] = []
    """The policy's reasons, as every other review model lists them. The search attribute holds
    them joined with "; " and cut at 300 characters in all, so a reason containing "; " comes
    back in two, and the last may be cut (`agento review show` has them whole)."""
    until: datetime | None = None
    """When the review times out (and the run fails); absent from entries of older versions."""


def entry(
    review_id: str,
    activity: str,
    reason: str,
    since: datetime,
    reasons: Sequence[str],
    until: datetime | None,
) -> str:
    """One pending review, as the search attribute lists it (compact JSON)."""
    return json.dumps(
        {
            "id": review_id,
            "activity": activity,
            "reason": reason,
            "since": since.isoformat(),
            "reasons": _JOIN.join(reasons)[:_REASONS_LIMIT],
        }
        | ({"until": until.isoformat()} if until else {}),
        separators=(",", ":"),
        sort_keys=True,
    )


_REASONS_LIMIT = 300


async def listed_reviews(client: Client, query: str = "") -> list[ListedReview]:
    """Every pending review of the runs ``query`` selects, from visibility alone: no run is
    asked, so no worker needs to be up."""
    where = LISTING_QUERY + (f" AND ({query})" if query else "")
    found = []
    async for execution in client.list_workflows(where, page_size=1000):
        for raw in execution.typed_search_attributes.get(PENDING_REVIEWS) or []:
            item = json.loads(raw)
            found.append(
                ListedReview(
                    workflow_id=execution.id,
                    review_id=item["id"],
                    activity=item["activity"],
                    reason=item["reason"],
                    since=item["since"],
                    reasons=_split(item.get("reasons", "")),
                    until=item.get("until"),
                )
            )
    return found


def _split(joined: str) -> list[str]:
    return joined.split(_JOIN) if joined else []


_JOIN = "; "
"""How an entry joins a review's reasons (`entry`)."""


async def missing_search_attributes(client: Client) -> list[str] | None:
    """The search attributes agento needs that ``client``'s namespace does not define; ``None``
    when the server cannot list them (Temporal's time-skipping test server)."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
    except RPCError as e:
        if e.status is RPCStatusCode.UNIMPLEMENTED:
            return None
        raise
    defined = {**listed.custom_attributes, **listed.system_attributes}
    return [name for name in SEARCH_ATTRIBUTES if name not in defined]


async def ensure_search_attributes(client: Client) -> list[str]:
    """Define agento's search attributes in ``client``'s namespace; the names it added."""
    missing = await missing_search_attributes(client)
    added = []
    for name in SEARCH_ATTRIBUTES if missing is None else missing:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=client.namespace, search_attributes={name: SEARCH_ATTRIBUTES[name]}
                )
            )
        except RPCError as e:
            if e.status is not RPCStatusCode.ALREADY_EXISTS:
                raise
            continue
        added.append(name)
    return added
