"""A governed, read-only activity: safe to retry, no side effect, no policy needed."""

from __future__ import annotations

import agento
from agento import Idempotency, PolicyClass

# Fixture data standing in for a project-management system.
_OPEN_PUNCH_ITEMS = {"bess-7": [], "bess-9": ["PI-104 inverter cabinet label missing"]}


@agento.activity(
    idempotency=Idempotency.IDEMPOTENT, policy_class=PolicyClass.READ_ONLY, version="1.0.0"
)
async def list_open_punch_items(project_id: str) -> list[str]:
    return list(_OPEN_PUNCH_ITEMS.get(project_id, []))
