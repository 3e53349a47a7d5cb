"""What plain typing enforces without the plugin, measured with basedpyright.

docs/mypy-plugin.md states, per rule, whether pyright users are protected by agento's own
signatures alone; this test keeps that table true.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.support.mypy_cases import CASES

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "mypy-plugin.md"
_ROW = re.compile(r"^\| `(?P<rule>agento-[a-z-]+)` \| (?P<caught>all|some|none) of (?P<n>\d+) \|")


def _pyright_error_lines() -> dict[Path, set[int]]:
    basedpyright = Path(sys.executable).parent / "basedpyright"
    files = sorted(CASES.glob("*/fail.py"))
    run = subprocess.run(
        [str(basedpyright), "--outputjson", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    report = json.loads(run.stdout)
    lines: dict[Path, set[int]] = {f.resolve(): set() for f in files}
    for d in report["generalDiagnostics"]:
        if d["severity"] == "error":
            lines[Path(d["file"]).resolve()].add(d["range"]["start"]["line"] + 1)
    return lines


def _caught(plugin_lines: list[int], pyright_lines: set[int]) -> int:
    """How many plugin errors pyright also reports (on the same statement)."""
    bounds = [*plugin_lines[1:], 10**9]
    return sum(
        any(start <= line < end for line in pyright_lines)
        for start, end in zip(plugin_lines, bounds, strict=True)
    )


def test_documented_plain_typing_coverage_is_measured() -> None:
    pyright = _pyright_error_lines()
    measured: dict[str, tuple[str, int]] = {}
    for fail in sorted(CASES.glob("*/fail.py")):
        out = (fail.parent / "fail.out").read_text().splitlines()
        plugin_lines = [int(line.split(":")[1]) for line in out]
        caught = _caught(plugin_lines, pyright[fail.resolve()])
        word = "all" if caught == len(plugin_lines) else "some" if caught else "none"
        measured[fail.parent.name.replace("_", "-")] = (word, len(plugin_lines))

    documented = {
        m["rule"]: (m["caught"], int(m["n"]))
        for m in map(_ROW.match, DOC.read_text().splitlines())
        if m
    }
    assert documented == measured
