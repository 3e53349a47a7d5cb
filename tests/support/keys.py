"""Signing keys made on the spot, for signed bundles, resolutions and OIDC tokens."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


ISSUER = "https://idp.example.com"
AUDIENCE = "agento-reviews"


@dataclass
class Idp:
    """A local OIDC issuer: its private key, and the JWKS file a review service reads."""

    private: str
    jwks: Path

    @classmethod
    def create(cls, directory: Path) -> Idp:
        private, public = es256_key_pair()
        jwks = directory / "jwks.json"
        jwks.write_text(jwks_of(("idp-1", public)))
        return cls(private, jwks)

    def token(self, subject: str, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now, "exp": now + 300}
        return jwt.encode(payload | claims, self.private, "ES256", headers={"kid": "idp-1"})
