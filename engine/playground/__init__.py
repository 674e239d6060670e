"""The workflow playground: step through a run, rewind to any snapshot, edit and re-run.

``WorkflowPlayground`` is the debugger; the rest are the values it hands out and the errors
it raises; ``expression_condition`` compiles a typed breakpoint condition, shared by every
debugger front end. Edit and continue: ``reload``/``reload_file`` swap in an edited
definition (``ReloadReport``; what counts as a change is ``workflow_prints`` +
``compare_prints``), ``load_fresh``/``watched_files`` load a workflow file again with the
user's modules it imports. ``RunSource``/``RecordedRun`` are what a run store implements to be
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
    NothingStaleError,
    NoWorkflowLoadedError,
    PlaygroundError,
    PlaygroundStepError,
    RecordedRunError,
    ReloadError,
    RetryStoredError,
    RunHaltedError,
    SnapshotIndexError,
    StartOfHistoryError,
    StepIntoError,
    StepNotReadyError,
    StepNotRunError,
)
from .fingerprint import ChangeReason, StepChange, StepPrint, compare_prints, workflow_prints
from .fresh_load import FreshLoad, SavedFiles, load_fresh, watched_files
from .nested import SteppedInto
from .reload import ReloadReport
from .state import ContextView, Snapshot, SnapshotDiff, SnapshotKind

__all__ = [
    "Breakpoint",
    "BreakpointError",
    "ChangeReason",
    "ChildActiveError",
    "Condition",
    "ConditionSyntaxError",
    "ContextView",
    "EndOfWorkflowError",
    "ExpressionCondition",
    "FreshLoad",
    "InvalidEditError",
    "NoWorkflowLoadedError",
    "NothingStaleError",
    "Pause",
    "PlaygroundError",
    "PlaygroundStepError",
    "RecordedRun",
    "RecordedRunError",
    "ReloadError",
    "ReloadReport",
    "RetryStoredError",
    "RunHaltedError",
    "RunSource",
    "SavedFiles",
    "Snapshot",
    "SnapshotDiff",
    "SnapshotIndexError",
    "SnapshotKind",
    "StartOfHistoryError",
    "StepChange",
    "StepIntoError",
    "StepNotReadyError",
    "StepNotRunError",
    "StepPrint",
    "SteppedInto",
    "StopReason",
    "WorkflowPlayground",
    "compare_prints",
    "expression_condition",
    "load_fresh",
    "watched_files",
    "workflow_prints",
]
