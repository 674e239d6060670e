"""What handlers return (``StepResult``) and what a run hands back (``WorkflowResult``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .policies import ErrorCategory

if TYPE_CHECKING:
    from .adaptive.changes import GraphChange


class RunStatus(StrEnum):
    """Lifecycle status of a run or a step; compares equal to its string value."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    WAITING = "waiting"
    INTERRUPTED = "interrupted"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"

    @property
    def is_terminal(self) -> bool:
        return self in (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED,
                        RunStatus.SKIPPED, RunStatus.INTERRUPTED)


@dataclass(frozen=True, slots=True)
class StepResult:
    """The outcome of one step attempt: build it with ``ok``, ``fail`` or ``skip``."""

    success: bool
    output: Any = None
    error: str | None = None
    category: str | None = None
    skipped: bool = False

    @classmethod
    def ok(cls, output: Any = None) -> StepResult:
        return cls(success=True, output={} if output is None else output)

    @classmethod
    def fail(cls, error: str | BaseException, category: str | ErrorCategory = ErrorCategory.INTERNAL,
             output: Any = None) -> StepResult:
        cat = category.value if isinstance(category, ErrorCategory) else str(category).upper()
        return cls(success=False, output=output, error=str(error), category=cat)

    @classmethod
    def skip(cls, reason: str = "") -> StepResult:
        return cls(success=True, output={}, error=reason or None, skipped=True)

    @property
    def status(self) -> RunStatus:
        if self.skipped:
            return RunStatus.SKIPPED
        return RunStatus.COMPLETED if self.success else RunStatus.FAILED


@dataclass(frozen=True, slots=True)
class StepRun:
    """A read-only record of how one step went in a run."""

    name: str
    status: RunStatus
    attempts: int = 0
    output: Any = None
    error: str | None = None
    error_category: str | None = None
    error_type: str | None = None
    traceback: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float = 0.0
    child_run_id: str | None = None
    #: where the step's last attempt ran: ``thread:NAME``, ``process:HOST:PID``, ``dask:ADDRESS``
    worker: str | None = None

    @property
    def category(self) -> str | None:
        return self.error_category


@dataclass(frozen=True, slots=True)
class WorkflowResult:
    """A read-only record of one workflow run, returned by ``WorkflowRunner.execute``.

    ``steps`` holds every step of the plan as it finally ran, in declaration order, including
    steps inserted at runtime; ``graph_changes`` lists the adaptive changes applied, in order.
    """

    run_id: str
    workflow_name: str
    status: RunStatus
    params: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    steps: Mapping[str, StepRun] = field(default_factory=dict)
    error: str | None = None
    error_step: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float = 0.0
    graph_changes: tuple[GraphChange, ...] = ()
    workflow_version: int | None = None
    """The workflow version the run used (locked when it started: spec §9)."""

    @property
    def succeeded(self) -> bool:
        return self.status == RunStatus.COMPLETED

    @property
    def failed_steps(self) -> list[str]:
        return [n for n, s in self.steps.items() if s.status == RunStatus.FAILED]

    @property
    def completed_steps(self) -> list[str]:
        return [n for n, s in self.steps.items() if s.status == RunStatus.COMPLETED]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (timestamps as ISO strings)."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "run_id": self.run_id,
            "workflow": self.workflow_name,
            "status": self.status.value,
            "params": self.params,
            "error": self.error,
            "error_step": self.error_step,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "duration_seconds": self.duration_seconds,
            "outputs": self.outputs,
            "steps": {
                name: {
                    "status": s.status.value,
                    "attempts": s.attempts,
                    "error": s.error,
                    "error_category": s.error_category,
                    "error_type": s.error_type,
                    "started_at": iso(s.started_at),
                    "finished_at": iso(s.finished_at),
                    "duration_seconds": s.duration_seconds,
                    "child_run_id": s.child_run_id,
                    **({"worker": s.worker} if s.worker else {}),
                }
                for name, s in self.steps.items()
            },
            "graph_changes": [c.to_dict() for c in self.graph_changes],
            "workflow_version": self.workflow_version,
        }
