"""The fault-injection suite, quick: every scenario with a few trials (``make faults`` runs the
full counts), and the table's verdicts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from faults.__main__ import SCENARIOS
from faults._report import Figure, broken, table

ROOT = Path(__file__).parents[2]


def test_every_scenario_holds_its_invariants_on_a_few_trials() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "faults", "--trials", "2", "--parallel", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    scenarios = {row.split(" | ")[0].removeprefix("| ") for row in rows[1:]}
    assert len(scenarios) == len(SCENARIOS), scenarios
    assert "BROKEN" not in done.stdout
    [classes] = [row for row in rows if row.startswith("| Bad inputs | classes tried |")]
    assert int(classes.split(" | ")[2]) >= 20, classes
    assert classes.endswith("| ok |"), classes


def test_a_missed_goal_is_marked_and_counted_as_broken() -> None:
    figures = [
        Figure.exactly("s", "duplicates", 1, 0),
        Figure.all_of("s", "completed", 50, 50),
        Figure.info("s", "trials", 50),
    ]
    assert broken(figures) == [figures[0]]
    assert table(figures).splitlines()[2:] == [
        "| s | duplicates | 1 | 0 | **BROKEN** |",
        "| s | completed | 50/50 | all | ok |",
        "| s | trials | 50 |  |  |",
    ]
