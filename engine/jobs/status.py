"""What adapters report about jobs: ``JobStatus`` (state, exit code, why it failed),
``JobLogLine`` and ``RuntimeCapabilities``, the same shapes for every runtime."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from ..policies import ErrorCategory


class JobState(StrEnum):
    """Where a job is in its life; the last three are final."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class FailureReason(StrEnum):
    """Why a job failed, so a caller can tell a timeout from a limit from a crash."""

    EXIT_CODE = "exit_code"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    CPU = "cpu"
    SIGNAL = "signal"
    CANCELLED = "cancelled"
    LOST = "lost"


#: the step error category a failed job maps to (anything else is INTERNAL)
_CATEGORIES = {FailureReason.TIMEOUT: ErrorCategory.TIMEOUT,
               FailureReason.CANCELLED: ErrorCategory.CANCELLED,
               FailureReason.LOST: ErrorCategory.TRANSIENT}


@dataclass(frozen=True, slots=True)
class JobStatus:
    """A job's state as its adapter last saw it; ``message`` explains a failure."""

    job_id: str
    state: JobState
    runtime: str = ""
    exit_code: int | None = None
    reason: FailureReason | None = None
    message: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def succeeded(self) -> bool:
        return self.state is JobState.SUCCEEDED

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def category(self) -> str:
        """The step error category for this outcome (TIMEOUT, CANCELLED, else INTERNAL)."""
        if self.reason is None:
            return ErrorCategory.INTERNAL.value
        return _CATEGORIES.get(self.reason, ErrorCategory.INTERNAL).value


class JobLogLine(NamedTuple):
    """One line a job wrote, with its newline, and the stream it came from."""

    stream: str
    text: str


@dataclass(frozen=True, slots=True)
class RuntimeCapabilities:
    """What an adapter can do, so the router sends a job only where it can run."""

    supports_gpu: bool = False
    supports_volumes: bool = False
    supports_sidecars: bool = False
    supports_resource_limits: bool = True
    supports_log_streaming: bool = True
    runs_images: bool = False
    max_timeout_seconds: float | None = None
