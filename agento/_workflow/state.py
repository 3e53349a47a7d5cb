"""agento's state for each workflow run on this worker: created when the run starts executing
here, dropped when it leaves, and reached from workflow code by the run's id."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.api.common.v1 import Payload

from agento._workflow.decision_step import DecisionSettings, forget_receipts
from agento._workflow.review_board import ReviewBoard


@dataclass
class RunState:
    """One run's calls, reviews and the headers its next activity starts must carry."""

    settings: DecisionSettings
    generation: int
    reviews: ReviewBoard
    calls: int = 0
    _headers: dict[str, Payload] = field(default_factory=dict)
    """Activity id -> the CallRecord header its start must carry."""

    def next_call(self) -> int:
        """The number of a new governed call: calls are numbered in the order they are made."""
        self.calls += 1
        return self.calls

    def attach(self, activity_id: str, header: Payload) -> None:
        """Have the start of ``activity_id`` carry ``header`` (the outbound interceptor adds it)."""
        self._headers[activity_id] = header

    def take(self, activity_id: str) -> Payload | None:
        """The header attached for ``activity_id``, once."""
        return self._headers.pop(activity_id, None)


_RUNS: dict[str, RunState] = {}
"""Run id -> state, for runs executing on this worker."""


@contextmanager
def running(run_id: str, state: RunState) -> Iterator[RunState]:
    """``state`` is the run's while its workflow executes on this worker."""
    _RUNS[run_id] = state
    forget_receipts(run_id)  # a run replayed after eviction chains from its first decision
    try:
        yield state
    finally:
        _RUNS.pop(run_id, None)
        forget_receipts(run_id)


def current() -> RunState | None:
    """The state of the workflow run executing now, if agento's interceptor set one up."""
    return _RUNS.get(workflow.info().run_id)


def required() -> RunState:
    """The current run's state; a clear error when the worker is not governed by agento."""
    state = current()
    if state is None:
        raise RuntimeError(
            "agento.execute_activity runs only on a worker governed by agento.AgentoPlugin "
            "(give the plugin to Client.connect or Worker)"
        )
    return state
