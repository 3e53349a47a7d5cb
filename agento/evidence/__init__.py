"""Evidence: decision receipts signed when decisions are made, and evidence packs that hold one
run's audit trail for an auditor to verify offline, years later, without Temporal.

Names are imported lazily. A receipt is part of the recorded `agento.Decision`, so its model
lives with the decision record (``agento._decision.receipt``) and is re-exported here; the packs
(which read decisions) load only when asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agento._decision.receipt import (
        DecisionReceipt,
        ReceiptInvalid,
        ReceiptStatement,
        verify_receipt,
    )
    from agento.evidence._export import evidence_pack, export_evidence, write_evidence
    from agento.evidence._keys import public_key_from_file, signer_from_file
    from agento.evidence._pack import PackError
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
    "DecisionReceipt": "agento._decision.receipt",
    "ReceiptInvalid": "agento._decision.receipt",
    "ReceiptStatement": "agento._decision.receipt",
    "verify_receipt": "agento._decision.receipt",
    "public_key_from_file": "agento.evidence._keys",
    "signer_from_file": "agento.evidence._keys",
    "export_evidence": "agento.evidence._export",
    "write_evidence": "agento.evidence._export",
    "evidence_pack": "agento.evidence._export",
    "DirectorySink": "agento.evidence._sink",
    "EvidenceExport": "agento.evidence._sink",
    "EvidenceSink": "agento.evidence._sink",
    "export_closed_runs": "agento.evidence._sink",
    "watch_closed_runs": "agento.evidence._sink",
    "PackError": "agento.evidence._pack",
    "TimestampError": "agento.evidence._timestamp",
    "Check": "agento.evidence._verify",
    "EvidenceVerification": "agento.evidence._verify",
    "verify_evidence": "agento.evidence._verify",
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


if not TYPE_CHECKING:  # to a type checker, agento has exactly the names imported above

    def __getattr__(name: str) -> object:
        module = _WHERE.get(name)
        if module is None:
            raise AttributeError(f"module 'agento.evidence' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
