"""``RunControl``: pause, resume, cancel, approve, reject, retry and replay stored runs from
any process — the library behind ``spine-engine pause|resume|cancel|retry|approve|reject``.

Commands are rows in the store's ``control`` table; the process running the run applies them
within ``POLL_SECONDS`` (see ``engine.store.commands``). Approvals are decided in the
``approvals`` table, first decision wins.
"""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..results import RunStatus
from .commands import (
    CANCEL,
    IN_FLIGHT,
    PAUSE,
    POLL_SECONDS,
    RESUME,
    STALLABLE,
    ApprovalRecord,
    RunControlError,
    pending_commands,
    send_command,
)
from .db import Database
from .records import RunRecord
from .runs import RunStore, reap_dead_runs

if TYPE_CHECKING:
    from ..results import WorkflowResult

__all__ = ["POLL_SECONDS", "ApprovalRecord", "RunControl", "RunControlError"]


class RunControl:
    """Control stored runs from any process: the library behind ``spine-engine pause`` etc.

    Commands are requests: ``pause``/``cancel`` return the run as it was when asked, and the
    running process acts within ``POLL_SECONDS``; ``wait()`` blocks until a status shows.
    ``store`` is a path, a ``Database`` or a ``RunStore`` (default ``$SPINE_DB``).
    """

    def __init__(self, store: str | Path | Database | RunStore | None = None) -> None:
        self.store = store if isinstance(store, RunStore) else RunStore(store)
        self.db = self.store.db

    def status(self, run_id: str) -> RunRecord:
        """The run (id or unique prefix), after marking it interrupted if its process died."""
        record = self.store.get_run(run_id)
        if record.status.value in STALLABLE and reap_dead_runs(self.db, record.run_id):
            record = self.store.get_run(record.run_id)
        return record

    def pause(self, run_id: str) -> RunRecord:
        """Ask a run to start no new step until ``resume_paused``; running steps finish."""
        record = self.status(run_id)
        if record.status is RunStatus.PAUSED:
            return record
        self._require(record, (RunStatus.RUNNING, RunStatus.WAITING, RunStatus.QUEUED), "paused")
        send_command(self.db, record.run_id, PAUSE)
        return record

    def resume_paused(self, run_id: str) -> RunRecord:
        """Let a paused run start steps again (a crashed run continues with ``resume``)."""
        record = self.status(run_id)
        if record.status is not RunStatus.PAUSED and not (
                record.status.value in (*IN_FLIGHT, RunStatus.QUEUED.value)
                and pending_commands(self.db, record.run_id, PAUSE)):
            hint = ("; `spine-engine resume` (TrackedWorkflowRunner.resume) continues a run "
                    "that stopped") if record.status in (RunStatus.INTERRUPTED,
                                                         RunStatus.FAILED) else ""
            raise RunControlError(f"run {record.run_id} is {record.status.value}, "
                                  f"not paused{hint}")
        send_command(self.db, record.run_id, RESUME)
        return record

    def cancel(self, run_id: str) -> RunRecord:
        """Ask a run to stop: nothing new starts, a paused, waiting or queued run ends now."""
        record = self.status(run_id)
        self._require(record, (RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.WAITING,
                               RunStatus.QUEUED), "cancelled")
        send_command(self.db, record.run_id, CANCEL)
        return record

    def wait(self, run_id: str, statuses: Iterable[str] | None = None,
             timeout: float | None = None, poll: float = 0.05) -> RunRecord:
        """Block until the run reaches one of ``statuses`` (default: any final status)."""
        wanted = {RunStatus(s) for s in statuses} if statuses is not None else None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self.status(run_id)
            if (record.status in wanted) if wanted is not None else record.status.is_terminal:
                return record
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"run {record.run_id} is still {record.status.value} "
                                   f"after {timeout:g}s")
            time.sleep(poll)

    # ------------------------------------------------------------------ approvals
    def approve(self, run_id: str, step: str, by: str | None = None,
                comment: str | None = None) -> ApprovalRecord:
        """Approve a waiting approval step; the run continues within ``POLL_SECONDS``."""
        return self._decide(run_id, step, "approved", by, comment)

    def reject(self, run_id: str, step: str, by: str | None = None,
               comment: str | None = None) -> ApprovalRecord:
        """Reject a waiting approval step: it fails with category REJECTED."""
        return self._decide(run_id, step, "rejected", by, comment)

    def approvals(self, run_id: str | None = None,
                  status: str | None = "pending") -> list[ApprovalRecord]:
        """Approval requests, newest first, optionally of one run and/or one status."""
        clauses, params = [], []
        if run_id:
            clauses.append("a.run_id = ?")
            params.append(self.store.get_run(run_id).run_id)
        if status:
            clauses.append("a.status = ?")
            params.append(status)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.query("SELECT a.*, r.workflow, r.status AS run_status FROM approvals a "
                             f"LEFT JOIN runs r ON r.run_id = a.run_id {where} "
                             "ORDER BY a.requested_at DESC", params)
        return [ApprovalRecord.from_row(r) for r in rows]

    def _decide(self, run_id: str, step: str, status: str, by: str | None,
                comment: str | None) -> ApprovalRecord:
        record = self.store.get_run(run_id)
        who = by or _current_user()
        with self.db.transaction() as conn:
            row = conn.execute("SELECT status, decided_by FROM approvals WHERE run_id = ? "
                               "AND step = ?", (record.run_id, step)).fetchone()
            if row is None or row[0] != "pending":
                waiting = [r[0] for r in conn.execute(
                    "SELECT step FROM approvals WHERE run_id = ? AND status = 'pending'",
                    (record.run_id,))]
                listed = (f"waiting for approval: {', '.join(waiting)}" if waiting
                          else "no step of it is waiting for approval")
                if row is None:
                    problem = f"run {record.run_id} has no approval step {step!r}"
                else:
                    by_whom = f" by {row[1]}" if row[1] else ""
                    problem = f"approval {step!r} of run {record.run_id} is already {row[0]}{by_whom}"
                raise RunControlError(f"{problem}; {listed}")
            conn.execute("UPDATE approvals SET status = ?, decided_at = ?, decided_by = ?, "
                         "comment = ? WHERE run_id = ? AND step = ?",
                         (status, time.time(), who, comment, record.run_id, step))
        rows = self.db.query("SELECT a.*, r.workflow, r.status AS run_status FROM approvals a "
                             "JOIN runs r ON r.run_id = a.run_id WHERE a.run_id = ? "
                             "AND a.step = ?", [record.run_id, step])
        return ApprovalRecord.from_row(rows[0])

    # ------------------------------------------------------------------ re-execution
    def retry(self, run_id: str, workflow: Any, **options: Any) -> WorkflowResult:
        """Re-run a failed, cancelled or interrupted run from its failed step as a new run
        (see ``TrackedWorkflowRunner.retry``)."""
        from ..tracked import TrackedWorkflowRunner

        with TrackedWorkflowRunner(self.store) as runner:
            return runner.retry(run_id, workflow, **options)

    def replay_step(self, run_id: str, step: str, workflow: Any) -> WorkflowResult:
        """Run one step of a stored run again as a new one-step run (see
        ``TrackedWorkflowRunner.replay_step``)."""
        from ..tracked import TrackedWorkflowRunner

        with TrackedWorkflowRunner(self.store) as runner:
            return runner.replay_step(run_id, step, workflow)

    def origin(self, run_id: str) -> dict[str, Any] | None:
        """Where a retry or replay run came from: ``{"kind", "run_id", "step"}``, else None."""
        record = self.store.get_run(run_id)
        row = self.db.query("SELECT kind, data FROM events WHERE run_id = ? AND kind IN "
                            "('retry_of', 'replay_of') ORDER BY seq LIMIT 1", [record.run_id])
        if not row:
            return None
        data = json.loads(row[0]["data"] or "{}")
        return {"kind": row[0]["kind"].removesuffix("_of"), "run_id": data.get("run_id"),
                "step": data.get("step")}

    @staticmethod
    def _require(record: RunRecord, allowed: tuple[RunStatus, ...], verb: str) -> None:
        if record.status not in allowed:
            names = ", ".join(s.value for s in allowed)
            raise RunControlError(f"run {record.run_id} is {record.status.value}; only "
                                  f"{names} runs can be {verb}")

    def close(self) -> None:
        self.store.close()


def _current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"
