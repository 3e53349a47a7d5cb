"""Bounds on what a request may make the service parse: a body's size, counted as it arrives
(whatever its ``Content-Length`` claims), and a JSON body's nesting, checked before it is
decoded, so that a hostile body is a 413 or a 422 and never a worker-wide cost or a 500."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agento.review._problem import Problem

MAX_BODY_BYTES = 64 * 1024
"""A resolution is a comment and a few ids; 64 KiB is far more than any needs."""
MAX_JSON_DEPTH = 16
"""The API's bodies are one object of strings: anything deeper is not a resolution."""

_OPENING, _CLOSING, _QUOTE, _BACKSLASH = frozenset(b"[{"), frozenset(b"]}"), ord('"'), ord("\\")


class BodyLimit:
    """ASGI middleware refusing (413) a request body over ``max_bytes``. The refusal is raised
    where the endpoint reads the body, so the app's own handler answers it."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        # A declared length over the limit is refused at the first read, before any byte is taken.
        over = declared.isdigit() and (len(declared) > 18 or int(declared) > self.max_bytes)
        received = self.max_bytes + 1 if over else 0

        async def limited() -> Message:
            nonlocal received
            if received > self.max_bytes:
                raise self._too_large()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        await self.app(scope, limited, send)

    def _too_large(self) -> Problem:
        return Problem(413, "TooLarge", f"the request body is over {self.max_bytes} bytes")


def json_body(body: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> object:
    """``body`` decoded, once its nesting is known to be at most ``max_depth``; a `Problem`
    (422) saying what is wrong otherwise."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPENING:
            depth += 1
            if depth > max_depth:
                raise Problem(422, "BadRequest", f"the body nests deeper than {max_depth} levels")
        elif byte in _CLOSING:
            depth -= 1
    try:
        return json.loads(body)
    except ValueError:
        raise Problem(422, "BadRequest", "the body is not JSON") from None
