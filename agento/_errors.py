"""Errors of the policy decision point, split by what a caller should do about them."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.exceptions import ApplicationError

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


class PolicyDenied(ApplicationError):
    """The policy denied an activity for good (``recoverable`` false): the workflow fails."""

    def __init__(self, activity: str, reasons: Sequence[str], decision_id: str) -> None:
        super().__init__(
            f'policy denied activity "{activity}": {"; ".join(reasons) or "no reason given"}',
            {"activity": activity, "reasons": list(reasons), "decision_id": decision_id},
            type="PolicyDenied",
            non_retryable=True,
        )


class ReviewRejected(ApplicationError):
    """A reviewer rejected a paused activity: the workflow fails without running it."""

    def __init__(self, activity: str, review_id: str, reviewer: str, comment: str) -> None:
        super().__init__(
            f'review {review_id} of activity "{activity}" rejected by {reviewer}: {comment}',
            {"activity": activity, "review_id": review_id, "reviewer": reviewer},
            type="ReviewRejected",
            non_retryable=True,
        )


class ReviewTimedOut(ApplicationError):
    """Nobody resolved a review in time: the workflow fails without running the activity."""

    def __init__(self, activity: str, review_id: str, timeout: str) -> None:
        super().__init__(
            f'review {review_id} of activity "{activity}" was not resolved within {timeout}',
            {"activity": activity, "review_id": review_id},
            type="ReviewTimedOut",
            non_retryable=True,
        )


class GovernanceError(ApplicationError):
    """A governed call that cannot proceed: a broken rule (its id is the ``type``) or a policy
    that cannot be asked (``PolicyError``). Non-retryable: the workflow fails, nothing runs."""

    def __init__(self, message: str, *, type: str) -> None:
        super().__init__(message, type=type, non_retryable=True)
