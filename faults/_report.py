"""Figures: what a scenario measured, its goal, and whether the goal was met."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    scenario: str
    name: str
    value: str
    goal: str = ""
    met: bool | None = None
    """None for a figure that only informs (no goal)."""

    @classmethod
    def exactly(cls, scenario: str, name: str, value: int, goal: int) -> Figure:
        return cls(scenario, name, str(value), str(goal), value == goal)

    @classmethod
    def all_of(cls, scenario: str, name: str, value: int, of: int) -> Figure:
        return cls(scenario, name, f"{value}/{of}", "all", value == of)

    @classmethod
    def info(cls, scenario: str, name: str, value: object) -> Figure:
        return cls(scenario, name, str(value))


def table(figures: Sequence[Figure]) -> str:
    """A Markdown table, one row per figure, broken invariants marked."""
    rows = ["| scenario | figure | value | goal | |", "|---|---|---|---|---|"]
    for f in figures:
        mark = {True: "ok", False: "**BROKEN**", None: ""}[f.met]
        rows.append(f"| {f.scenario} | {f.name} | {f.value} | {f.goal} | {mark} |")
    return "\n".join(rows)


def broken(figures: Sequence[Figure]) -> list[Figure]:
    return [f for f in figures if f.met is False]
