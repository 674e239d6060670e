"""Errors the playground raises on bad requests; each leaves the playground as it was."""

from __future__ import annotations

from typing import Any

from ..errors import UnknownStepError, WorkflowError


class PlaygroundError(WorkflowError):
    """Base class: a playground request that cannot be carried out in the current state."""


class NoWorkflowLoadedError(PlaygroundError):
    """A step or edit was requested before ``load()`` or ``load_run()``."""


class EndOfWorkflowError(PlaygroundError):
    """``step()`` was asked for a step but every step has already run."""


class RunHaltedError(PlaygroundError):
    """A failed step stops the run, so no further step may start until it is fixed."""


class StartOfHistoryError(PlaygroundError):
    """A rewind would go back before the snapshot taken at load."""


class SnapshotIndexError(PlaygroundError):
    """``goto``/``diff`` named a snapshot that is not on the current timeline."""


class PlaygroundStepError(PlaygroundError, UnknownStepError):
    """A step name the loaded workflow does not have (also an ``UnknownStepError``)."""


class StepNotRunError(PlaygroundError):
    """``set_output``/``rerun`` named a step that has no result yet."""


class StepNotReadyError(PlaygroundError):
    """A named step cannot run now: it already ran, or a dependency has not run yet."""


class InvalidEditError(PlaygroundError):
    """An edit carries a value the engine cannot hold (bad param key, non-JSON output)."""


class StepIntoError(PlaygroundError):
    """``step_into`` on a step that is not a sub-workflow or map, or whose inputs are bad."""


class ChildActiveError(PlaygroundError):
    """The playground is inside a stepped-into child; finish or abandon it first."""


class BreakpointError(PlaygroundError):
    """A breakpoint is malformed, or its condition raised while being checked."""


class RecordedRunError(PlaygroundError):
    """A persisted run does not match its workflow definition or is not a run at all."""


class ReloadError(PlaygroundError):
    """An edited definition that cannot replace the session's: it does not load (``errors``
    holds the file:line ``LoadError``s the catalog shows), names another workflow, misses a
    pipeline, or drops the step being inspected. The session stays on its last good one."""

    def __init__(self, message: str, errors: tuple[Any, ...] = ()) -> None:
        super().__init__(message)
        self.errors = errors


class NothingStaleError(PlaygroundError):
    """``continue_stale`` was asked for, but no step's record predates an edit."""


class RetryStoredError(PlaygroundError):
    """``retry_stored`` cannot start: no stored run is open, or the retry would reuse a stored
    output that the edit changed."""
