"""Cron schedules in the run store: the only writer of the ``schedules`` table.

Values arrive validated (``engine.schedules`` parses cron texts and zones and computes fire
times); this module only keeps rows. A fire is claimed by moving ``next_fire_at`` from the
value the claimer read, in one ``UPDATE``, so two schedule loops sharing a store never both
fire the same time: the one whose update changed no row lost the race.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from ..serialization import to_json
from .db import Database
from .records import to_datetime
from .runs import RunStore, open_store
from .schema import StoreError

DeclaredIn = Literal["workflow", "api"]


class UnknownScheduleError(StoreError, LookupError):
    """No schedule has that name."""


class ScheduleExistsError(StoreError):
    """A schedule of that name exists already (names are unique across the store)."""


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """One stored schedule; times are unix seconds (``next_fire``/``last_fire`` as datetimes)."""

    name: str
    workflow: str
    cron: str
    timezone: str
    params: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    misfire: str = "run_once"
    misfire_limit: int = 10
    declared_in: str = "api"
    next_fire_at: float | None = None
    last_fire_at: float | None = None
    last_run_id: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def next_fire(self) -> datetime | None:
        return to_datetime(self.next_fire_at)

    @property
    def last_fire(self) -> datetime | None:
        return to_datetime(self.last_fire_at)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ScheduleRecord:
        return cls(name=row["name"], workflow=row["workflow"], cron=row["cron"],
                   timezone=row["timezone"], params=json.loads(row["params"] or "{}"),
                   enabled=bool(row["enabled"]), misfire=row["misfire"],
                   misfire_limit=row["misfire_limit"], declared_in=row["declared_in"],
                   next_fire_at=row["next_fire_at"], last_fire_at=row["last_fire_at"],
                   last_run_id=row["last_run_id"], created_at=row["created_at"],
                   updated_at=row["updated_at"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 (UTC), for ``--json`` and the HTTP API."""
        def iso(value: float | None) -> str | None:
            moment = to_datetime(value)
            return moment.isoformat() if moment else None

        return {"name": self.name, "workflow": self.workflow, "cron": self.cron,
                "timezone": self.timezone, "params": self.params, "enabled": self.enabled,
                "misfire": self.misfire, "misfire_limit": self.misfire_limit,
                "declared_in": self.declared_in, "next_fire_at": iso(self.next_fire_at),
                "last_fire_at": iso(self.last_fire_at), "last_run_id": self.last_run_id,
                "created_at": iso(self.created_at), "updated_at": iso(self.updated_at)}


