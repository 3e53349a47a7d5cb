"""Builds governed activities from source text, as untyped code would declare them."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, cast

import agento
from agento import AnyActivity, IdempotencyKey, PolicyInput


class Request(PolicyInput):
    project_id: str


class OtherRequest(PolicyInput):
    count: int


Declare = Callable[..., Callable[[Callable[..., Any]], AnyActivity]]
untyped_activity = cast(Declare, agento.activity)
"""``agento.activity`` without its overloads: what a caller that skips the type checker gets."""


def build(source: str, **declaration: object) -> AnyActivity:
    """Declare the single function defined by ``source`` with ``declaration``."""
    namespace: dict[str, object] = {
        "IdempotencyKey": IdempotencyKey,
        "Request": Request,
        "OtherRequest": OtherRequest,
    }
    before = set(namespace)
    exec(source, namespace)
    (fn,) = (v for k, v in namespace.items() if k not in before and inspect.isfunction(v))
    return untyped_activity(**declaration)(cast(Callable[..., Any], fn))
