"""Run control as the running process sees it: commands, approvals and status in the store.

Any process writes a command row into ``control`` (see ``engine.store.control.RunControl``);
the process running the run polls its in-flight runs' pending commands with one indexed
query every ``POLL_SECONDS`` on a background thread (``ControlPoller``, never per step) and
flips the run's in-memory ``TrackedRunSignals``. Approval decisions are rows in
``approvals``: the waiting step polls its own row, and the first decision wins. Statuses a
user sees in the store: ``paused`` as soon as the pause is handled (steps already running
finish, nothing new starts), ``waiting`` while an approval step waits, back to ``running``
after.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..policies import ErrorCategory
from ..results import RunStatus, StepResult
from ..signals import RunSignals, auto_approval
from .db import Database
from .records import to_datetime
from .schema import StoreError

if TYPE_CHECKING:
    from ..context import WorkflowContext
    from ..steps import Step

logger = logging.getLogger("engine.store.commands")
run_logger = logging.getLogger("spine.run")  # captured into the step's log lines

#: How often a tracked process reads pending commands and a waiting approval its row.
POLL_SECONDS = 0.2
PAUSE, RESUME, CANCEL = "pause", "resume", "cancel"
#: statuses of a run that holds a concurrency slot and may receive commands
IN_FLIGHT = (RunStatus.RUNNING.value, RunStatus.PAUSED.value, RunStatus.WAITING.value)
#: statuses the run store's own reaper does not cover (it only looks at ``running``)
STALLABLE = (RunStatus.PAUSED.value, RunStatus.WAITING.value, RunStatus.QUEUED.value)


class RunControlError(StoreError):
    """A control request does not fit the run's state (cancel a finished run, ...)."""


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """One approval request of one run's approval step, and its decision if made."""

    run_id: str
    step: str
    status: str  # pending | approved | rejected | expired | cancelled
    message: str | None = None
    requested_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    comment: str | None = None
    workflow: str | None = None
    run_status: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ApprovalRecord:
        return cls(run_id=row["run_id"], step=row["step"], status=row["status"],
                   message=row.get("message"), requested_at=to_datetime(row.get("requested_at")),
                   decided_at=to_datetime(row.get("decided_at")),
                   decided_by=row.get("decided_by"), comment=row.get("comment"),
                   workflow=row.get("workflow"), run_status=row.get("run_status"))

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {"run_id": self.run_id, "step": self.step, "status": self.status,
                "message": self.message, "requested_at": iso(self.requested_at),
                "decided_at": iso(self.decided_at), "decided_by": self.decided_by,
                "comment": self.comment, "workflow": self.workflow,
                "run_status": self.run_status}


# ---------------------------------------------------------------------- store helpers
def send_command(db: Database, run_id: str, command: str) -> int:
    """Queue ``command`` for a run; returns the command's id."""
    with db.transaction() as conn:
        cursor = conn.execute("INSERT INTO control (run_id, command, requested_at) "
                              "VALUES (?, ?, ?)", (run_id, command, time.time()))
        return int(cursor.lastrowid or 0)


def pending_commands(db: Database, run_id: str, command: str | None = None) -> list[int]:
    """Ids of the run's unhandled commands (of one kind, if given)."""
    sql = "SELECT id FROM control WHERE run_id = ? AND handled_at IS NULL"
    params: list[Any] = [run_id]
    if command:
        sql += " AND command = ?"
        params.append(command)
    return [int(r[0]) for r in db.connection().execute(sql, params).fetchall()]


def mark_handled(db: Database, ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        with db.transaction() as conn:
            conn.executemany("UPDATE control SET handled_at = ? WHERE id = ?",
                             [(time.time(), i) for i in ids])


def discard_commands(db: Database, run_id: str) -> None:
    """Drop commands left over from an earlier attempt, so a resumed run does not obey them."""
    with db.transaction() as conn:
        conn.execute("UPDATE control SET handled_at = ? WHERE run_id = ? AND handled_at IS NULL",
                     (time.time(), run_id))


def set_status(db: Database, run_id: str, status: str) -> None:
    """Move an in-flight run between running/paused/waiting; never touches a finished run."""
    with db.transaction() as conn:
        conn.execute(f"UPDATE runs SET status = ? WHERE run_id = ? AND status IN "
                     f"({', '.join('?' * len(IN_FLIGHT))})", (status, run_id, *IN_FLIGHT))


def append_event(conn: Any, run_id: str, kind: str, data: dict[str, Any],
                 step: str | None = None) -> None:
    """Add an event row to a run no recorder is writing right now (before start or after end)."""
    seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE run_id = ?",
                       (run_id,)).fetchone()[0]
    conn.execute("INSERT INTO events (run_id, seq, kind, step, at, data) VALUES (?, ?, ?, ?, ?, ?)",
                 (run_id, seq, kind, step, time.time(), json.dumps(data)))


