"""pytest fixtures for governed workflows: ``pytest_plugins = ["agento.testing.pytest"]``.

Both servers are started once per session from the packaged binaries and stopped at the end,
with agento's search attributes defined (`agento.ensure_search_attributes`).
Their clients carry `agento.AgentoPlugin` without an engine: start workflows from them, and build
workers from ``agento.testing.governed_client(env, engine)``. The fixtures use the session's event
loop (pytest-asyncio): set ``asyncio_default_fixture_loop_scope`` and
``asyncio_default_test_loop_scope`` to ``"session"``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from agento._reviews.visibility import ensure_search_attributes
from agento._worker.plugin import AgentoPlugin
from agento.testing import server_binary


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def agento_time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server: ``await env.sleep(timedelta(hours=47))`` passes
    47 hours of a review's wait at once."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server_binary("temporal-test-server"),
        plugins=[AgentoPlugin()],
    )
    async with env:
        await ensure_search_attributes(env.client)
        yield env


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def agento_dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's dev server (in memory): the real server, for what the test server lacks
    (update validators that write nothing, resets, visibility queries)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=server_binary("temporal"),
        dev_server_log_level="error",
        plugins=[AgentoPlugin()],
    )
    async with env:
        await ensure_search_attributes(env.client)
        yield env
