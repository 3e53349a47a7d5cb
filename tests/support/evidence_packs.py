"""An evidence pack of an approved commissioning run on the dev server (the ``exported`` fixture),
its members, tampered copies of it, and a signer's public key as the command line reads it."""

from __future__ import annotations

import base64
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from securesystemslib.signer import CryptoSigner
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from agento.evidence import write_evidence
from agento.evidence._pack import MANIFEST, PackPredicate, seal
from tests.support.commissioning_run import POLICY, approved_run, plugin


@dataclass
class Exported:
    client: Client
    pack: Path
    history: WorkflowHistory
    other: WorkflowHistory
    """Another run's history, for swapping."""
    manifest_signer: CryptoSigner
    receipt_signer: CryptoSigner


@pytest.fixture(scope="module")
async def exported(
    agento_dev_server: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> Exported:
    receipt_signer = CryptoSigner.generate_ed25519()
    manifest_signer = CryptoSigner.generate_ed25519()
    worker_plugin = plugin(receipt_signer=receipt_signer)
    history = await approved_run(agento_dev_server.client, worker_plugin)
    other = await approved_run(agento_dev_server.client, worker_plugin)
    pack = write_evidence(
        history,
        tmp_path_factory.mktemp("evidence") / "run.agento-evidence.zip",
        signer=manifest_signer,
        bundles=[POLICY],
        receipt_keys=[receipt_signer.public_key],
        review_keys=worker_plugin.review_keys,
    )
    return Exported(agento_dev_server.client, pack, history, other, manifest_signer, receipt_signer)


def pack_members(pack: Path) -> dict[str, bytes]:
    """Every member of ``pack``, by name."""
    with zipfile.ZipFile(pack) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def tampered(
    e: Exported,
    tmp_path: Path,
    change: Callable[[dict[str, bytes]], None],
    *,
    resign: CryptoSigner | None = None,
) -> Path:
    """A copy of the pack with ``change`` made to its members. Without ``resign`` the original
    manifest stays; with it, the manifest is made anew over the changed members and signed by
    ``resign`` (a forger holding the key, or another key)."""
    members = pack_members(e.pack)
    manifest = members.pop(MANIFEST)
    change(members)
    out = tmp_path / "tampered.zip"
    if resign is None:
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr(MANIFEST, manifest)
            for name, content in members.items():
                archive.writestr(name, content)
        return out
    payload = json.loads(base64.b64decode(json.loads(manifest)["payload"]))
    out.write_bytes(seal(members, PackPredicate.model_validate(payload["predicate"]), resign))
    return out


def public_pem(signer: CryptoSigner) -> bytes:
    """``signer``'s public key, PEM-encoded."""
    return (
        serialization.load_pem_private_key(signer.private_bytes, None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
