"""docs/quickstart.md and docs/testing.md, run as written: their files, their commands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

QUICKSTART = Path(__file__).parents[2] / "docs" / "quickstart.md"
TESTING = QUICKSTART.with_name("testing.md")
_BLOCK = re.compile(r"<!-- (file: (?P<path>\S+)|output) -->\n```\w*\n(?P<body>.*?)```", re.DOTALL)


def test_quickstart_runs_as_written(tmp_path: Path) -> None:
    expected = None
    for block in _BLOCK.finditer(QUICKSTART.read_text()):
        if block["path"]:
            target = tmp_path / block["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block["body"])
        else:
            expected = block["body"]
    assert (tmp_path / "run.py").exists()
    assert expected is not None
    run = subprocess.run(
        [sys.executable, "run.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == expected, "exactly the page's lines: no server banner among them"


def test_the_testing_page_runs_as_written(tmp_path: Path) -> None:
    for page in (QUICKSTART, TESTING):
        for block in _BLOCK.finditer(page.read_text()):
            if block["path"] and block["path"] != "run.py":
                target = tmp_path / block["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block["body"])
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
