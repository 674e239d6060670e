"""The workflow playground: step through a run, rewind to any snapshot, edit and re-run.

``WorkflowPlayground`` is the debugger; the rest are the values it hands out and the errors
it raises. ``RunSource``/``RecordedRun`` are what a run store implements to be opened with
``load_run``.
"""

from __future__ import annotations

from .breakpoints import Breakpoint, Pause, StopReason
from .core import WorkflowPlayground
from .errors import (
    BreakpointError,
    ChildActiveError,
    EndOfWorkflowError,
    InvalidEditError,
    NoWorkflowLoadedError,
    PlaygroundError,
    PlaygroundStepError,
    RecordedRunError,
    RunHaltedError,
    SnapshotIndexError,
    StartOfHistoryError,
    StepIntoError,
    StepNotReadyError,
    StepNotRunError,
)
from .recorded import RecordedRun, RunSource
from .state import ContextView, Snapshot, SnapshotDiff, SnapshotKind

__all__ = [
    "Breakpoint",
    "BreakpointError",
    "ChildActiveError",
    "ContextView",
    "EndOfWorkflowError",
    "InvalidEditError",
    "NoWorkflowLoadedError",
    "Pause",
    "PlaygroundError",
    "PlaygroundStepError",
    "RecordedRun",
    "RecordedRunError",
    "RunHaltedError",
    "RunSource",
    "Snapshot",
    "SnapshotDiff",
    "SnapshotIndexError",
    "SnapshotKind",
    "StartOfHistoryError",
    "StepIntoError",
    "StepNotReadyError",
    "StepNotRunError",
    "StopReason",
    "WorkflowPlayground",
]
