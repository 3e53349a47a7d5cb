"""Signed bundles in OPA's format: ``.signatures.json`` holds one JWT whose payload lists every
file of the bundle with its hash, so that a bundle verifies here exactly when it verifies in OPA.

What OPA does, and so what this does:

- The key id comes from the verification config, else the JWT header's ``kid``, else the
  payload's deprecated ``keyid``; the key is configured out of band (a PEM public key for
  RS*/PS*/ES*/EdDSA, a shared secret for HS*), and the JWT must be signed with that key's
  algorithm. The payload's ``scope`` must equal the configured one (both may be empty).
- Every file of the bundle but ``.signatures.json`` and the configured exclusions must be listed
  with a matching hash, and every listed file must be in the bundle.
- ``data.json``, ``data.yaml`` and ``.manifest`` are hashed as parsed JSON (keys sorted, no
  whitespace, numbers as written), so formatting does not change their hash; everything else is
  hashed byte for byte.
- When verification is configured, a bundle without a signature is refused, whatever the
  configuration holds (OPA once let a configuration without a key id accept unsigned bundles:
  GHSA-g2pf-6v5v-qcc8).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import jwt

from agento._errors import BundleError, PolicyProblem

SIGNATURES = ".signatures.json"
_STRUCTURED = frozenset({"data.json", "data.yaml", ".manifest", SIGNATURES})
_HASHES: Mapping[str, Callable[[], Any]] = {
    "MD5": hashlib.md5,
    "SHA-1": hashlib.sha1,
    "SHA-224": hashlib.sha224,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
    "SHA-512-224": lambda: hashlib.new("sha512_224"),
    "SHA-512-256": lambda: hashlib.new("sha512_256"),
}


@dataclass(frozen=True)
class VerificationKey:
    """One key a bundle may be signed with (OPA's ``keys.<id>`` configuration)."""

    key: str
    """A PEM public key (or certificate) for RS*, PS*, ES* and EdDSA; the secret for HS*."""
    algorithm: str = "RS256"
    scope: str = ""

    @classmethod
    def from_pem(cls, pem: str) -> VerificationKey:
        """A public key (or certificate) with the algorithm its type implies
        (`algorithm_for`)."""
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        try:
            public = public_key(pem)
            loaded = load_pem_public_key(pem.encode()) if isinstance(public, str) else public
        except ValueError as e:
            raise ValueError(f"not a PEM public key or certificate: {e}") from None
        return cls(pem, algorithm_for(loaded))


def algorithm_for(key: Any) -> str:
    """The JWS algorithm a key's type implies, public or private: ES256/384/512 for P-256/384/521,
    RS256 for RSA, EdDSA for Ed25519."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return {256: "ES256", 384: "ES384", 521: "ES512"}[key.curve.key_size]
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RS256"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "EdDSA"
    raise ValueError(f"unsupported key type {type(key).__name__}: use EC, RSA or Ed25519")


@dataclass(frozen=True)
class BundleVerification:
    """How bundles must be signed (OPA's ``bundles.<name>.signing``). Given at all, it makes a
    signature required."""

    keys: Mapping[str, VerificationKey]
    """Key id -> key."""
    key_id: str = ""
    """The key every bundle must be signed with; empty to take the signature's own ``kid``."""
    scope: str = ""
    exclude_files: Sequence[str] = field(default=())
    """Glob patterns of files left out of verification (``filepath.Match`` style)."""


def verify(files: Mapping[str, bytes], config: BundleVerification, *, source: str) -> str:
    """The id of the key that signed ``files`` (names relative, ``/``-separated), or a
    `BundleError` naming each file that does not verify and why."""

    def refuse(name: str, reason: str) -> BundleError:
        return BundleError(
            f"bundle {source} is not signed as required", [PolicyProblem(name, 1, 1, reason)]
        )

    signatures = files.get(SIGNATURES)
    if signatures is None:
        raise refuse(SIGNATURES, "missing: verification is configured, so bundles must be signed")
    key_id, listed = _verified_payload(signatures, config, refuse)
    problems = []
    for name, content in sorted(files.items()):
        if name == SIGNATURES or _excluded(name, config.exclude_files):
            listed.pop(name, None)
            continue
        entry = listed.pop(name, None)
        if entry is None:
            problems.append(PolicyProblem(name, 1, 1, "not included in the bundle's signature"))
            continue
        algorithm = str(entry.get("algorithm", ""))
        if algorithm not in _HASHES:
            problems.append(PolicyProblem(name, 1, 1, f"unsupported hash algorithm {algorithm!r}"))
            continue
        try:
            digest = file_hash(name, content, algorithm)
        except ValueError as e:
            problems.append(PolicyProblem(name, 1, 1, f"cannot be hashed as JSON: {e}"))
            continue
        if digest != str(entry.get("hash", "")).lower():
            problems.append(
                PolicyProblem(
                    name, 1, 1, f"digest mismatch: signed {entry.get('hash')}, is {digest}"
                )
            )
    problems += [
        PolicyProblem(name, 1, 1, "listed in the signature but not in the bundle")
        for name in sorted(listed)
    ]
    if problems:
        raise BundleError(f"bundle {source} does not match its signature", problems)
    return key_id


def sign(
    files: Mapping[str, bytes],
    *,
    key: str,
    algorithm: str = "RS256",
    key_id: str = "",
    claims: Mapping[str, Any] | None = None,
) -> bytes:
    """``.signatures.json`` for ``files``, as ``opa sign`` writes it: SHA-256 of every file, a
    JWT signed with ``key`` (a PEM private key, or the secret for HS*) whose header names
    ``key_id``; ``claims`` (``scope``, ``iss``, ...) join the payload."""
    listed = [
        {"name": name, "hash": file_hash(name, content), "algorithm": "SHA-256"}
        for name, content in sorted(files.items())
        if name != SIGNATURES
    ]
    payload: dict[str, Any] = {"files": listed}
    if claims:
        payload.update(claims)
    elif key_id:
        payload["keyid"] = key_id  # deprecated, written for older verifiers, as OPA does
    headers = {"kid": key_id} if key_id else None
    try:
        token = jwt.encode(payload, key, algorithm=algorithm, headers=headers)
    except (jwt.PyJWTError, ValueError, TypeError) as e:
        raise BundleError(f"cannot sign with the given {algorithm} key: {e}") from e
    return json.dumps({"signatures": [token]}, indent=2).encode() + b"\n"


def file_hash(name: str, content: bytes, algorithm: str = "SHA-256") -> str:
    """A file's hash as OPA computes it for signatures (hex)."""
    digest = _HASHES[algorithm]()
    if PurePosixPath(name).name in _STRUCTURED:
        digest.update(_canonical(json.loads(content, parse_int=_Number, parse_float=_Number)))
    else:
        digest.update(content)
    return str(digest.hexdigest())


def _verified_payload(
    signatures: bytes, config: BundleVerification, refuse: Callable[[str, str], BundleError]
) -> tuple[str, dict[str, dict[str, Any]]]:
    try:
        tokens = json.loads(signatures).get("signatures")
    except (ValueError, AttributeError):
        raise refuse(SIGNATURES, "not a JSON object with a signatures list") from None
    if not isinstance(tokens, list) or len(tokens) != 1 or not isinstance(tokens[0], str):
        raise refuse(SIGNATURES, "must hold exactly one JWT")
    token = tokens[0]
    try:
        header = jwt.get_unverified_header(token)
        unverified = json.loads(
            jwt.api_jws.PyJWS().decode_complete(token, options={"verify_signature": False})[
                "payload"
            ]
        )
    except (jwt.PyJWTError, ValueError) as e:
        raise refuse(SIGNATURES, f"not a JWT: {e}") from None
    if not isinstance(unverified, dict):
        raise refuse(SIGNATURES, "the JWT's payload is not an object")
    key_id = config.key_id or str(header.get("kid") or "") or str(unverified.get("keyid") or "")
    if not key_id:
        raise refuse(SIGNATURES, "no key id: configure one, or sign with a kid header")
    key = config.keys.get(key_id)
    if key is None:
        known = ", ".join(sorted(config.keys)) or "none"
        raise refuse(SIGNATURES, f"signed with key {key_id!r}, which is not configured ({known})")
    try:
        jwt.api_jws.PyJWS().decode_complete(token, public_key(key.key), algorithms=[key.algorithm])
    except (jwt.PyJWTError, ValueError, TypeError) as e:
        raise refuse(
            SIGNATURES, f"the signature does not verify with key {key_id!r}: {e}"
        ) from None
    scope = config.scope or key.scope
    if str(unverified.get("scope", "")) != scope:
        raise refuse(
            SIGNATURES,
            f"scope mismatch: signed for {unverified.get('scope', '')!r}, configured {scope!r}",
        )
    listed = unverified.get("files")
    if not isinstance(listed, list) or not all(
        isinstance(f, dict) and isinstance(f.get("name"), str) for f in listed
    ):
        raise refuse(SIGNATURES, "the JWT's payload has no files list")
    return key_id, {f["name"].removeprefix("/"): f for f in listed}


def public_key(key: str) -> Any:
    """A certificate's public key (OPA accepts certificates); any other key as given."""
    if key.lstrip().startswith("-----BEGIN CERTIFICATE-----"):
        from cryptography import x509

        return x509.load_pem_x509_certificate(key.encode()).public_key()
    return key


def _excluded(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


class _Number(str):
    """A JSON number as written: OPA reads them with UseNumber and hashes the literal."""


def _canonical(value: object) -> bytes:
    """OPA's structured hash input: ``{"k":v,...}`` with sorted keys, ``[v,...]``, primitives as
    Go's encoder writes them (HTML left unescaped)."""
    if isinstance(value, dict):
        items = (_go_string(k) + b":" + _canonical(v) for k, v in sorted(value.items()))
        return b"{" + b",".join(items) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(_canonical(v) for v in value) + b"]"
    if isinstance(value, _Number):
        return str(value).encode()
    if isinstance(value, str):
        return _go_string(value)
    return json.dumps(value).encode()  # true, false, null


_GO_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _go_string(text: str) -> bytes:
    out = []
    for ch in text:
        if 0xD800 <= ord(ch) <= 0xDFFF:  # a lone surrogate: Go decodes it as U+FFFD
            ch = "\ufffd"
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return ('"' + "".join(out) + '"').encode()
