"""Expected fail-closed events log one structured line each on the ``agento`` logger; no
traceback per attempt at WARNING or above."""

from __future__ import annotations

import logging

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from agento.testing import governed_client
from tests.support.engines import flaky
from tests.support.governed_activities import Transfer
from tests.support.governed_workflows import BypassWorkflow, RouteWorkflow
from tests.support.runs import start


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING and r.exc_info]


async def test_an_engine_outage_is_one_line_per_attempt(
    agento_time_skipping_env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = governed_client(agento_time_skipping_env, flaky(2))
    handle, worker = await start(client, RouteWorkflow.run, Transfer(project_id="p", amount=1))
    async with worker:
        await handle.result()
    lines = [r for r in caplog.records if r.name == "agento"]
    assert [r.getMessage() for r in lines] == [
        f"policy engine unavailable activity='route' policy='agento/tests/route' "
        f"workflow_id='{handle.id}' attempt={n} reason='connection refused'"
        for n in (1, 2)
    ]
    assert lines[0].agento == {  # type: ignore[attr-defined]
        "event": "policy engine unavailable",
        "activity": "route",
        "policy": "agento/tests/route",
        "workflow_id": handle.id,
        "attempt": 1,
        "reason": "connection refused",
    }
    assert tracebacks(caplog) == []


async def test_a_refused_bypass_is_one_line(
    agento_time_skipping_env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = governed_client(agento_time_skipping_env, flaky(0))
    handle, worker = await start(client, BypassWorkflow.run, Transfer(project_id="p", amount=1))
    async with worker:
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    [line] = [r for r in caplog.records if r.name == "agento"]
    assert line.levelno == logging.WARNING
    assert line.getMessage().startswith("ungranted start refused activity='route'")
    assert "rule='agento-bypass'" in line.getMessage()
    assert tracebacks(caplog) == []
