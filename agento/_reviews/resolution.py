"""Who resolved a review, proven: the reviewer's verified identity, and resolutions signed by the
review service (a JWS) with a key whose public half the workers trust.

The token binds everything a resolution says (workflow, review, decision, verdict, comment,
identity) and an expiry, so that a captured token cannot approve another review, flip a
rejection or be replayed later. Workers check it against ``workflow.now()``, which makes the
check deterministic; the token stays in history, so an auditor re-checks it offline with the
public keys alone (``agento audit --verify``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pydantic

from agento._identity import confusable
from agento._policy.signing import VerificationKey, algorithm_for, public_key

AUDIENCE = "agento.resolve_review"
"""The tokens' ``aud``: a JWT signed by the same key for another purpose is not a resolution."""
CLOCK_SKEW = timedelta(seconds=60)
"""How far in the future a token's ``iat`` may be, for the signer's clock running ahead."""

ReviewKeys = Mapping[str, VerificationKey]
"""Key id -> the public key (and algorithm) resolutions may be signed with."""


class ReviewerIdentity(pydantic.BaseModel):
    """A reviewer as the review service verified them (from an OIDC token, an authenticating
    proxy, or a signing operator), or as an unsigned resolution named them."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    subject: str = pydantic.Field(min_length=1)
    name: str | None = None
    email: str | None = None
    groups: tuple[str, ...] = ()
    issuer: str | None = None
    """Who vouched for the identity: the OIDC issuer, ``proxy``, ``cli`` or ``dev``."""

    def is_(self, person: str) -> bool:
        """Whether ``person`` (a requester's name) is this reviewer: subject or email, ignoring
        case and surrounding blanks. The comparison of resolutions recorded before
        `passes_for`, kept so that they replay as they were decided."""
        return any(same_identity(person, known) for known in (self.subject, self.email) if known)

    def passes_for(self, person: str) -> bool:
        """Whether ``person`` (a requester's name) is this reviewer or could be taken for them:
        subject or email, compared after Unicode normalisation, case folding and removing
        invisible characters, and by Unicode TS #39's confusable skeleton (`COMPARISON`)."""
        return any(confusable(person, known) for known in (self.subject, self.email) if known)

    def __str__(self) -> str:
        return self.email or self.name or self.subject


class ResolutionStatement(pydantic.BaseModel):
    """What a signed resolution says: which review of which run, on which decision, the verdict,
    the comment, and who. The token binds all of it."""

    model_config = pydantic.ConfigDict(frozen=True)

    workflow_id: str
    review_id: str
    decision_id: str | None
    approve: bool
    comment: str
    reviewer: ReviewerIdentity

    def differences(self, other: ResolutionStatement) -> list[tuple[str, object, object]]:
        """(what, said here, said there) for each part on which ``other`` says otherwise."""
        return [
            (_PARTS[name], getattr(self, name), getattr(other, name))
            for name in _PARTS
            if getattr(self, name) != getattr(other, name)
        ]


_PARTS = {
    "workflow_id": "workflow",
    "review_id": "review",
    "decision_id": "decision",
    "approve": "verdict",
    "comment": "comment",
    "reviewer": "reviewer",
}


class ResolutionClaims(ResolutionStatement):
    """A signed resolution as read from its token: the statement, when it was issued, until
    when it holds, and the key id its header names."""

    issued_at: datetime
    expires_at: datetime
    key_id: str


@dataclass(frozen=True)
class ResolutionSigner:
    """Signs resolutions as the review service (or an operator with the key) does."""

    key: str
    """The PEM private key; its public half is in the workers' ``review_keys``."""
    key_id: str
    ttl: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        # A key that cannot sign is a configuration error: refuse it now, not at the first approval.
        algorithm_for(_private_key(self.key))

    @classmethod
    def generate(cls, key_id: str) -> ResolutionSigner:
        """A signer with a fresh P-256 key (ES256): `agento review keygen` writes one."""
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
        )

        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
        return cls(key=pem, key_id=key_id)

    @property
    def public_pem(self) -> str:
        """The public half, for the workers' ``review_keys`` and ``agento audit --verify``."""
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        public = _private_key(self.key).public_key()
        return str(public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode())

    @classmethod
    def from_file(cls, path: str | Path, *, key_id: str | None = None) -> ResolutionSigner:
        """A signer with the key in ``path``; the key id defaults to the file's stem."""
        path = Path(path)
        return cls(key=path.read_text(), key_id=key_id or path.stem)

    def sign(self, statement: ResolutionStatement) -> str:
        return sign_resolution(statement, key=self.key, key_id=self.key_id, ttl=self.ttl)


class ResolutionRefused(ValueError):
    """A signed resolution that does not verify; the message says why."""


def sign_resolution(
    statement: ResolutionStatement,
    *,
    key: str,
    key_id: str,
    issued_at: datetime | None = None,
    ttl: timedelta = timedelta(minutes=10),
    algorithm: str | None = None,
) -> str:
    """``statement`` as a token signed with ``key`` (a PEM private key; the algorithm follows its
    type unless given). It is valid for ``ttl``: long enough for a worker to take the update."""
    issued = issued_at or datetime.now(UTC)
    claims = {
        "aud": AUDIENCE,
        "sub": statement.reviewer.subject,
        **statement.model_dump(mode="json"),
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
    }
    private = _private_key(key)
    return jwt.encode(
        claims, private, algorithm=algorithm or algorithm_for(private), headers={"kid": key_id}
    )


def verify_resolution(token: str, keys: ReviewKeys, *, now: datetime) -> ResolutionClaims:
    """The claims of ``token`` if it is signed by one of ``keys`` and valid at ``now``; else
    `ResolutionRefused` saying why. Deterministic for a given ``now``."""
    claims = read_resolution(token)
    key = keys.get(claims.key_id)
    if key is None:
        trusted = ", ".join(sorted(keys)) or "none"
        raise ResolutionRefused(
            f"the resolution is signed with key {claims.key_id!r}, which is not trusted "
            f"(trusted: {trusted})"
        )
    try:
        jwt.decode(
            token,
            public_key(key.key),
            algorithms=[key.algorithm],
            audience=AUDIENCE,
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except (jwt.PyJWTError, ValueError, TypeError) as e:
        raise ResolutionRefused(
            f"the resolution's signature does not verify with key {claims.key_id!r} "
            f"({key.algorithm}): {e}"
        ) from None
    if now >= claims.expires_at:
        raise ResolutionRefused(
            f"the resolution expired at {claims.expires_at:%Y-%m-%d %H:%M:%S} UTC; sign a new one"
        )
    if claims.issued_at > now + CLOCK_SKEW:
        raise ResolutionRefused(
            f"the resolution is issued at {claims.issued_at:%Y-%m-%d %H:%M:%S} UTC, in the "
            "future: the signer's clock is wrong"
        )
    return claims


def read_resolution(token: str) -> ResolutionClaims:
    """The claims of ``token`` without checking its signature: for what was verified before."""
    try:
        header = jwt.get_unverified_header(token)
        payload: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as e:
        raise ResolutionRefused(f"the resolution's signature is not a JWS: {e}") from None
    try:
        return ResolutionClaims(
            workflow_id=payload["workflow_id"],
            review_id=payload["review_id"],
            decision_id=payload.get("decision_id"),
            approve=payload["approve"],
            comment=payload.get("comment", ""),
            reviewer=payload["reviewer"],
            issued_at=datetime.fromtimestamp(payload["iat"], UTC),
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
            key_id=str(header.get("kid") or ""),
        )
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as e:
        # OverflowError, OSError: an iat or exp no datetime can hold (10**20).
        raise ResolutionRefused(f"the resolution token lacks a valid claim: {e}") from None


def same_identity(a: str, b: str) -> bool:
    """Whether two reviewer or requester names denote one person: case and surrounding blanks
    do not make a second identity."""
    return a.strip().casefold() == b.strip().casefold()


def _private_key(pem: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        return load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as e:
        raise ValueError(f"not a PEM private key without a passphrase: {e}") from None
