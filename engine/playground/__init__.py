"""The workflow playground: step through a run, rewind to any snapshot, edit and re-run.

``WorkflowPlayground`` is the debugger; the rest are the values it hands out and the errors
it raises; ``expression_condition`` compiles a typed breakpoint condition, shared by every
debugger front end. ``RunSource``/``RecordedRun`` are what a run store implements to be
opened with ``load_run``.
"""

from __future__ import annotations

from ..recorded import RecordedRun, RunSource
from .breakpoints import (
    Breakpoint,
    Condition,
    ConditionSyntaxError,
    ExpressionCondition,
    Pause,
    StopReason,
    expression_condition,
)
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
from .nested import SteppedInto
from .state import ContextView, Snapshot, SnapshotDiff, SnapshotKind

__all__ = [
    "Breakpoint",
    "BreakpointError",
    "ChildActiveError",
    "Condition",
    "ConditionSyntaxError",
    "ContextView",
    "EndOfWorkflowError",
    "ExpressionCondition",
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
    "SteppedInto",
    "StopReason",
    "WorkflowPlayground",
    "expression_condition",
]
