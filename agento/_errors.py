"""Errors of the policy decision point, split by what a caller should do about them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

from temporalio.exceptions import ApplicationError


@dataclass(frozen=True)
class PolicyProblem:
    """One located problem in a bundle file."""

    file: str
    row: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}:{self.column}: {self.message}"


class PolicyError(Exception):
    """A policy problem that retrying cannot fix: a bad bundle, an unknown policy path, an input
    that is not JSON, or a request the policy engine refused (OPA's 4xx, with its error body)."""

    failure_type = "PolicyError"
    """The failure type a decision step records for this error and its subclasses: the run
    fails, nothing runs."""
    retryable = False

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

    failure_type = "PolicyEngineUnavailable"
    """The failure type a decision step records for this error and its subclasses: asked
    again, then the activity pauses for review."""
    retryable = True


DecidingError = PolicyError | PolicyEngineUnavailable
"""What a `PolicyEngine` may raise while deciding; each class says how a run treats it."""


class _Carried(ApplicationError):
    """An agento error a workflow fails with; `governance_failure` rebuilds it on the client."""

    def _detail(self, key: str) -> Any:
        carried = self.details[0] if self.details and isinstance(self.details[0], dict) else {}
        return carried.get(key)

    @property
    def activity(self) -> str:
        """The governed activity that did not run."""
        return str(self._detail("activity") or "")

    @classmethod
    def _rebuilt(cls, failure: ApplicationError) -> Self:
        error = cls.__new__(cls)
        ApplicationError.__init__(
            error, failure.message, *failure.details, type=failure.type, non_retryable=True
        )
        return error


class PolicyDenied(_Carried):
    """The policy denied an activity for good (``recoverable`` false): the workflow fails."""

    def __init__(self, activity: str, reasons: Sequence[str], decision_id: str) -> None:
        super().__init__(
            f'policy denied activity "{activity}": {"; ".join(reasons) or "no reason given"}',
            {"activity": activity, "reasons": list(reasons), "decision_id": decision_id},
            type="PolicyDenied",
            non_retryable=True,
        )

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(str(r) for r in self._detail("reasons") or ())

    @property
    def decision_id(self) -> str:
        """The recorded Decision that denied (``agento audit`` shows it)."""
        return str(self._detail("decision_id") or "")


class ReviewRejected(_Carried):
    """A reviewer rejected a paused activity: the workflow fails without running it."""

    def __init__(self, activity: str, review_id: str, reviewer: str, comment: str) -> None:
        super().__init__(
            f'review {review_id} of activity "{activity}" rejected by {reviewer}: {comment}',
            {
                "activity": activity,
                "review_id": review_id,
                "reviewer": reviewer,
                "comment": comment,
            },
            type="ReviewRejected",
            non_retryable=True,
        )

    @property
    def review_id(self) -> str:
        return str(self._detail("review_id") or "")

    @property
    def reviewer(self) -> str:
        return str(self._detail("reviewer") or "")

    @property
    def comment(self) -> str:
        return str(self._detail("comment") or "")


class ReviewTimedOut(_Carried):
    """Nobody resolved a review in time: the workflow fails without running the activity."""

    def __init__(self, activity: str, review_id: str, timeout: str) -> None:
        super().__init__(
            f'review {review_id} of activity "{activity}" was not resolved within {timeout}',
            {"activity": activity, "review_id": review_id, "timeout": timeout},
            type="ReviewTimedOut",
            non_retryable=True,
        )

    @property
    def review_id(self) -> str:
        return str(self._detail("review_id") or "")


class GovernanceError(_Carried):
    """A governed call that cannot proceed: a broken rule (its id is the ``type``) or a policy
    that cannot be asked (``PolicyError``). Non-retryable: the workflow fails, nothing runs."""

    @classmethod
    def policy(cls, message: str) -> GovernanceError:
        """A run failing because its policy cannot be asked (a `PolicyError` while deciding)."""
        return cls(message, type=PolicyError.failure_type)

    def __init__(self, message: str, *, type: str) -> None:
        super().__init__(message, type=type, non_retryable=True)


class ReviewRefused(Exception):
    """A resolution the workflow refused: an unknown or already resolved review, a reviewer who
    requested the run, a malformed payload. Nothing was recorded for it."""

    def __init__(
        self,
        workflow_id: str,
        review_id: str,
        reason: str,
        *,
        kind: str = "ReviewRefused",
        reasons: tuple[str, ...] = (),
    ) -> None:
        super().__init__(f"review {review_id} of {workflow_id} refused: {reason}")
        self.workflow_id = workflow_id
        self.review_id = review_id
        self.reason = reason
        """The workflow's words, e.g. "review 'x' is already resolved in this workflow"."""
        self.kind = kind
        """``ReviewNotPending`` (unknown or already resolved), ``ReviewerDenied`` (the reviewer
        policy said no: see ``reasons``), ``ReviewerUndecided`` (the policy engine could not be
        asked: try again), or ``ReviewRefused`` (anything else: a malformed, unsigned or
        forged resolution, or the requester reviewing their own run)."""
        self.reasons = reasons
        """The reviewer policy's reasons, for ``ReviewerDenied``."""


GovernanceFailure = PolicyDenied | ReviewRejected | ReviewTimedOut | GovernanceError
"""What `governance_failure` returns: the agento error a workflow failed with."""

_CARRIED: dict[str, type[PolicyDenied] | type[ReviewRejected] | type[ReviewTimedOut]] = {
    "PolicyDenied": PolicyDenied,
    "ReviewRejected": ReviewRejected,
    "ReviewTimedOut": ReviewTimedOut,
}


def governance_failure(error: BaseException) -> GovernanceFailure | None:
    """The agento error a failed workflow carries, typed again on the client; ``None`` when it
    failed for another reason.

    ``client.execute_workflow`` raises temporalio's ``WorkflowFailureError`` whose cause is a
    plain ``ApplicationError``; this walks the causes (a child workflow's included) and rebuilds
    `PolicyDenied`, `ReviewRejected`, `ReviewTimedOut`, or `GovernanceError` (a broken rule or
    a policy that could not be asked), with their fields::

        except WorkflowFailureError as e:
            match agento.governance_failure(e):
                case agento.PolicyDenied() as denied:
                    print(denied.reasons, denied.decision_id)
    """
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, PolicyDenied | ReviewRejected | ReviewTimedOut | GovernanceError):
            return current
        if isinstance(current, ApplicationError) and current.type:
            carried = _CARRIED.get(current.type)
            if carried is not None:
                return carried._rebuilt(current)
            if current.type == PolicyError.failure_type or current.type.startswith("agento-"):
                return GovernanceError._rebuilt(current)
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__
    return None
