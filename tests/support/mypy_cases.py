"""The mypy plugin's case corpus: per rule, a directory with a ``fail.py`` giving exactly the
errors in its ``fail.out``, and a ``pass.py`` neighbour that gives none."""

from __future__ import annotations

from pathlib import Path

CASES = Path(__file__).parents[1] / "mypy" / "cases"
