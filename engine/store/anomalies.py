"""Anomalies in the run store: the only writer of the ``anomalies`` table.

An anomaly is something a step noticed that people should look at without the run failing
(a quality score below target, a breaker that opened, records quarantined). Rows are never
deleted: resolving one sets ``resolved_at`` (once; resolving again keeps the first time).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..serialization import to_json
from .db import Database
from .records import to_datetime
from .schema import StoreError


class UnknownAnomalyError(StoreError, LookupError):
    """No anomaly has that id."""


@dataclass(frozen=True, slots=True)
class AnomalyRecord:
    """One stored anomaly; times are unix seconds (``created``/``resolved`` as datetimes)."""

    id: int
    category: str
    severity: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    workflow: str | None = None
    step: str | None = None
    created_at: float = 0.0
    resolved_at: float | None = None

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def created(self) -> datetime | None:
        return to_datetime(self.created_at)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AnomalyRecord:
        return cls(id=row["id"], category=row["category"], severity=row["severity"],
                   message=row["message"], details=json.loads(row["details"] or "{}"),
                   run_id=row["run_id"], workflow=row["workflow"], step=row["step"],
                   created_at=row["created_at"], resolved_at=row["resolved_at"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, times as ISO 8601 (UTC)."""
        def iso(value: float | None) -> str | None:
            moment = to_datetime(value)
            return moment.isoformat() if moment else None

        return {"id": self.id, "category": self.category, "severity": self.severity,
                "message": self.message, "details": self.details, "run_id": self.run_id,
                "workflow": self.workflow, "step": self.step,
                "created_at": iso(self.created_at), "resolved_at": iso(self.resolved_at)}


def insert(db: Database, *, category: str, severity: str, message: str,
           details: dict[str, Any], run_id: str | None, workflow: str | None,
           step: str | None, now: float) -> AnomalyRecord:
    """Store a new anomaly (``details`` must be JSON-serialisable) and return it."""
    text = to_json(details) if details else None
    with db.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO anomalies (run_id, workflow, step, category, severity, message, "
            "details, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, workflow, step, category, severity, message, text, now))
        new_id = cursor.lastrowid
    assert new_id is not None
    return get(db, new_id)


def get(db: Database, anomaly_id: int) -> AnomalyRecord:
    rows = db.query("SELECT * FROM anomalies WHERE id = ?", [anomaly_id])
    if not rows:
        raise UnknownAnomalyError(f"no anomaly with id {anomaly_id} in {db.path}")
    return AnomalyRecord.from_row(rows[0])


def select(db: Database, *, unresolved_only: bool = False, severity: str | None = None,
           category: str | None = None, run_id: str | None = None,
           workflow: str | None = None, since: float | None = None,
           limit: int | None = 100) -> list[AnomalyRecord]:
    """Anomalies newest first, filtered by whichever arguments are given."""
    clauses: list[str] = []
    params: list[Any] = []
    if unresolved_only:
        clauses.append("resolved_at IS NULL")
    for column, value in (("severity", severity), ("category", category),
                          ("run_id", run_id), ("workflow", workflow)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if since is not None:
        clauses.append("created_at >= ?")
        params.append(since)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"SELECT * FROM anomalies {where} ORDER BY created_at DESC, id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [AnomalyRecord.from_row(r) for r in db.query(sql, params)]


def resolve(db: Database, anomaly_id: int, now: float) -> AnomalyRecord:
    """Mark an anomaly resolved (the first resolution's time is kept) and return it."""
    with db.transaction() as conn:
        conn.execute("UPDATE anomalies SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL",
                     (now, anomaly_id))
    return get(db, anomaly_id)
