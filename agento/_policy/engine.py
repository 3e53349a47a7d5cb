"""The policy engine protocol: one question, asked of OPA or of the embedded engine alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from pydantic import JsonValue

from agento._decision.record import Decision


@runtime_checkable
class PolicyEngine(Protocol):
    """Answers "may this happen?" for a policy path and an input document.

    Implementations fail in two ways only: `agento.PolicyEngineUnavailable` when the engine
    could not be asked (retry later; never run the activity meanwhile) and `agento.PolicyError`
    when asking again cannot help. Everything else, a policy error included, is a `Decision`
    that denies.
    """

    @property
    def name(self) -> str:
        """Recorded in every decision (``embedded``, ``opa``)."""
        ...

    async def decide(self, policy: str, document: Mapping[str, JsonValue]) -> Decision:
        """Ask the policy at ``policy`` (``agento/commissioning/routing``) about ``document``."""
        ...


@runtime_checkable
class PolicyCatalog(Protocol):
    """An engine that can say which policies it defines, so that a worker refuses to start
    when an activity declares one it does not (rule ``agento-unknown-policy``)."""

    def policies(self) -> frozenset[str]:
        """Every policy path (``a/b/c``) this engine can decide."""
        ...
