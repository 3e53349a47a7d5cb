"""The declaration vocabulary: how an activity may be retried and what it touches.

Standard library only: the mypy plugin imports this module into the type checker.
"""

from __future__ import annotations

import enum


class Idempotency(enum.StrEnum):
    """How safely an activity can be run again."""

    IDEMPOTENT = "idempotent"
    """Safe to retry as is: running it twice has the effect of running it once."""

    KEYED = "keyed"
    """Safe to retry when the same idempotency key reaches the external system."""

    NON_IDEMPOTENT = "non_idempotent"
    """Must run at most once: a second run could repeat its effect."""


class PolicyClass(enum.StrEnum):
    """Whether an activity changes the world, and so whether a decision must precede it."""

    READ_ONLY = "read_only"
    """No side effect; a policy is optional (data-access rules, for example)."""

    SIDE_EFFECT = "side_effect"
    """Writes data or calls an external API: a recorded allow is required before every execution."""
