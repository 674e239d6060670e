"""Run control as the running process sees it: commands from the store flip a tracked run's
signals, and its pause, approval waits and resumes become lifecycle events.

``ControlPoller`` reads the pending commands of every run this process has in flight with
one indexed query every ``POLL_SECONDS`` on a background thread (never per step) and applies
them to the run's ``TrackedRunSignals``. Those emit ``RunPaused`` (as soon as the pause is
handled: steps already running finish, nothing new starts), ``RunWaiting`` while an approval
step waits and ``RunResumed`` after; the recorder writes them like any other event.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..events import Event, RunPaused, RunResumed, RunWaiting
from ..ids import now
from ..policies import ErrorCategory
from ..results import RunStatus, StepResult
from ..signals import RunSignals, auto_approval
from ..store.control_inbox import (
    CANCEL,
    PAUSE,
    POLL_SECONDS,
    RESUME,
    close_request,
    mark_handled,
    open_request,
    pending_for,
    read_decision,
    record_auto_approval,
)
from ..store.db import Database
from ..store.records import ApprovalRecord

if TYPE_CHECKING:
    from ..context import WorkflowContext
    from ..steps import Step

logger = logging.getLogger("engine.tracking.signals")
run_logger = logging.getLogger("spine.run")  # captured into the step's log lines


class TrackedRunSignals(RunSignals):
    """``RunSignals`` of a tracked run: announces pause/wait/resume as events and waits for
    approvals decided from any process."""

    def __init__(self, db: Database, run_id: str, workflow: str, emit: Callable[[Event], None],
                 cancel_event: threading.Event | None = None,
                 poll_interval: float = POLL_SECONDS) -> None:
        super().__init__(cancel_event)
        self.db = db
        self.run_id = run_id
        self.workflow = workflow
        self.poll_interval = poll_interval
        self._emit = emit
        self._waiting: list[str] = []  # approval steps waiting right now
        self._announced = RunStatus.RUNNING

    def apply(self, command: str) -> None:
        """Act on a command read from the store (called by the poller thread)."""
        if command == CANCEL:
            self.cancel()
        elif command == PAUSE:
            self.pause()
        elif command == RESUME:
            self.resume()
        else:
            logger.warning("run %s: ignoring unknown control command %r", self.run_id, command)

    def pause(self) -> None:
        with self._cond:
            super().pause()
            self._announce()

    def resume(self) -> None:
        with self._cond:
            super().resume()
            self._announce()

    def on_hold(self) -> None:
        self._announce(again=True)  # a pause handled before the run's row said running

    def _announce(self, again: bool = False) -> None:
        """Emit the event for the run's state now, if it changed (caller holds the lock)."""
        status = (RunStatus.PAUSED if self.paused else
                  RunStatus.WAITING if self._waiting else RunStatus.RUNNING)
        if status is self._announced and not again:
            return
        self._announced = status
        fields: dict[str, Any] = {"run_id": self.run_id, "workflow": self.workflow, "at": now()}
        if status is RunStatus.PAUSED:
            self._emit(RunPaused(**fields))
        elif status is RunStatus.WAITING:
            self._emit(RunWaiting(**fields, steps=tuple(self._waiting)))
        else:
            self._emit(RunResumed(**fields))

    # ------------------------------------------------------------------ approvals
    def await_approval(self, step: Step, ctx: WorkflowContext) -> StepResult:
        """Record a pending approval and wait for its decision, a timeout or a cancel."""
        gate, run_id, name = step.gate, ctx.run_id, step.name
        message = gate.message if gate else ""
        context = gate.context(ctx) if gate else {}
        auto = auto_approval(step)
        if auto is not None:
            record_auto_approval(self.db, run_id, name, message, auto.output["env"])
            return auto
        decided = open_request(self.db, run_id, name, message)
        if decided is not None:  # approved while this run was not running (then resumed)
            return _approved(decided, context)
        approvers = f" (approvers: {', '.join(gate.approvers)})" if gate and gate.approvers else ""
        details = f"; {json.dumps(context, default=str)}" if context else ""
        run_logger.info("waiting for approval%s: %s%s — `spine-engine approve %s %s`",
                        approvers, message or name, details, run_id, name)
        cancel = ctx.cancel_event or self.cancel_event
        with self._cond:
            self._waiting.append(name)
            self._announce()
        try:
            return self._wait_for_decision(step, run_id, cancel, context)
        finally:
            with self._cond:
                self._waiting.remove(name)
                self._announce()

    def _wait_for_decision(self, step: Step, run_id: str, cancel: threading.Event,
                           context: dict[str, Any]) -> StepResult:
        name, timeout = step.name, step.timeout_seconds
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            decision = read_decision(self.db, run_id, name)
            if decision is not None and decision.status == "approved":
                return _approved(decision, context)
            if decision is not None and decision.status == "rejected":
                why = f": {decision.comment}" if decision.comment else ""
                return StepResult.fail(
                    f"approval {name!r} rejected by {decision.decided_by or 'someone'}{why}",
                    category=ErrorCategory.REJECTED)
            if cancel.is_set():
                close_request(self.db, run_id, name, "cancelled")
                return StepResult.fail(f"approval {name!r}: the run was cancelled while "
                                       "waiting", category=ErrorCategory.CANCELLED)
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0 and close_request(self.db, run_id, name,
                                                                  "expired"):
                return StepResult.fail(f"approval {name!r} was not decided within "
                                       f"{timeout:g}s", category=ErrorCategory.TIMEOUT)
            cancel.wait(self.poll_interval if left is None
                        else max(0.0, min(self.poll_interval, left)))


