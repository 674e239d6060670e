"""The run side of run control, in the store: the commands waiting for a running process and
the approval requests its steps open.

Any process writes a command row into ``control`` (``engine.store.control_requests``); the
process running the run reads its runs' pending commands with one indexed query every
``POLL_SECONDS`` (``engine.tracking.signals.ControlPoller``, never per step). Approval steps
open a row in ``approvals`` and poll it; the first decision wins.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from .db import Database
from .records import ApprovalRecord, to_datetime

#: How often a tracked process reads pending commands and a waiting approval its row.
POLL_SECONDS = 0.2
PAUSE, RESUME, CANCEL = "pause", "resume", "cancel"


def pending_commands(db: Database, run_id: str, command: str | None = None) -> list[int]:
    """Ids of the run's unhandled commands (of one kind, if given)."""
    sql = "SELECT id FROM control WHERE run_id = ? AND handled_at IS NULL"
    params: list[Any] = [run_id]
    if command:
        sql += " AND command = ?"
        params.append(command)
    return [int(r[0]) for r in db.connection().execute(sql, params).fetchall()]


def pending_for(db: Database, run_ids: Iterable[str]) -> list[tuple[int, str, str]]:
    """``(id, run_id, command)`` of every unhandled command of these runs, oldest first."""
    ids = list(run_ids)
    marks = ", ".join("?" * len(ids))
    return [tuple(r) for r in db.connection().execute(  # type: ignore[misc]
        f"SELECT id, run_id, command FROM control WHERE handled_at IS NULL "
        f"AND run_id IN ({marks}) ORDER BY id", ids).fetchall()]


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


# ---------------------------------------------------------------------- approvals
def open_request(db: Database, run_id: str, step: str, message: str) -> ApprovalRecord | None:
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


def record_auto_approval(db: Database, run_id: str, step: str, message: str, env: str) -> None:
    now = time.time()
    with db.transaction() as conn:
        conn.execute("INSERT OR REPLACE INTO approvals (run_id, step, status, message, "
                     "requested_at, decided_at, decided_by, comment) "
                     "VALUES (?, ?, 'approved', ?, ?, ?, 'auto', ?)",
                     (run_id, step, message, now, now, f"auto-approved: SPINE_ENV={env}"))


def read_decision(db: Database, run_id: str, step: str) -> ApprovalRecord | None:
    row = db.query("SELECT * FROM approvals WHERE run_id = ? AND step = ?", [run_id, step])
    return ApprovalRecord.from_row(row[0]) if row else None


def close_request(db: Database, run_id: str, step: str, status: str) -> bool:
    """End a still-pending request; False when a decision landed first."""
    with db.transaction() as conn:
        cursor = conn.execute("UPDATE approvals SET status = ?, decided_at = ? "
                              "WHERE run_id = ? AND step = ? AND status = 'pending'",
                              (status, time.time(), run_id, step))
        return cursor.rowcount > 0
