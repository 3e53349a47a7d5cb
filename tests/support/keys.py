"""Signing keys made on the spot, for signed bundles, resolutions and OIDC tokens."""

from __future__ import annotations

import json

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def es256_key_pair() -> tuple[str, str]:
    """(private PEM, public PEM) of a fresh P-256 key."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


def jwks_of(*public_pems: tuple[str, str]) -> str:
    """A JWKS document of (key id, P-256 public key PEM) pairs."""
    to_jwk = jwt.algorithms.get_default_algorithms()["ES256"].to_jwk
    keys = [
        {**json.loads(to_jwk(serialization.load_pem_public_key(pem.encode()))), "kid": kid}
        for kid, pem in public_pems
    ]
    return json.dumps({"keys": keys})
