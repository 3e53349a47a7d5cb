"""Carrying an activity's idempotency key to the HTTP services it calls."""

from __future__ import annotations

import httpx

from agento._declaration.activity import IdempotencyKey

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"


class IdempotencyKeyTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends the activity's key as ``Idempotency-Key`` on every request.

    The key is stable across retries, worker restarts and replay, so a service that deduplicates
    on the header applies a KEYED activity's effect once however often the activity runs::

        async with httpx.AsyncClient(transport=agento.IdempotencyKeyTransport(key)) as client:
            await client.post(url, json=...)

    A request that already carries the header keeps its own.
    """

    def __init__(
        self, key: IdempotencyKey, wrapped: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.key = key
        self._wrapped = wrapped or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers.setdefault(IDEMPOTENCY_KEY_HEADER, self.key)
        return await self._wrapped.handle_async_request(request)

    async def aclose(self) -> None:
        await self._wrapped.aclose()
