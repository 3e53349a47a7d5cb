from __future__ import annotations

import os
import sys

import pytest

pytest_plugins = ["agento.testing.pytest"]

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
