"""The evidence pack's format: a zip of members, and a manifest that lists every member's
SHA-256 as the subjects of an in-toto Statement v1, signed in a DSSE envelope.

DSSE goes through securesystemslib (the library TUF, in-toto and Sigstore's Python tooling
use), so the envelope is the one `in-toto-attestation` and `cosign verify-blob-attestation`
read, and the signer can be an HSM or cloud KMS key (its `Signer` implementations).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import pydantic
from pydantic import JsonValue
from securesystemslib.dsse import Envelope
from securesystemslib.signer import Signer

MANIFEST: Final = "manifest.dsse.json"
TIMESTAMP: Final = "manifest.dsse.json.tsr"
"""An RFC 3161 timestamp over the manifest's bytes, when a timestamp authority was named; it
covers the manifest, so the manifest cannot list it."""
HISTORY: Final = "history.json"
RECEIPTS: Final = "receipts.json"
RESOLUTIONS: Final = "resolutions.json"
KEYS: Final = "keys.json"
AUDIT: Final = "audit.json"
BUNDLES: Final = "bundles/"

STATEMENT_TYPE: Final = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE: Final = "application/vnd.in-toto+json"
PREDICATE_TYPE: Final = "https://agento.dev/evidence-pack/v1"
"""agento's predicate, described by docs/evidence-pack-schema.json."""


class PackError(ValueError):
    """A file that is not a readable evidence pack; the message says what is wrong."""


class PackPredicate(pydantic.BaseModel):
    """The predicate of an agento evidence pack's in-toto Statement
    (https://agento.dev/evidence-pack/v1): the run the pack holds and where its parts are. The
    Statement's subjects are the pack's members, each with its SHA-256."""

    model_config = pydantic.ConfigDict(frozen=True, title="agento evidence pack predicate v1")

    workflow_id: str
    run_id: str
    workflow_type: str | None
    exported_at: datetime
    agento_version: str
    bundles: dict[str, str]
    """Bundle revision -> the member directory holding its files (``bundles/1/``)."""
    receipt_keys: tuple[str, ...]
    review_keys: tuple[str, ...]


def member_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def seal(
    members: Mapping[str, bytes],
    predicate: PackPredicate,
    signer: Signer,
    *,
    tsa_url: str | None = None,
) -> bytes:
    """The pack: the members, and the manifest listing them, signed by ``signer`` (and
    timestamped by the authority at ``tsa_url``)."""
    statement: dict[str, JsonValue] = {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": name, "digest": {"sha256": member_digest(content)}}
            for name, content in sorted(members.items())
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate.model_dump(mode="json"),
    }
    envelope = Envelope(json.dumps(statement, indent=1).encode(), PAYLOAD_TYPE, {})
    envelope.sign(signer)
    manifest = json.dumps(envelope.to_dict(), indent=1).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, manifest)
        if tsa_url is not None:
            from agento.evidence._timestamp import timestamp  # only when asked for

            archive.writestr(TIMESTAMP, timestamp(manifest, tsa_url))
        for name, content in sorted(members.items()):
            archive.writestr(name, content)
    return buffer.getvalue()


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` so that a partial file is never left under that name."""
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(content)
    partial.replace(path)


@dataclass(frozen=True)
class Pack:
    """A pack as read, nothing verified yet."""

    envelope: Envelope
    manifest: bytes
    """The manifest's bytes, which a timestamp covers."""
    timestamp: bytes | None
    members: dict[str, bytes]
    """Every other member."""


def read_pack(path: Path) -> Pack:
    try:
        with zipfile.ZipFile(path) as archive:
            files = {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}
    except (OSError, zipfile.BadZipFile) as e:
        raise PackError(f"cannot read evidence pack {path}: {e}") from e
    raw = files.pop(MANIFEST, None)
    if raw is None:
        raise PackError(f"{path} is not an evidence pack: it has no {MANIFEST}")
    try:
        envelope = Envelope.from_dict(json.loads(raw))
    except (ValueError, KeyError, TypeError) as e:
        raise PackError(f"{path}: {MANIFEST} is not a DSSE envelope: {e}") from e
    return Pack(envelope, raw, files.pop(TIMESTAMP, None), files)
