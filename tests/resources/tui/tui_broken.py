"""Fixture for the TUI tests: a workflow file that fails to load (a misspelt dependency)."""

from __future__ import annotations

from engine import Step, Workflow


def noop() -> dict:
    return {}


broken = Workflow(
    "tui.broken",
    steps=[
        Step.from_function("extract", noop),
        Step.from_function("load", noop, depends_on=["extrct"]),
    ],
)
