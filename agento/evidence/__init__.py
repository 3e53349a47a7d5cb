"""Evidence: decision receipts signed when decisions are made, and evidence packs that hold one
run's audit trail for an auditor to verify offline, years later, without Temporal.

Names are imported lazily: `agento.Decision` carries a receipt, so this package's receipts load
with the decision record, and its packs (which read decisions) only when asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agento.evidence._export import evidence_pack, export_evidence, write_evidence
    from agento.evidence._keys import public_key_from_file, signer_from_file
    from agento.evidence._pack import PackError
    from agento.evidence._receipts import (
        DecisionReceipt,
        ReceiptInvalid,
        ReceiptStatement,
        verify_receipt,
    )
    from agento.evidence._sink import (
        DirectorySink,
        EvidenceExport,
        EvidenceSink,
        export_closed_runs,
        watch_closed_runs,
    )
    from agento.evidence._timestamp import TimestampError
    from agento.evidence._verify import Check, EvidenceVerification, verify_evidence

_WHERE = {
    "DecisionReceipt": "_receipts",
    "ReceiptInvalid": "_receipts",
    "ReceiptStatement": "_receipts",
    "verify_receipt": "_receipts",
    "public_key_from_file": "_keys",
    "signer_from_file": "_keys",
    "export_evidence": "_export",
    "write_evidence": "_export",
    "evidence_pack": "_export",
    "DirectorySink": "_sink",
    "EvidenceExport": "_sink",
    "EvidenceSink": "_sink",
    "export_closed_runs": "_sink",
    "watch_closed_runs": "_sink",
    "PackError": "_pack",
    "TimestampError": "_timestamp",
    "Check": "_verify",
    "EvidenceVerification": "_verify",
    "verify_evidence": "_verify",
}

__all__ = [
    "Check",
    "DecisionReceipt",
    "DirectorySink",
    "EvidenceExport",
    "EvidenceSink",
    "EvidenceVerification",
    "PackError",
    "ReceiptInvalid",
    "ReceiptStatement",
    "TimestampError",
    "evidence_pack",
    "export_closed_runs",
    "export_evidence",
    "public_key_from_file",
    "signer_from_file",
    "verify_evidence",
    "verify_receipt",
    "watch_closed_runs",
    "write_evidence",
]


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'agento.evidence' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"agento.evidence.{module}"), name)
    globals()[name] = value
    return value
