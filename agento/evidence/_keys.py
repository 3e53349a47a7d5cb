"""Evidence keys from PEM files. Signing goes through securesystemslib's `Signer`, so a
deployment can hand the worker a key held by an HSM or a cloud KMS (its ``HSMSigner``,
``AWSSigner``, ``GCPSigner``, ``AzureSigner``, ``VaultSigner``) instead of a file."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from securesystemslib.signer import CryptoSigner, Key, SSlibKey


def signer_from_file(path: str | Path) -> CryptoSigner:
    """A signer with the unencrypted PEM private key (Ed25519, ECDSA or RSA) in ``path``."""
    p = Path(path)
    try:
        private = load_pem_private_key(p.read_bytes(), password=None)
        return CryptoSigner(private)
    except (OSError, ValueError, TypeError) as e:
        raise ValueError(f"cannot use {p} as an evidence signing key: {e}") from e


def public_key_from_file(path: str | Path) -> Key:
    """The public key (PEM) in ``path``, with securesystemslib's key id."""
    p = Path(path)
    try:
        return SSlibKey.from_crypto(load_pem_public_key(p.read_bytes()))
    except (OSError, ValueError, TypeError) as e:
        raise ValueError(f"cannot read {p} as a public key (PEM, SubjectPublicKeyInfo): {e}") from e
