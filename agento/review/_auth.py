"""Who is asking the review service: an OIDC bearer token verified against a JWKS, an identity
header set by an authenticating proxy (believed only from the proxy's addresses), or, for the
demo alone, a fixed development user."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import jwt
from starlette.requests import Request

from agento._reviews.resolution import ReviewerIdentity

_log = logging.getLogger("agento.review")


class Unauthenticated(Exception):
    """The request carries no identity the service accepts; the message says why (401)."""


class Authenticator(Protocol):
    """How the service learns who a request comes from."""

    async def identify(self, request: Request) -> ReviewerIdentity:
        """The verified reviewer, or `Unauthenticated`."""
        ...


@dataclass
class JwtAuth:
    """OIDC/JWT bearer tokens (``Authorization: Bearer ...``) verified against a JWKS: the
    signature with the key its ``kid`` names, then issuer, audience and expiry."""

    jwks: str
    """A JWKS file's path, or its ``https://`` URL (fetched, cached, refetched for an unknown
    ``kid``, as PyJWT's client does). Plain ``http://`` is refused except on loopback (a local
    IdP for tests and demos), where it is warned about: anyone on the path could swap the keys."""
    issuer: str
    audience: str
    leeway_seconds: float = 30.0
    algorithms: Sequence[str] = ("RS256", "ES256", "PS256", "EdDSA")
    name_claim: str = "name"
    email_claim: str = "email"
    groups_claim: str = "groups"
    _keys: jwt.PyJWKSet | jwt.PyJWKClient = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.jwks.startswith("http://"):
            _refuse_plain_http(self.jwks)
        if self.jwks.startswith(("https://", "http://")):
            self._keys = jwt.PyJWKClient(self.jwks, cache_keys=True)
        else:
            try:
                self._keys = jwt.PyJWKSet.from_json(Path(self.jwks).read_text())
            except (OSError, jwt.PyJWKSetError, ValueError) as e:
                raise ValueError(f"cannot read the JWKS {self.jwks}: {e}") from e

    async def identify(self, request: Request) -> ReviewerIdentity:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("send an OIDC token: Authorization: Bearer <token>")
        try:
            key = await asyncio.to_thread(self._signing_key, token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self.algorithms),
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as e:
            # TypeError: PyJWT's answer to a key of another type than the token's algorithm
            # (an ES256 token naming the JWKS's RSA key).
            raise Unauthenticated(f"the token is not accepted: {e}") from None
        groups = claims.get(self.groups_claim) or ()
        return ReviewerIdentity(
            subject=str(claims["sub"]),
            name=_text(claims.get(self.name_claim)),
            email=_text(claims.get(self.email_claim)),
            groups=tuple(map(str, groups)) if isinstance(groups, list) else (),
            issuer=self.issuer,
        )

    def _signing_key(self, token: str) -> Any:
        if isinstance(self._keys, jwt.PyJWKClient):
            return self._keys.get_signing_key_from_jwt(token).key
        kid = jwt.get_unverified_header(token).get("kid")
        if kid is None:
            raise KeyError("the token names no key (kid)")
        try:
            return self._keys[kid].key
        except KeyError:
            raise KeyError(f"no key {kid!r} in the JWKS") from None


@dataclass
class ProxyHeaderAuth:
    """Identity headers set by an authenticating proxy (oauth2-proxy, an ingress's auth), taken
    only from the proxy's own addresses: from anywhere else a header proves nothing."""

    trusted_proxies: Sequence[str]
    """Addresses or networks (``10.0.0.0/8``) the proxy connects from."""
    user_header: str = "X-Forwarded-User"
    email_header: str = "X-Forwarded-Email"
    groups_header: str = "X-Forwarded-Groups"
    """Comma-separated."""

    def __post_init__(self) -> None:
        self._networks = [ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies]
        if not self._networks:
            raise ValueError("ProxyHeaderAuth needs the proxy's addresses (trusted_proxies)")

    async def identify(self, request: Request) -> ReviewerIdentity:
        peer = request.client.host if request.client else ""
        try:
            trusted = any(ipaddress.ip_address(peer) in n for n in self._networks)
        except ValueError:
            trusted = False
        if not trusted:
            raise Unauthenticated(
                f"requests must come through the authenticating proxy; {peer or 'this peer'} "
                "is not one of its addresses"
            )
        user, email, groups = (
            _single(request, h) for h in (self.user_header, self.email_header, self.groups_header)
        )
        if not user.strip():
            raise Unauthenticated(f"the proxy sent no {self.user_header} header")
        return ReviewerIdentity(
            subject=user.strip(),
            email=email or None,
            groups=tuple(g.strip() for g in groups.split(",") if g.strip()),
            issuer="proxy",
        )


@dataclass
class DevUserAuth:
    """Everyone is ``name``: for the demo on a laptop, never for a deployment. Building it logs
    a warning, and every page says so."""

    name: str
    groups: Sequence[str] = ()

    def __post_init__(self) -> None:
        _log.warning(
            "DEVELOPMENT MODE: every request to the review service is %s, unauthenticated",
            self.name,
        )

    async def identify(self, request: Request) -> ReviewerIdentity:
        return ReviewerIdentity(subject=self.name, groups=tuple(self.groups), issuer="dev")


def _single(request: Request, header: str) -> str:
    """An identity header's value, refusing one that arrives more than once: a proxy that
    appends its header to the client's leaves two, and the client's must not count."""
    values = request.headers.getlist(header)
    if len(values) > 1:
        raise Unauthenticated(
            f"{header} arrives {len(values)} times: the proxy must replace a client's identity "
            "headers, not add to them"
        )
    return values[0] if values else ""


def _refuse_plain_http(url: str) -> None:
    """Refuse a JWKS over plain HTTP, unless from this host (loopback), which is warned about."""
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"the JWKS {url} is plain http: whoever is on the path could swap the IdP's keys. "
            "Serve it over https:// (or give a file)"
        )
    _log.warning("the JWKS %s is plain http; acceptable on loopback only", url)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
