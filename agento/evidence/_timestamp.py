"""Trusted time: an RFC 3161 timestamp over a pack's signed manifest, from a timestamp
authority the deployment names, so that the pack provably existed at a time its exporter
cannot backdate. Requests are built and responses verified by ``rfc3161-client`` (Trail of
Bits, the client Sigstore's Python tooling uses)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import httpx
from cryptography import x509
from rfc3161_client import (
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)


class TimestampError(ValueError):
    """No timestamp could be had, or one does not verify; the message says why."""


def timestamp(data: bytes, url: str, *, timeout: float = 30.0) -> bytes:
    """The timestamp authority at ``url``'s response (DER) over ``data``'s SHA-256, checked to
    be granted, for ``data``, with the nonce asked."""
    builder = TimestampRequestBuilder().data(data).nonce(nonce=True)
    request = builder.cert_request(cert_request=True).build()
    try:
        answer = httpx.post(
            url,
            content=request.as_bytes(),
            headers={"Content-Type": "application/timestamp-query"},
            timeout=timeout,
        )
        answer.raise_for_status()
        response = decode_timestamp_response(answer.content)
    except (httpx.HTTPError, ValueError) as e:
        raise TimestampError(f"the timestamp authority at {url} gave no timestamp: {e}") from e
    if response.status != 0 or response.tst_info.nonce != request.nonce:
        raise TimestampError(
            f"the timestamp authority at {url} refused (status {response.status}) or answered "
            "another request"
        )
    return answer.content


def verify_timestamp(token: bytes, data: bytes, roots: Iterable[x509.Certificate]) -> datetime:
    """When ``token`` says ``data`` existed, if it verifies with a chain to one of ``roots``."""
    builder = VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    try:
        response = decode_timestamp_response(token)
        builder.build().verify_message(response, data)
    except (VerificationError, ValueError) as e:
        raise TimestampError(f"the timestamp does not verify: {e}") from e
    return response.tst_info.gen_time
