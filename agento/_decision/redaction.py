"""How much of an input document a Decision records: sensitive fields as hashes, and large inputs
as a digest plus the fields the contract marks as needed.

The policy always decides on the full, clear document; only the record is reduced. The
``input_sha256`` of a Decision is over the full document, so a replay given the original input
can prove it is the same one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from pydantic import JsonValue

from agento._decision.record import RESERVED_KEY, canonical_json
from agento._declaration.activity import PolicyInput

RECORDED_INPUT_LIMIT = 32 * 1024
"""Bytes of canonical JSON above which a Decision records only the needed fields of its input."""


class Sensitive:
    """Marks a `PolicyInput` field the Decision records as a hash, never in clear::

    class Payment(PolicyInput):
        iban: Annotated[str, agento.Sensitive()]
    """


class Needed:
    """Marks a `PolicyInput` field a Decision keeps when its input is too large to record whole."""


def marked_fields(request_type: type[PolicyInput], marker: type[object]) -> tuple[str, ...]:
    return tuple(
        name
        for name, info in request_type.model_fields.items()
        if any(isinstance(m, marker) for m in info.metadata)
    )


def redact(document: Mapping[str, JsonValue], sensitive: tuple[str, ...]) -> dict[str, JsonValue]:
    """The document with each sensitive field's value replaced by ``{"redacted": "sha256:..."}``."""
    return {
        key: {"redacted": value_digest(value)} if key in sensitive else value
        for key, value in document.items()
    }


def recorded_input(
    document: Mapping[str, JsonValue],
    *,
    sensitive: tuple[str, ...],
    needed: tuple[str, ...],
    limit: int = RECORDED_INPUT_LIMIT,
) -> tuple[dict[str, JsonValue], bool]:
    """(what the Decision records, whether that is the whole input)."""
    redacted = redact(document, sensitive)
    if len(canonical_json(redacted).encode()) <= limit:
        return redacted, True
    kept = {k: v for k, v in redacted.items() if k in needed or k == RESERVED_KEY}
    return kept, False


def value_digest(value: JsonValue) -> str:
    """``sha256:`` over a JSON value's canonical form: what a redacted field records."""
    return "sha256:" + hashlib.sha256(canonical_json(value).encode()).hexdigest()
