"""The run lifecycle: which status a run may move to from which, and the event that moves it.

One table, read by the recorder (the only writer of runs) and by ``RunControl`` (which
refuses a request that does not fit the run's state, naming that state). See the state
diagram in ``docs/architecture.md``.

``pending`` is a run whose row exists and that has not started; it is skipped (its partition
already completed, or its concurrency policy says so), queued for a slot, or started.
``interrupted`` is set by whoever notices that the process running a live run is gone; a
``resume`` starts the same run again. Finished runs (completed, skipped) never change; failed,
cancelled and interrupted ones may be resumed (same id) or retried (a new, linked run).
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import WorkflowError
from .results import RunStatus

S = RunStatus

#: live statuses: a process is behind the run and it may receive commands
LIVE = (S.RUNNING, S.PAUSED, S.WAITING, S.QUEUED, S.PENDING)
#: statuses that hold one of the workflow's concurrency slots
HOLDS_SLOT = (S.RUNNING, S.PAUSED, S.WAITING)
#: stopped runs a ``resume`` may continue under the same id
RESUMABLE = (S.FAILED, S.CANCELLED, S.INTERRUPTED)
#: stopped runs a ``retry`` may re-run from their failed step as a new run
RETRYABLE = RESUMABLE

#: status -> statuses it may move to, and the event that moves it there
TRANSITIONS: dict[RunStatus, dict[RunStatus, str]] = {
    S.PENDING: {S.QUEUED: "RunQueued", S.RUNNING: "RunStarted", S.SKIPPED: "RunSkipped",
                S.CANCELLED: "RunFinished", S.FAILED: "RunFinished",
                S.INTERRUPTED: "RunInterrupted"},
    S.QUEUED: {S.RUNNING: "RunStarted", S.SKIPPED: "RunSkipped", S.CANCELLED: "RunFinished",
               S.FAILED: "RunFinished", S.INTERRUPTED: "RunInterrupted"},
    S.RUNNING: {S.PAUSED: "RunPaused", S.WAITING: "RunWaiting", S.COMPLETED: "RunFinished",
                S.FAILED: "RunFinished", S.CANCELLED: "RunFinished",
                S.INTERRUPTED: "RunInterrupted"},
    S.PAUSED: {S.RUNNING: "RunResumed", S.WAITING: "RunWaiting", S.COMPLETED: "RunFinished",
               S.FAILED: "RunFinished", S.CANCELLED: "RunFinished",
               S.INTERRUPTED: "RunInterrupted"},
    S.WAITING: {S.RUNNING: "RunResumed", S.PAUSED: "RunPaused", S.COMPLETED: "RunFinished",
                S.FAILED: "RunFinished", S.CANCELLED: "RunFinished",
                S.INTERRUPTED: "RunInterrupted"},
    # a resume starts the same run again; an interrupted run whose process was only slow
    # (its lease lapsed) may still report its own end
    S.FAILED: {S.PENDING: "RunPending", S.RUNNING: "RunStarted"},
    S.CANCELLED: {S.PENDING: "RunPending", S.RUNNING: "RunStarted"},
    S.INTERRUPTED: {S.PENDING: "RunPending", S.RUNNING: "RunStarted",
                    S.COMPLETED: "RunFinished", S.FAILED: "RunFinished",
                    S.CANCELLED: "RunFinished"},
    S.COMPLETED: {},
    S.SKIPPED: {},
}


class IllegalTransitionError(WorkflowError):
    """A request does not fit the run's state (resume a completed run, approve a run that
    waits for nothing); the message names the run's state and what is allowed."""


def can_move(current: RunStatus | str, target: RunStatus | str) -> bool:
    return S(target) in TRANSITIONS[S(current)]


def sources_of(target: RunStatus) -> tuple[str, ...]:
    """Every status a run may reach ``target`` from (as SQL parameters)."""
    return tuple(sorted(s.value for s, moves in TRANSITIONS.items() if target in moves))


def require(run_id: str, current: RunStatus | str, allowed: Iterable[RunStatus],
            action: str, error: type[Exception] = IllegalTransitionError) -> None:
    """Raise ``error`` unless ``current`` is one of ``allowed``, naming the run's state."""
    allowed = tuple(allowed)
    if S(current) not in allowed:
        values = [s.value for s in allowed]
        names = ", ".join(values[:-1]) + " or " + values[-1] if len(values) > 1 else values[0]
        raise error(f"run {run_id} is {S(current).value}; only {names} runs can be {action}")
