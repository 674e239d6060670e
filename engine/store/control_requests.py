"""The asking side of run control, in the store: commands any process sends to a run, and
approval decisions. The running process reads them back (``engine.store.control_inbox``).
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..lifecycle import IllegalTransitionError
from .db import Database
from .records import ApprovalRecord
from .schema import StoreError


class RunControlError(StoreError, IllegalTransitionError):
    """A control request does not fit the run's state (cancel a finished run, ...)."""


def send_command(db: Database, run_id: str, command: str) -> int:
    """Queue ``command`` for a run; returns the command's id."""
    with db.transaction() as conn:
        cursor = conn.execute("INSERT INTO control (run_id, command, requested_at) "
                              "VALUES (?, ?, ?)", (run_id, command, time.time()))
        return int(cursor.lastrowid or 0)


def decide_approval(db: Database, run_id: str, step: str, status: str, by: str,
                    comment: str | None) -> ApprovalRecord:
    """Record the first decision of a pending approval; refuse one that waits for nothing."""
    with db.transaction() as conn:
        row = conn.execute("SELECT status, decided_by FROM approvals WHERE run_id = ? "
                           "AND step = ?", (run_id, step)).fetchone()
        if row is None or row[0] != "pending":
            waiting = [r[0] for r in conn.execute(
                "SELECT step FROM approvals WHERE run_id = ? AND status = 'pending'",
                (run_id,))]
            listed = (f"waiting for approval: {', '.join(waiting)}" if waiting
                      else "no step of it is waiting for approval")
            if row is None:
                problem = f"run {run_id} has no approval step {step!r}"
            else:
                by_whom = f" by {row[1]}" if row[1] else ""
                problem = f"approval {step!r} of run {run_id} is already {row[0]}{by_whom}"
            raise RunControlError(f"{problem}; {listed}")
        conn.execute("UPDATE approvals SET status = ?, decided_at = ?, decided_by = ?, "
                     "comment = ? WHERE run_id = ? AND step = ?",
                     (status, time.time(), by, comment, run_id, step))
    return approvals(db, run_id, step=step, status=None)[0]


def approvals(db: Database, run_id: str | None = None, status: str | None = "pending",
              step: str | None = None) -> list[ApprovalRecord]:
    """Approval requests, newest first, optionally of one run, step and/or status."""
    clauses, params = [], []
    for column, value in (("a.run_id", run_id), ("a.step", step), ("a.status", status)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = db.query("SELECT a.*, r.workflow, r.status AS run_status FROM approvals a "
                    f"LEFT JOIN runs r ON r.run_id = a.run_id {where} "
                    "ORDER BY a.requested_at DESC", params)
    return [ApprovalRecord.from_row(r) for r in rows]


def origin_of(db: Database, run_id: str) -> dict[str, Any] | None:
    """Where a retry or replay run came from: ``{"kind", "run_id", "step"}``, else None."""
    row = db.query("SELECT kind, data FROM events WHERE run_id = ? AND kind IN "
                   "('retry_of', 'replay_of') ORDER BY seq LIMIT 1", [run_id])
    if not row:
        return None
    data = json.loads(row[0]["data"] or "{}")
    return {"kind": row[0]["kind"].removesuffix("_of"), "run_id": data.get("run_id"),
            "step": data.get("step")}
