"""agento: governed Temporal activities.

Temporal owns sequencing and durability, Open Policy Agent owns authorization; agento is the
governed layer between them. Names are imported lazily so that ``agento.mypy`` and
``agento.rules`` load into the type checker without the Temporal runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agento._declaration import (
        ActivityDeclaration,
        GovernedActivity,
        IdempotencyKey,
        PolicyInput,
        activity,
        as_temporal_activities,
        declaration_of,
    )
    from agento._plugin import AgentoPlugin
    from agento._postures import Idempotency, PolicyClass
    from agento._validator import MisdeclaredActivityError, check_activities, validate_activities

__all__ = [
    "ActivityDeclaration",
    "AgentoPlugin",
    "GovernedActivity",
    "Idempotency",
    "IdempotencyKey",
    "MisdeclaredActivityError",
    "PolicyClass",
    "PolicyInput",
    "activity",
    "as_temporal_activities",
    "check_activities",
    "declaration_of",
    "validate_activities",
]

_HOMES = {
    "ActivityDeclaration": "agento._declaration",
    "GovernedActivity": "agento._declaration",
    "IdempotencyKey": "agento._declaration",
    "PolicyInput": "agento._declaration",
    "activity": "agento._declaration",
    "as_temporal_activities": "agento._declaration",
    "declaration_of": "agento._declaration",
    "AgentoPlugin": "agento._plugin",
    "Idempotency": "agento._postures",
    "PolicyClass": "agento._postures",
    "MisdeclaredActivityError": "agento._validator",
    "check_activities": "agento._validator",
    "validate_activities": "agento._validator",
}


def __getattr__(name: str) -> object:
    try:
        home = _HOMES[name]
    except KeyError:
        raise AttributeError(f"module 'agento' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
