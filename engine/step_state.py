"""``StepState``: the mutable record of one step while its run is in flight.

The run loop, the runner, composite steps, adaptive changes and the playground all fill it;
it lives on its own so none of them has to import another for it. ``freeze()`` hands out the
immutable ``StepRun`` view.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .results import RunStatus, StepRun


class StepState:
    """Mutable bookkeeping for one step while a run is in flight."""

    __slots__ = ("name", "status", "attempts", "output", "error", "category", "error_type",
                 "traceback", "started_at", "finished_at", "duration", "child_run_id")

    def __init__(self, name: str) -> None:
        self.name = name
        self.status = RunStatus.PENDING
        self.attempts = 0
        self.output: Any = None
        self.error: str | None = None
        self.category: str | None = None
        self.error_type: str | None = None
        self.traceback: str | None = None
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.duration = 0.0
        self.child_run_id: str | None = None

    def reset(self) -> None:
        """Back to "not run" (a ``retry_step``), keeping the object the scheduler tracks."""
        self.status = RunStatus.PENDING
        self.attempts = 0
        self.output = self.error = self.category = self.error_type = self.traceback = None
        self.started_at = self.finished_at = self.child_run_id = None
        self.duration = 0.0

    def freeze(self) -> StepRun:
        return StepRun(self.name, self.status, self.attempts, self.output, self.error,
                       self.category, self.error_type, self.traceback, self.started_at,
                       self.finished_at, self.duration, self.child_run_id)
