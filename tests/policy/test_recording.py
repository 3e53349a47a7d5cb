"""What a Decision records of its input: hashes for sensitive fields, needed fields when large."""

from __future__ import annotations

from typing import Annotated

from pydantic import JsonValue

import agento
from agento import PolicyInput
from agento._decision.redaction import marked_fields, recorded_input, redact


class Claim(PolicyInput):
    claimant: Annotated[str, agento.Sensitive()]
    amount: Annotated[int, agento.Needed()]
    notes: str


def test_fields_are_found_by_their_markers() -> None:
    assert marked_fields(Claim, agento.Sensitive) == ("claimant",)
    assert marked_fields(Claim, agento.Needed) == ("amount",)


def test_sensitive_values_become_digests() -> None:
    document: dict[str, JsonValue] = {"claimant": "Ada", "amount": 3, "notes": "x"}
    redacted = redact(document, ("claimant",))
    assert redacted["amount"] == 3
    assert redacted["notes"] == "x"
    assert isinstance(redacted["claimant"], dict)
    assert str(redacted["claimant"]["redacted"]).startswith("sha256:")
    assert redact({"claimant": "Bob"}, ("claimant",)) != redacted


def test_small_inputs_are_recorded_whole() -> None:
    document: dict[str, JsonValue] = {"claimant": "Ada", "amount": 3, "notes": "x", "agento": {}}
    recorded, complete = recorded_input(document, sensitive=("claimant",), needed=("amount",))
    assert complete
    assert set(recorded) == {"claimant", "amount", "notes", "agento"}


def test_large_inputs_keep_the_needed_fields_and_agentos_metadata() -> None:
    document: dict[str, JsonValue] = {
        "claimant": "Ada",
        "amount": 3,
        "notes": "x" * 100_000,
        "agento": {"activity": "settle"},
    }
    recorded, complete = recorded_input(document, sensitive=("claimant",), needed=("amount",))
    assert not complete
    assert recorded == {"amount": 3, "agento": {"activity": "settle"}}