def _approved(decision: ApprovalRecord, context: dict[str, Any]) -> StepResult:
    output: dict[str, Any] = {"approved": True, "by": decision.decided_by}
    if decision.comment:
        output["comment"] = decision.comment
    if context:
        output["context"] = context
    return StepResult.ok(output=output)


class ControlPoller:
    """A daemon thread that applies stored commands to this process's in-flight runs.

    One query per ``interval`` covers every watched run (the partial index on pending
    commands keeps it cheap); with no run in flight the thread sleeps without querying.
    """

    def __init__(self, db: Database, interval: float = POLL_SECONDS) -> None:
        self.db = db
        self.interval = interval
        self._runs: dict[str, TrackedRunSignals] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, signals: TrackedRunSignals) -> None:
        with self._lock:
            self._runs[signals.run_id] = signals
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="spine-run-control",
                                                daemon=True)
                self._thread.start()
            self._wake.set()

    def unwatch(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)

    @contextmanager
    def watching(self, signals: TrackedRunSignals) -> Iterator[TrackedRunSignals]:
        """Apply commands to ``signals`` while the block runs (a detached sub-workflow run
        outliving the run that started it is watched this way)."""
        self.watch(signals)
        try:
            yield signals
        finally:
            self.unwatch(signals.run_id)

    def poll_once(self) -> int:
        """Apply pending commands of watched runs; returns how many were applied."""
        with self._lock:
            runs = dict(self._runs)
        if not runs:
            return 0
        rows = pending_for(self.db, runs)
        if not rows:
            return 0
        mark_handled(self.db, (r[0] for r in rows))
        for _id, run_id, command in rows:
            runs[run_id].apply(command)
        return len(rows)

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:  # close() and watch() set the flags under this lock too
                idle = not self._runs and not self._stop.is_set()
                if idle:
                    self._wake.clear()
            if idle:
                self._wake.wait()
                continue
            try:
                self.poll_once()
            except Exception:  # keep polling; a broken store surfaces on the run's own writes
                logger.exception("reading run-control commands failed")
            self._stop.wait(self.interval)

    def close(self) -> None:
        with self._lock:
            self._stop.set()
            self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
