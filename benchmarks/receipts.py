"""What signing decision receipts costs a decision: the embedded engine's whole Decision on the
seed's routing policy, unsigned and then signed with an Ed25519 receipt (RFC 8785 canonical
JSON, securesystemslib), alternated in one run so that drift in the machine hits both."""

from __future__ import annotations

from securesystemslib.signer import CryptoSigner

from agento import EmbeddedEngine
from agento._decision.protocol import DecisionRequest
from agento._worker.decision_activity import signed
from benchmarks._timing import paired_medians
from benchmarks.decisions import BUNDLE, DOCUMENT, ROUTING


def main() -> None:
    engine = EmbeddedEngine(BUNDLE)
    signer = CryptoSigner.generate_ed25519()
    request = DecisionRequest(policy=ROUTING, input=DOCUMENT, previous_receipt="sha256:" + "0" * 64)

    def unsigned() -> object:
        return engine.evaluate(ROUTING, DOCUMENT)

    def with_receipt() -> object:
        decision = engine.evaluate(ROUTING, DOCUMENT)
        return signed(
            decision, request, signer, workflow_id="bench", run_id="run", step_id="agento-1-d-1"
        )

    plain, receipt = paired_medians(unsigned, with_receipt, repeat=3_000)
    print(
        f"decision receipts: whole Decision p50 {plain * 1000:.3f} ms unsigned, "
        f"{receipt * 1000:.3f} ms signed (Ed25519): +{(receipt - plain) * 1000:.3f} ms, "
        f"{receipt / plain:.2f}x"
    )


if __name__ == "__main__":
    main()
