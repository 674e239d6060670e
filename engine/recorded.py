"""Opening persisted runs: what a run store hands `WorkflowPlayground.load_run`, and the small
protocol (`RunSource`) any source of recorded runs implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .results import StepRun, WorkflowResult
from .workflow import Workflow


@dataclass(frozen=True, slots=True)
class RecordedRun:
    """A finished (or stopped) run as a store hands it back: definition, params and the
    step records in the order the steps finished (outputs on the completed ones)."""

    run_id: str
    workflow: Workflow
    params: Mapping[str, Any] = field(default_factory=dict)
    steps: tuple[StepRun, ...] = ()

    @classmethod
    def from_result(cls, workflow: Workflow, result: WorkflowResult) -> RecordedRun:
        """Wrap an in-memory ``WorkflowResult`` (steps ordered by when they finished)."""
        records = sorted(result.steps.values(),
                         key=lambda r: (r.finished_at is None, r.finished_at or 0))
        return cls(result.run_id, workflow, dict(result.params), tuple(records))


@runtime_checkable
class RunSource(Protocol):
    """Anything that can hand back a persisted run by id (the SQLite run store will)."""

    def recorded_run(self, run_id: str) -> RecordedRun: ...
