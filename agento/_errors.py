"""Errors of the policy decision point, split by what a caller should do about them."""

from __future__ import annotations

from collections.abc import Sequence

from agento._rego import PolicyProblem


class PolicyError(Exception):
    """A policy problem that retrying cannot fix: a bad bundle, an unknown policy path, an input
    that is not JSON, or a request the policy engine refused (OPA's 4xx, with its error body)."""

    def __init__(self, message: str, *, body: object = None) -> None:
        super().__init__(message)
        self.body = body
        """The policy engine's error document, when it sent one."""


class BundleError(PolicyError):
    """A bundle that cannot be loaded or compiled, with every located problem found."""

    def __init__(self, message: str, problems: Sequence[PolicyProblem] = ()) -> None:
        self.problems = tuple(problems)
        lines = [message, *(f"  {p}" for p in self.problems)]
        super().__init__("\n".join(lines))


class PolicyEngineUnavailable(Exception):
    """The policy engine could not be asked (connection refused, timeout, 5xx). Retryable, and
    never a reason to run an activity: agento fails closed."""
