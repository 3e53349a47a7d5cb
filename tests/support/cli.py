"""The `agento` command line run as a user runs it: a subprocess of this interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def agento(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agento", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )
