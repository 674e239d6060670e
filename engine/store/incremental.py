"""The ``incremental_cursors`` table: each incremental source's high-water mark.

This module is the table's only writer. A cursor moves in exactly two ways: ``promote``, which
the recorder calls in the transaction that marks a run ``completed`` (the window each source
read is in the run's lineage rows, so a failed run never moves its cursor and a resumed or
retried run that completes does), and ``reset``/``set_value``, the operator's explicit action
(library and ``spine-engine cursors``). Values are stored as JSON, so a number stays a number.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .db import Database
from .records import to_datetime

logger = logging.getLogger("engine.store")

_COLUMNS = "name, workflow, step, cursor_field, value, run_id, updated_at"
_UPSERT = f"""
INSERT INTO incremental_cursors ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET workflow = excluded.workflow, step = excluded.step,
    cursor_field = excluded.cursor_field, value = excluded.value, run_id = excluded.run_id,
    updated_at = excluded.updated_at
"""
#: the cursor windows a run's sources read (``details.cursor`` of their lineage read rows)
_WINDOWS = """
SELECT step, json_extract(details, '$.cursor') FROM lineage
WHERE run_id = ? AND direction = 'read' AND json_extract(details, '$.cursor.name') IS NOT NULL
ORDER BY recorded_at
"""


@dataclass(frozen=True, slots=True)
class CursorRecord:
    """An incremental source's stored high-water mark: rows whose ``cursor_field`` is greater
    than ``value`` are new; ``run_id`` is the completed run that moved it last (None: set by
    hand)."""

    name: str
    cursor_field: str
    value: Any
    workflow: str | None = None
    step: str | None = None
    run_id: str | None = None
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "cursor_field": self.cursor_field, "value": self.value,
                "workflow": self.workflow, "step": self.step, "run_id": self.run_id,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None}


def _record(row: Any) -> CursorRecord:
    return CursorRecord(name=row[0], workflow=row[1], step=row[2], cursor_field=row[3],
                        value=None if row[4] is None else json.loads(row[4]), run_id=row[5],
                        updated_at=to_datetime(row[6]))


# ------------------------------------------------------------------ reads
def get_cursor(db: Database, name: str) -> CursorRecord | None:
    row = db.connection().execute(f"SELECT {_COLUMNS} FROM incremental_cursors WHERE name = ?",
                                  (name,)).fetchone()
    return None if row is None else _record(row)


def list_cursors(db: Database, workflow: str | None = None) -> list[CursorRecord]:
    sql = f"SELECT {_COLUMNS} FROM incremental_cursors"
    params: list[Any] = []
    if workflow is not None:
        sql += " WHERE workflow = ?"
        params.append(workflow)
    return [_record(row) for row in db.connection().execute(sql + " ORDER BY name", params)]


# ------------------------------------------------------------------ writes
def promote(conn: Any, run_id: str, at: float) -> list[str]:
    """Move every cursor a completed run read up to where it read (inside the recorder's
    transaction that completes the run); returns the names moved. A window that found no new
    rows (``to`` null) leaves its cursor alone."""
    moved: list[str] = []
    for step, text in conn.execute(_WINDOWS, (run_id,)).fetchall():
        window = json.loads(text)
        if not isinstance(window, dict) or window.get("to") is None:
            continue
        name = str(window["name"])
        stored = conn.execute("SELECT value FROM incremental_cursors WHERE name = ?",
                              (name,)).fetchone()
        before = None if stored is None or stored[0] is None else json.loads(stored[0])
        if before != window.get("from"):
            logger.warning("cursor %r was %r when run %s read from %r (another run moved it, "
                           "or the step read another store); moving it to %r", name, before,
                           run_id, window.get("from"), window["to"])
        conn.execute(_UPSERT, (name, window.get("workflow"), step, str(window.get("field", "")),
                               json.dumps(window["to"]), run_id, at))
        moved.append(name)
    return moved


def set_value(db: Database, name: str, value: Any, cursor_field: str,
              workflow: str | None = None, step: str | None = None) -> CursorRecord:
    """Set a cursor by hand (e.g. to re-process from a known point); JSON-ready ``value``."""
    at = time.time()
    with db.transaction() as conn:
        conn.execute(_UPSERT, (name, workflow, step, cursor_field, json.dumps(value), None, at))
    return CursorRecord(name=name, cursor_field=cursor_field, value=value, workflow=workflow,
                        step=step, updated_at=to_datetime(at))


def reset(db: Database, name: str) -> bool:
    """Forget a cursor: the source's next run reads every row again. False when none."""
    with db.transaction() as conn:
        return bool(conn.execute("DELETE FROM incremental_cursors WHERE name = ?",
                                 (name,)).rowcount)
