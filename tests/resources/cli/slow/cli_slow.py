"""CLI fixture: a long wait step, so a test can press Ctrl-C while the run is in flight
(long enough on a loaded machine; a cancel ends the wait at once)."""

from __future__ import annotations

from engine import Step, Workflow


def after() -> dict:
    return {"done": True}


slow = Workflow("cli.slow", steps=[Step.wait("pause", duration_seconds=4.0),
                                   Step.from_function("after", after)])
