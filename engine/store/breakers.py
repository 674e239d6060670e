"""Circuit breaker states in the run store: the only writer of the ``circuit_breakers`` table.

A breaker's row is its whole shared state (closed / open / half-open, the consecutive
failures or trial successes counted so far, when it opened). Every change is applied by
``update``: read the row, compute the next row, write it, inside one ``BEGIN IMMEDIATE``
transaction, so threads and processes sharing the file apply their outcomes one after
another and never lose a count. What the next row is (the breaker's rules) is decided by
``engine.circuit_breaker``; this module only keeps rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from .db import Database
from .records import to_datetime


class CircuitState(StrEnum):
    """Where a breaker is: letting calls through, refusing them, or letting trials through."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerRecord:
    """One breaker's shared state; times are unix seconds.

    ``failures`` counts consecutive failures (closed) or those that opened it (open);
    ``successes`` counts trial successes while half-open.
    """

    name: str
    state: CircuitState = CircuitState.CLOSED
    failures: int = 0
    successes: int = 0
    failure_threshold: int = 5
    recovery_timeout: float = 60.0
    success_threshold: int = 1
    opened_at: float | None = None
    updated_at: float = 0.0

    @property
    def open_until(self) -> float | None:
        """When an open breaker starts letting trial calls through (None unless open)."""
        if self.state is not CircuitState.OPEN or self.opened_at is None:
            return None
        return self.opened_at + self.recovery_timeout

    @property
    def opened(self) -> datetime | None:
        return to_datetime(self.opened_at)

    @property
    def updated(self) -> datetime | None:
        return to_datetime(self.updated_at)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> BreakerRecord:
        return cls(name=row["name"], state=CircuitState(row["state"]),
                   failures=row["failures"], successes=row["successes"],
                   failure_threshold=row["failure_threshold"] or 5,
                   recovery_timeout=float(row["recovery_timeout"]
                                          if row["recovery_timeout"] is not None else 60.0),
                   success_threshold=row["success_threshold"] or 1,
                   opened_at=row["opened_at"], updated_at=row["updated_at"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, times as ISO 8601 (UTC), for ``--json`` and the HTTP API."""
        def iso(value: float | None) -> str | None:
            moment = to_datetime(value)
            return moment.isoformat() if moment else None

        return {"name": self.name, "state": self.state.value, "failures": self.failures,
                "successes": self.successes, "failure_threshold": self.failure_threshold,
                "recovery_timeout": self.recovery_timeout,
                "success_threshold": self.success_threshold,
                "opened_at": iso(self.opened_at), "open_until": iso(self.open_until),
                "updated_at": iso(self.updated_at)}


_SELECT = "SELECT * FROM circuit_breakers"


def find(db: Database, name: str) -> BreakerRecord | None:
    """The stored state of breaker ``name`` (None before its first write)."""
    rows = db.query(f"{_SELECT} WHERE name = ?", [name])
    return BreakerRecord.from_row(rows[0]) if rows else None


def list_breakers(db: Database) -> list[BreakerRecord]:
    """Every stored breaker, by name."""
    return [BreakerRecord.from_row(r) for r in db.query(f"{_SELECT} ORDER BY name")]


def update(db: Database, name: str,
           change: Callable[[BreakerRecord | None], BreakerRecord | None]) -> BreakerRecord | None:
    """Apply ``change`` to the stored row of ``name`` in one write transaction and return the
    row as stored afterwards; ``change`` gets None when there is no row yet and returns None
    to leave the row as it is."""
    with db.transaction() as conn:
        cursor = conn.execute(f"{_SELECT} WHERE name = ?", (name,))
        names = [d[0] for d in cursor.description or ()]
        row = cursor.fetchone()
        current = BreakerRecord.from_row(dict(zip(names, row, strict=True))) if row else None
        new = change(current)
        if new is None or new == current:
            return current
        if new.name != name:
            raise ValueError(f"a change of breaker {name!r} returned a row for {new.name!r}")
        conn.execute(
            "INSERT INTO circuit_breakers (name, state, failures, successes, failure_threshold, "
            "recovery_timeout, success_threshold, opened_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
            "state = excluded.state, failures = excluded.failures, "
            "successes = excluded.successes, failure_threshold = excluded.failure_threshold, "
            "recovery_timeout = excluded.recovery_timeout, "
            "success_threshold = excluded.success_threshold, opened_at = excluded.opened_at, "
            "updated_at = excluded.updated_at",
            (name, new.state.value, new.failures, new.successes, new.failure_threshold,
             new.recovery_timeout, new.success_threshold, new.opened_at, new.updated_at))
        return new


def delete(db: Database, name: str) -> bool:
    """Forget breaker ``name`` (it starts closed at its next use); False when it was unknown."""
    with db.transaction() as conn:
        return bool(conn.execute("DELETE FROM circuit_breakers WHERE name = ?",
                                 (name,)).rowcount)
