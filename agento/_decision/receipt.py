"""Decision receipts: each decision signed by the worker that made it, the moment it was made,
and chained to the run's previous receipt so that a removed or reordered decision shows.

The signed bytes are the statement as RFC 8785 canonical JSON (the ``rfc8785`` library), the
same bytes on every platform and in every language an auditor's verifier is written in.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pydantic
import rfc8785
from pydantic import JsonValue

if TYPE_CHECKING:  # securesystemslib's signer package takes ~0.4 s to import: only to verify
    from securesystemslib.signer import Key, Signer

RECEIPT_TYPE = "https://agento.dev/decision-receipt/v1"


class ReceiptStatement(pydantic.BaseModel):
    """What a receipt vouches for: the decision, who asked, and the receipt before it."""

    model_config = pydantic.ConfigDict(frozen=True)

    type: str = RECEIPT_TYPE
    decision_id: str
    policy: str
    bundle_revision: str
    bundle_signing_key_id: str | None
    input_sha256: str
    allow: bool
    result: JsonValue
    reasons: tuple[str, ...]
    recoverable: bool
    evaluated_at: str
    """As the decision records it (ISO 8601), so the text is compared, not a parsed instant."""
    workflow_id: str
    run_id: str
    step_id: str
    """The decision step's activity id (``agento-2-route-decision-1``)."""
    activity: str | None
    activity_version: str | None
    previous: str | None
    """``sha256:<hex>`` of the run's previous receipt; ``None`` for its first."""


class DecisionReceipt(pydantic.BaseModel):
    """A signed `ReceiptStatement`, recorded in history with its decision."""

    model_config = pydantic.ConfigDict(frozen=True)

    statement: ReceiptStatement
    key_id: str
    """The signing key's id (securesystemslib's: the SHA-256 of the public key's description)."""
    signature: str
    """Hex, over the statement's canonical JSON."""

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the whole receipt's canonical JSON: what the next one chains to."""
        return "sha256:" + hashlib.sha256(canonical(self.model_dump(mode="json"))).hexdigest()


class ReceiptInvalid(ValueError):
    """A receipt whose signature does not verify; the message says which and why."""


def canonical(value: JsonValue) -> bytes:
    """RFC 8785 canonical JSON."""
    return rfc8785.dumps(value)


def sign_receipt(statement: ReceiptStatement, signer: Signer) -> DecisionReceipt:
    signature = signer.sign(canonical(statement.model_dump(mode="json")))
    return DecisionReceipt(
        statement=statement, key_id=signature.keyid, signature=signature.signature
    )


def verify_receipt(receipt: DecisionReceipt, keys: dict[str, Key]) -> None:
    """Raise `ReceiptInvalid` unless ``receipt`` is signed by one of ``keys`` (by key id)."""
    from securesystemslib.exceptions import UnverifiedSignatureError
    from securesystemslib.signer import Signature

    key = keys.get(receipt.key_id)
    if key is None:
        raise ReceiptInvalid(
            f"receipt of decision {receipt.statement.decision_id} is signed by key "
            f"{receipt.key_id}, which is not among the receipt keys"
        )
    try:
        key.verify_signature(
            Signature(receipt.key_id, receipt.signature),
            canonical(receipt.statement.model_dump(mode="json")),
        )
    except UnverifiedSignatureError:
        raise ReceiptInvalid(
            f"receipt of decision {receipt.statement.decision_id}: the signature does not "
            f"verify with key {receipt.key_id} (the statement was edited, or forged)"
        ) from None
