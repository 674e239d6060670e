"""The ``lineage`` table: which step of a run read and wrote which artifact, table or file.

This module is the table's only writer, and only the recorder calls its writes: rows come from
``LineageRecorded`` events (buffered with the run's other events, committed with the step's
checkpoint), and a retry carries over the rows of the steps it reuses. A row is
``(run_id, step, direction, kind, name, details, recorded_at)``: ``direction`` is ``read`` or
``write``, ``kind`` what was touched (``artifact``, ``table``, ``query``, ``file``,
``callable``), ``name`` which one, and ``details`` JSON (rows, schema, checksum, cursor window).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .db import Database
from .records import to_datetime

DIRECTIONS = ("read", "write")

_INSERT = """
INSERT INTO lineage (run_id, step, direction, kind, name, details, recorded_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (run_id, step, direction, kind, name) DO UPDATE SET
    details = excluded.details, recorded_at = excluded.recorded_at
"""
_COLUMNS = "run_id, step, direction, kind, name, details, recorded_at"


@dataclass(frozen=True, slots=True)
class LineageRecord:
    """One stored lineage fact: ``step`` of ``run_id`` read or wrote ``kind`` ``name``."""

    run_id: str
    step: str
    direction: str
    kind: str
    name: str
    details: dict[str, Any] = field(default_factory=dict)
    recorded_at: datetime | None = None

    @property
    def rows(self) -> int | None:
        """How many rows went through (None when the step did not count them)."""
        value = self.details.get("rows")
        return int(value) if isinstance(value, int | float) else None

    @property
    def schema(self) -> dict[str, str]:
        """Column name -> type, as the step saw the data."""
        value = self.details.get("schema")
        return dict(value) if isinstance(value, dict) else {}

    def summary(self) -> str:
        """The details worth a glance, one line: the cursor window an incremental source
        read, the code hash of a transform, a sink's write mode, a table's column count."""
        details = self.details
        parts: list[str] = []
        cursor = details.get("cursor")
        if isinstance(cursor, dict):
            parts.append(f"{cursor.get('field')} > {json.dumps(cursor.get('from'))} up to "
                         f"{json.dumps(cursor.get('to'))}")
        if details.get("transform_hash"):
            parts.append(f"code {str(details['transform_hash'])[:12]}")
        if details.get("write_mode"):
            parts.append(str(details["write_mode"]))
        if self.schema and self.direction == "write":
            parts.append(f"{len(self.schema)} columns")
        return ", ".join(parts)

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> LineageRecord:
        details = json.loads(row[5]) if row[5] else {}
        return cls(run_id=row[0], step=row[1], direction=row[2], kind=row[3], name=row[4],
                   details=details if isinstance(details, dict) else {"value": details},
                   recorded_at=to_datetime(row[6]))

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "step": self.step, "direction": self.direction,
                "kind": self.kind, "name": self.name, "details": dict(self.details),
                "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None}


# ------------------------------------------------------------------ writes (the recorder's)
def insert_rows(conn: Any, rows: Iterable[Sequence[Any]]) -> None:
    """Rows in ``_COLUMNS`` order, inside the caller's transaction; a fact recorded again (a
    retried attempt) replaces the earlier one."""
    conn.executemany(_INSERT, rows)


def copy_rows(conn: Any, from_run: str, to_run: str, steps: Iterable[str]) -> None:
    """A retry reuses completed steps' outputs, so it also inherits what those steps read and
    wrote (cursor windows included: the retry that completes moves the cursor)."""
    conn.executemany(
        "INSERT OR REPLACE INTO lineage (run_id, step, direction, kind, name, details, "
        "recorded_at) SELECT ?, step, direction, kind, name, details, recorded_at "
        "FROM lineage WHERE run_id = ? AND step = ?",
        [(to_run, from_run, step) for step in steps])


# ------------------------------------------------------------------ reads
def _database(store: Any) -> Database:
    """The ``Database`` of a ``RunStore`` (front ends hold one) or a ``Database``."""
    return store if isinstance(store, Database) else store.db  # type: ignore[no-any-return]


def run_lineage(store: Any, run_id: str) -> list[LineageRecord]:
    """Every lineage fact of a run (``store``: a ``RunStore`` or ``Database``): steps in the
    order they first recorded one, each step's reads before its writes."""
    rows = _database(store).connection().execute(
        f"SELECT {_COLUMNS} FROM lineage WHERE run_id = ? ORDER BY "
        "MIN(recorded_at) OVER (PARTITION BY step), step, direction, recorded_at, kind, name",
        (run_id,)).fetchall()
    return [LineageRecord.from_row(row) for row in rows]


def dataset_lineage(store: Any, name: str, kind: str | None = None,
                    limit: int = 100) -> list[LineageRecord]:
    """The most recent runs' facts about one dataset (a table, file or artifact key), newest
    first: who produced it and who consumed it."""
    sql = f"SELECT {_COLUMNS} FROM lineage WHERE name = ?"
    params: list[Any] = [name]
    if kind is not None:
        sql += " AND kind = ?"
        params.append(kind)
    sql += " ORDER BY recorded_at DESC LIMIT ?"
    params.append(limit)
    return [LineageRecord.from_row(row) for row in _database(store).connection().execute(sql, params)]