# ---------------------------------------------------------------------- run side
class TrackedRunSignals(RunSignals):
    """``RunSignals`` of a tracked run: mirrors pause/wait into the store, waits for approvals
    decided from any process."""

    def __init__(self, db: Database, run_id: str, cancel_event: threading.Event | None = None,
                 poll_interval: float = POLL_SECONDS) -> None:
        super().__init__(cancel_event)
        self.db = db
        self.run_id = run_id
        self.poll_interval = poll_interval
        self._waiting = 0  # approval steps waiting right now

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
            self._write_status()

    def resume(self) -> None:
        with self._cond:
            super().resume()
            self._write_status()

    def on_hold(self) -> None:
        self._write_status()  # re-asserted: a pause handled before the run row existed

    def _write_status(self) -> None:
        status = "paused" if self.paused else "waiting" if self._waiting else "running"
        set_status(self.db, self.run_id, status)

    # ------------------------------------------------------------------ approvals
    def await_approval(self, step: Step, ctx: WorkflowContext) -> StepResult:
        """Record a pending approval and wait for its decision, a timeout or a cancel."""
        gate, run_id, name = step.gate, ctx.run_id, step.name
        message = gate.message if gate else ""
        context = gate.context(ctx) if gate else {}
        auto = auto_approval(step)
        if auto is not None:
            _record_auto(self.db, run_id, name, message, auto.output["env"])
            return auto
        decided = _request(self.db, run_id, name, message)
        if decided is not None:  # approved while this run was not running (then resumed)
            return _approved(decided, context)
        approvers = f" (approvers: {', '.join(gate.approvers)})" if gate and gate.approvers else ""
        details = f"; {json.dumps(context, default=str)}" if context else ""
        run_logger.info("waiting for approval%s: %s%s — `spine-engine approve %s %s`",
                        approvers, message or name, details, run_id, name)
        cancel = ctx.cancel_event or self.cancel_event
        with self._cond:
            self._waiting += 1
            self._write_status()
        try:
            return self._wait_for_decision(step, run_id, cancel, context)
        finally:
            with self._cond:
                self._waiting -= 1
                self._write_status()

    def _wait_for_decision(self, step: Step, run_id: str, cancel: threading.Event,
                           context: dict[str, Any]) -> StepResult:
        name, timeout = step.name, step.timeout_seconds
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            row = self.db.query("SELECT * FROM approvals WHERE run_id = ? AND step = ?",
                                [run_id, name])
            decision = ApprovalRecord.from_row(row[0]) if row else None
            if decision is not None and decision.status == "approved":
                return _approved(decision, context)
            if decision is not None and decision.status == "rejected":
                why = f": {decision.comment}" if decision.comment else ""
                return StepResult.fail(
                    f"approval {name!r} rejected by {decision.decided_by or 'someone'}{why}",
                    category=ErrorCategory.REJECTED)
            if cancel.is_set():
                _close_request(self.db, run_id, name, "cancelled")
                return StepResult.fail(f"approval {name!r}: the run was cancelled while "
                                       "waiting", category=ErrorCategory.CANCELLED)
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0 and _close_request(self.db, run_id, name,
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


def _request(db: Database, run_id: str, step: str, message: str) -> ApprovalRecord | None:
    """Open (or re-open) the request; an approval already given is returned instead."""
    with db.transaction() as conn:
        row = conn.execute("SELECT status, decided_by, comment, decided_at FROM approvals "
                           "WHERE run_id = ? AND step = ?", (run_id, step)).fetchone()
        if row is not None and row[0] == "approved":
            return ApprovalRecord(run_id, step, "approved", decided_by=row[1], comment=row[2],
                                  decided_at=to_datetime(row[3]))
        conn.execute("""INSERT INTO approvals (run_id, step, status, message, requested_at)
                        VALUES (?, ?, 'pending', ?, ?)
                        ON CONFLICT (run_id, step) DO UPDATE SET status = 'pending',
                            message = excluded.message, requested_at = excluded.requested_at,
                            decided_at = NULL, decided_by = NULL, comment = NULL""",
                     (run_id, step, message, time.time()))
    return None


def _record_auto(db: Database, run_id: str, step: str, message: str, env: str) -> None:
    now = time.time()
    with db.transaction() as conn:
        conn.execute("INSERT OR REPLACE INTO approvals (run_id, step, status, message, "
                     "requested_at, decided_at, decided_by, comment) "
                     "VALUES (?, ?, 'approved', ?, ?, ?, 'auto', ?)",
                     (run_id, step, message, now, now, f"auto-approved: SPINE_ENV={env}"))


def _close_request(db: Database, run_id: str, step: str, status: str) -> bool:
    """End a still-pending request; False when a decision landed first."""
    with db.transaction() as conn:
        cursor = conn.execute("UPDATE approvals SET status = ?, decided_at = ? "
                              "WHERE run_id = ? AND step = ? AND status = 'pending'",
                              (status, time.time(), run_id, step))
        return cursor.rowcount > 0


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

    def poll_once(self) -> int:
        """Apply pending commands of watched runs; returns how many were applied."""
        with self._lock:
            runs = dict(self._runs)
        if not runs:
            return 0
        marks = ", ".join("?" * len(runs))
        rows = self.db.connection().execute(
            f"SELECT id, run_id, command FROM control WHERE handled_at IS NULL "
            f"AND run_id IN ({marks}) ORDER BY id", list(runs)).fetchall()
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
