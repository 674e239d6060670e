"""Dead letters in the run store: the only writer of the ``dead_letters`` table.

A dead letter is a payload that could not be processed, kept with its error so it can be
looked at, replayed or purged later. Replaying claims an item first (``replayed_at`` set from
NULL in one ``UPDATE``), so two processes replaying the same queue never both take an item;
a replay that fails hands the item back (``release``) with the new error and one more
attempt. Purging is a soft delete (``purged_at``): the row stays for the audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ..serialization import to_json
from .db import Database
from .records import to_datetime
from .schema import StoreError

LetterStatus = Literal["pending", "replayed", "purged"]


class UnknownDeadLetterError(StoreError, LookupError):
    """No dead letter has that id."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One stored dead letter; times are unix seconds (``created`` etc. as datetimes)."""

    id: int
    queue: str
    payload: Any
    error: str | None = None
    error_category: str | None = None
    run_id: str | None = None
    workflow: str | None = None
    step: str | None = None
    attempts: int = 0
    created_at: float = 0.0
    replayed_at: float | None = None
    replay_run_id: str | None = None
    purged_at: float | None = None

    @property
    def status(self) -> LetterStatus:
        """``purged`` once purged, else ``replayed`` once replayed, else ``pending``."""
        if self.purged_at is not None:
            return "purged"
        return "replayed" if self.replayed_at is not None else "pending"

    @property
    def created(self) -> datetime | None:
        return to_datetime(self.created_at)

    @property
    def replayed(self) -> datetime | None:
        return to_datetime(self.replayed_at)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DeadLetter:
        return cls(id=row["id"], queue=row["queue"], payload=json.loads(row["payload"]),
                   error=row["error"], error_category=row["error_category"],
                   run_id=row["run_id"], workflow=row["workflow"], step=row["step"],
                   attempts=row["attempts"], created_at=row["created_at"],
                   replayed_at=row["replayed_at"], replay_run_id=row["replay_run_id"],
                   purged_at=row["purged_at"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, times as ISO 8601 (UTC), for ``--json`` and the HTTP API."""
        def iso(value: float | None) -> str | None:
            moment = to_datetime(value)
            return moment.isoformat() if moment else None

        return {"id": self.id, "queue": self.queue, "status": self.status,
                "payload": self.payload, "error": self.error,
                "error_category": self.error_category, "run_id": self.run_id,
                "workflow": self.workflow, "step": self.step, "attempts": self.attempts,
                "created_at": iso(self.created_at), "replayed_at": iso(self.replayed_at),
                "replay_run_id": self.replay_run_id, "purged_at": iso(self.purged_at)}


def insert(db: Database, queue: str, payload: Any, *, error: str | None,
           error_category: str | None, run_id: str | None, workflow: str | None,
           step: str | None, attempts: int, now: float) -> DeadLetter:
    """Store a new dead letter (``payload`` must be JSON-serialisable) and return it."""
    text = to_json(payload)
    with db.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO dead_letters (queue, run_id, workflow, step, payload, error, "
            "error_category, attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (queue, run_id, workflow, step, text, error, error_category, attempts, now))
        new_id = cursor.lastrowid
    assert new_id is not None
    return get(db, new_id)


def get(db: Database, letter_id: int) -> DeadLetter:
    rows = db.query("SELECT * FROM dead_letters WHERE id = ?", [letter_id])
    if not rows:
        raise UnknownDeadLetterError(f"no dead letter with id {letter_id} in {db.path}; "
                                     "`spine-engine dlq list` shows the stored ones")
    return DeadLetter.from_row(rows[0])


def select(db: Database, *, queue: str | None = None, include_replayed: bool = False,
           include_purged: bool = False, limit: int | None = 100,
           ids: Sequence[int] | None = None) -> list[DeadLetter]:
    """Dead letters in queue order (oldest first), optionally of one queue; pending ones
    unless replayed (and purged) ones are asked for too."""
    clauses: list[str] = []
    params: list[Any] = []
    if queue is not None:
        clauses.append("queue = ?")
        params.append(queue)
    if not include_purged:
        clauses.append("purged_at IS NULL")
    if not include_replayed:
        clauses.append("replayed_at IS NULL")
    if ids is not None:
        clauses.append(f"id IN ({', '.join('?' * len(ids))})" if ids else "0")
        params.extend(ids)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"SELECT * FROM dead_letters {where} ORDER BY created_at, id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [DeadLetter.from_row(r) for r in db.query(sql, params)]


def queue_counts(db: Database) -> dict[str, int]:
    """Pending dead letters per queue, by queue name."""
    rows = db.query("SELECT queue, count(*) AS n FROM dead_letters WHERE purged_at IS NULL "
                    "AND replayed_at IS NULL GROUP BY queue ORDER BY queue")
    return {r["queue"]: r["n"] for r in rows}


def claim(db: Database, letter_id: int, now: float) -> bool:
    """Take a pending item for replay; False when it is replayed, purged or taken already."""
    with db.transaction() as conn:
        return bool(conn.execute(
            "UPDATE dead_letters SET replayed_at = ? WHERE id = ? AND replayed_at IS NULL "
            "AND purged_at IS NULL", (now, letter_id)).rowcount)


def record_replay(db: Database, letter_id: int, run_id: str | None) -> None:
    """Note the run a claimed item's replay started (None: replayed by a function)."""
    with db.transaction() as conn:
        conn.execute("UPDATE dead_letters SET replay_run_id = ?, attempts = attempts + 1 "
                     "WHERE id = ?", (run_id, letter_id))


def release(db: Database, letter_id: int, error: str, error_category: str | None, *,
            counted: bool = False) -> None:
    """Hand a claimed item back after its replay failed, with that failure as its error
    (``counted``: ``record_replay`` already counted this attempt)."""
    with db.transaction() as conn:
        conn.execute("UPDATE dead_letters SET replayed_at = NULL, replay_run_id = NULL, "
                     "attempts = attempts + ?, error = ?, error_category = ? WHERE id = ?",
                     (0 if counted else 1, error, error_category, letter_id))


def purge(db: Database, *, queue: str | None, before: float | None,
          ids: Sequence[int] | None, now: float) -> int:
    """Soft-delete matching items not purged yet (replayed ones too); returns how many."""
    clauses = ["purged_at IS NULL"]
    params: list[Any] = [now]
    if queue is not None:
        clauses.append("queue = ?")
        params.append(queue)
    if before is not None:
        clauses.append("created_at < ?")
        params.append(before)
    if ids is not None:
        clauses.append(f"id IN ({', '.join('?' * len(ids))})" if ids else "0")
        params.extend(ids)
    with db.transaction() as conn:
        return conn.execute(f"UPDATE dead_letters SET purged_at = ? WHERE "
                            f"{' AND '.join(clauses)}", params).rowcount