class ScheduleStore:
    """Create, read, claim and delete schedule rows in one store file."""

    def __init__(self, db: str | Path | Database | RunStore | None = None) -> None:
        self.db = db if isinstance(db, Database) else open_store(db).db

    # ------------------------------------------------------------------ reads
    def find(self, name: str) -> ScheduleRecord | None:
        rows = self.db.query("SELECT * FROM schedules WHERE name = ?", [name])
        return ScheduleRecord.from_row(rows[0]) if rows else None

    def get(self, name: str) -> ScheduleRecord:
        """The schedule called ``name``; ``UnknownScheduleError`` lists the names there are."""
        record = self.find(name)
        if record is None:
            names = [r["name"] for r in self.db.query(
                "SELECT name FROM schedules ORDER BY name LIMIT 20")]
            known = f"schedules: {', '.join(names)}" if names else "there are no schedules"
            raise UnknownScheduleError(f"no schedule named {name!r}; {known}")
        return record

    def list_schedules(self, *, declared_in: DeclaredIn | None = None,
                       enabled: bool | None = None) -> list[ScheduleRecord]:
        """Every schedule by name, optionally only declared or API ones, enabled or paused."""
        clauses: list[str] = []
        params: list[Any] = []
        if declared_in is not None:
            clauses.append("declared_in = ?")
            params.append(declared_in)
        if enabled is not None:
            clauses.append("enabled = ?")
            params.append(int(enabled))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.query(f"SELECT * FROM schedules {where} ORDER BY name", params)
        return [ScheduleRecord.from_row(r) for r in rows]

    def due(self, now: float, limit: int = 500) -> list[ScheduleRecord]:
        """Enabled schedules whose next fire is at or before ``now``, earliest first; only
        those rows are read (the ``schedules_due`` index)."""
        rows = self.db.query("SELECT * FROM schedules WHERE enabled = 1 AND next_fire_at <= ? "
                             "ORDER BY next_fire_at LIMIT ?", [now, limit])
        return [ScheduleRecord.from_row(r) for r in rows]

    def next_due_at(self) -> float | None:
        """The earliest next fire of any enabled schedule (how long a loop may sleep)."""
        value = self.db.scalar("SELECT min(next_fire_at) FROM schedules WHERE enabled = 1")
        return float(value) if value is not None else None

    # ------------------------------------------------------------------ writes
    def insert(self, record: ScheduleRecord) -> ScheduleRecord:
        """Store a new schedule (its ``created_at``/``updated_at`` as given)."""
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM schedules WHERE name = ?", (record.name,)).fetchone():
                raise ScheduleExistsError(f"a schedule named {record.name!r} exists already")
            conn.execute(
                "INSERT INTO schedules (name, workflow, cron, timezone, params, enabled, "
                "misfire, misfire_limit, declared_in, next_fire_at, last_fire_at, last_run_id, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.name, record.workflow, record.cron, record.timezone,
                 to_json(record.params), int(record.enabled), record.misfire,
                 record.misfire_limit, record.declared_in, record.next_fire_at,
                 record.last_fire_at, record.last_run_id, record.created_at, record.updated_at))
        return self.get(record.name)

    def replace_declared(self, record: ScheduleRecord) -> bool:
        """Update a workflow-declared row whose workflow, cron or zone changed (its next fire
        too); the row keeps its pause state and history. False when nothing changed."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE schedules SET workflow = ?, cron = ?, timezone = ?, next_fire_at = ?, "
                "updated_at = ? WHERE name = ? AND declared_in = 'workflow' AND "
                "(workflow, cron, timezone) <> (?, ?, ?)",
                (record.workflow, record.cron, record.timezone, record.next_fire_at,
                 record.updated_at, record.name, record.workflow, record.cron,
                 record.timezone))
            return cursor.rowcount == 1

    def set_enabled(self, name: str, enabled: bool, next_fire_at: float | None,
                    now: float) -> ScheduleRecord:
        """Pause or resume a schedule; a resumed one fires next at ``next_fire_at``."""
        with self.db.transaction() as conn:
            cursor = conn.execute("UPDATE schedules SET enabled = ?, next_fire_at = "
                                  "COALESCE(?, next_fire_at), updated_at = ? WHERE name = ?",
                                  (int(enabled), next_fire_at, now, name))
        if cursor.rowcount == 0:
            self.get(name)  # raises UnknownScheduleError
        return self.get(name)

    def delete(self, name: str) -> bool:
        """Remove a schedule; False when there was none of that name."""
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM schedules WHERE name = ?", (name,)).rowcount == 1

    def delete_declared(self, names: list[str]) -> int:
        """Remove the workflow-declared rows among ``names`` (API rows are never touched)."""
        with self.db.transaction() as conn:
            return sum(conn.execute("DELETE FROM schedules WHERE name = ? AND "
                                    "declared_in = 'workflow'", (name,)).rowcount
                       for name in names)

    def claim(self, name: str, expected_next: float, next_fire_at: float,
              last_fire_at: float | None, now: float) -> bool:
        """Move a due schedule's next fire from ``expected_next`` to ``next_fire_at`` (and its
        last fire, when it fires); True only for the one caller whose update changed the row."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE schedules SET next_fire_at = ?, last_fire_at = COALESCE(?, last_fire_at), "
                "updated_at = ? WHERE name = ? AND enabled = 1 AND next_fire_at = ?",
                (next_fire_at, last_fire_at, now, name, expected_next))
            return cursor.rowcount == 1

    def record_run(self, name: str, run_id: str, now: float,
                   fired_at: float | None = None) -> None:
        """Remember the run a fire started (shown by ``schedules list``); ``fired_at`` moves
        the last fire too (a fire by hand, which claims nothing)."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE schedules SET last_run_id = ?, last_fire_at = "
                         "COALESCE(?, last_fire_at), updated_at = ? WHERE name = ?",
                         (run_id, fired_at, now, name))
