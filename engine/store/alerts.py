"""The alert outbox in the run store: the only writer of ``alert_outbox``.

An alert is written here before anyone tries to send it, so it survives the process that
raised it: a row is ``pending`` until a sender claims it (``sending``, in one ``UPDATE`` that
only succeeds on a ``pending`` row, so two senders never both send it), then ``delivered``,
back to ``pending`` with a later ``next_attempt_at`` after a failed attempt, or ``failed`` for
good. While a row is ``sending``, ``next_attempt_at`` is its claim's lease: a sender that died
mid-send leaves the row to be re-queued once the lease is over (delivery is at-least-once).
Channel configs hold secret references as written, never resolved values.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from ..lifecycle import LIVE
from ..results import RunStatus
from ..serialization import to_json
from .db import Database
from .records import to_datetime
from .runs import RunStore, open_store
from .schema import StoreError

AlertStatus = Literal["armed", "pending", "sending", "delivered", "failed"]
#: the statuses of alerts that exist; an ``armed`` row is a dead man's switch, not an alert yet
ALERT_STATUSES: tuple[AlertStatus, ...] = ("pending", "sending", "delivered", "failed")


#: run statuses after which an armed row can never fire (not live, not interrupted)
_ENDED = ", ".join(sorted(f"'{s.value}'" for s in RunStatus
                          if s not in LIVE and s is not RunStatus.INTERRUPTED))


class UnknownAlertError(StoreError, LookupError):
    """No alert has that id, or it is in a state the request does not fit."""


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert to queue: who it is about, what it says (``payload``) and where it goes."""

    kind: str
    channel: dict[str, Any]
    payload: dict[str, Any]
    run_id: str | None = None
    workflow: str | None = None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One outbox row; times are unix seconds (``created``/``delivered`` as datetimes)."""

    id: int
    kind: str
    channel: dict[str, Any]
    payload: dict[str, Any]
    status: AlertStatus
    attempts: int
    next_attempt_at: float
    created_at: float
    run_id: str | None = None
    workflow: str | None = None
    last_error: str | None = None
    delivered_at: float | None = None

    @property
    def channel_type(self) -> str:
        return str(self.channel.get("type", "?"))

    @property
    def created(self) -> datetime | None:
        return to_datetime(self.created_at)

    @property
    def delivered(self) -> datetime | None:
        return to_datetime(self.delivered_at)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AlertRecord:
        return cls(id=row["id"], kind=row["kind"], channel=json.loads(row["channel"]),
                   payload=json.loads(row["payload"]), status=row["status"],
                   attempts=row["attempts"], next_attempt_at=row["next_attempt_at"],
                   created_at=row["created_at"], run_id=row["run_id"],
                   workflow=row["workflow"], last_error=row["last_error"],
                   delivered_at=row["delivered_at"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, times as ISO 8601 (UTC), for ``--json`` and the HTTP API."""
        def iso(value: float | None) -> str | None:
            moment = to_datetime(value)
            return moment.isoformat() if moment else None

        return {"id": self.id, "kind": self.kind, "status": self.status,
                "channel": self.channel, "workflow": self.workflow, "run_id": self.run_id,
                "attempts": self.attempts, "next_attempt_at": iso(self.next_attempt_at),
                "last_error": self.last_error, "created_at": iso(self.created_at),
                "delivered_at": iso(self.delivered_at), "payload": self.payload}


class AlertOutbox:
    """Queue, claim, settle and list the alerts of one store file."""

    def __init__(self, db: str | Path | Database | RunStore | None = None) -> None:
        self.db = db if isinstance(db, Database) else open_store(db).db

    # ------------------------------------------------------------------ writes
    def enqueue(self, alerts: Sequence[NewAlert], *, at: float | None = None) -> list[int]:
        """Queue ``alerts`` as pending rows, due at once, in one transaction; their ids."""
        now = time.time() if at is None else at
        ids: list[int] = []
        with self.db.transaction() as conn:
            for alert in alerts:
                cursor = conn.execute(
                    "INSERT INTO alert_outbox (run_id, workflow, kind, channel, payload, "
                    "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (alert.run_id, alert.workflow, alert.kind, to_json(alert.channel),
                     to_json(alert.payload), now, now))
                ids.append(int(cursor.lastrowid or 0))
        return ids

    def arm(self, alerts: Sequence[NewAlert]) -> list[int]:
        """Write ``alerts`` as ``armed`` rows: sent only if their run is found interrupted
        (its process died: nobody is left to say it failed), deleted by ``disarm`` when the
        run ends in its own process."""
        now = time.time()
        with self.db.transaction() as conn:
            return [int(conn.execute(
                "INSERT INTO alert_outbox (run_id, workflow, kind, channel, payload, status, "
                "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'armed', ?, ?)",
                (alert.run_id, alert.workflow, alert.kind, to_json(alert.channel),
                 to_json(alert.payload), now, now)).lastrowid or 0) for alert in alerts]

    def disarm(self, run_id: str) -> int:
        """Drop ``run_id``'s armed rows (the run ended where it ran); how many there were."""
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM alert_outbox WHERE run_id = ? AND status = "
                                "'armed'", (run_id,)).rowcount

    def fire_interrupted(self, *, now: float | None = None) -> int:
        """Make the armed rows of interrupted runs due now (their ``at`` = now), and drop
        armed rows whose run ended some other way; how many alerts fired."""
        now = time.time() if now is None else now
        at = datetime.fromtimestamp(now, UTC).isoformat()
        with self.db.transaction() as conn:
            fired = conn.execute(
                "UPDATE alert_outbox SET status = 'pending', next_attempt_at = ?, "
                "payload = json_set(payload, '$.at', ?) WHERE status = 'armed' AND run_id IN "
                "(SELECT run_id FROM runs WHERE status = 'interrupted')", (now, at)).rowcount
            conn.execute("DELETE FROM alert_outbox WHERE status = 'armed' AND run_id IN "
                         f"(SELECT run_id FROM runs WHERE status IN ({_ENDED}))")
        return fired

    def claim(self, alert_id: int, *, lease_seconds: float,
              now: float | None = None) -> AlertRecord | None:
        """Take a due pending row for sending (one attempt more, leased for ``lease_seconds``);
        None when another sender took it first or it is not due."""
        now = time.time() if now is None else now
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE alert_outbox SET status = 'sending', attempts = attempts + 1, "
                "next_attempt_at = ? WHERE id = ? AND status = 'pending' "
                "AND next_attempt_at <= ? RETURNING *", (now + lease_seconds, alert_id, now))
            row = cursor.fetchone()
            names = [d[0] for d in cursor.description or ()]
        return AlertRecord.from_row(dict(zip(names, row, strict=True))) if row else None

    def mark_delivered(self, alert_id: int, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.db.transaction() as conn:
            conn.execute("UPDATE alert_outbox SET status = 'delivered', delivered_at = ?, "
                         "last_error = NULL WHERE id = ? AND status = 'sending'", (now, alert_id))

    def retry_later(self, alert_id: int, error: str, next_attempt_at: float) -> None:
        """Put a failed attempt's row back to pending, due at ``next_attempt_at``."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE alert_outbox SET status = 'pending', next_attempt_at = ?, "
                         "last_error = ? WHERE id = ? AND status = 'sending'",
                         (next_attempt_at, error, alert_id))

    def mark_failed(self, alert_id: int, error: str) -> None:
        """Give up on a row: its last error stays for ``spine-engine alerts`` to show."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE alert_outbox SET status = 'failed', last_error = ? "
                         "WHERE id = ? AND status = 'sending'", (error, alert_id))

    def requeue_stale(self, *, now: float | None = None) -> int:
        """Move rows whose sender's lease ran out (it died mid-send) back to pending."""
        now = time.time() if now is None else now
        with self.db.transaction() as conn:
            return conn.execute("UPDATE alert_outbox SET status = 'pending', last_error = "
                                "COALESCE(last_error, 'the sender stopped before it finished') "
                                "WHERE status = 'sending' AND next_attempt_at <= ?",
                                (now,)).rowcount

    def requeue(self, alert_id: int, *, now: float | None = None) -> AlertRecord:
        """Make a failed (or waiting) alert due again now with a fresh count of attempts;
        a delivered or in-flight one is refused with ``UnknownAlertError``."""
        now = time.time() if now is None else now
        with self.db.transaction() as conn:
            changed = conn.execute("UPDATE alert_outbox SET status = 'pending', attempts = 0, "
                                   "next_attempt_at = ? WHERE id = ? AND status IN "
                                   "('failed', 'pending')", (now, alert_id)).rowcount
        record = self.get(alert_id)
        if not changed:
            raise UnknownAlertError(f"alert {alert_id} is {record.status}; only failed or "
                                    "pending alerts can be sent again")
        return record

    # ------------------------------------------------------------------ reads
    def due_ids(self, *, now: float | None = None, limit: int = 100) -> list[int]:
        """Pending rows whose time has come, oldest due first (the partial index's rows)."""
        now = time.time() if now is None else now
        rows = self.db.connection().execute(
            "SELECT id FROM alert_outbox WHERE status = 'pending' AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, id LIMIT ?", (now, limit)).fetchall()
        return [int(r[0]) for r in rows]

    def next_due_at(self) -> float | None:
        """When the earliest pending row is due (None: nothing is pending)."""
        value = self.db.scalar("SELECT min(next_attempt_at) FROM alert_outbox "
                               "WHERE status = 'pending'")
        return None if value is None else float(value)

    def get(self, alert_id: int) -> AlertRecord:
        rows = self.db.query("SELECT * FROM alert_outbox WHERE id = ?", [alert_id])
        if not rows:
            raise UnknownAlertError(f"no alert {alert_id} in {self.db.path}; "
                                    "`spine-engine alerts list` shows the alerts")
        return AlertRecord.from_row(rows[0])

    def list_alerts(self, *, status: AlertStatus | None = None, workflow: str | None = None,
                    run_id: str | None = None, limit: int = 50) -> list[AlertRecord]:
        """Newest first, optionally only one status, workflow or run."""
        clauses, params = [], []
        for column, value in (("status", status), ("workflow", workflow), ("run_id", run_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if status is None:
            clauses.append("status != 'armed'")
        where = f"WHERE {' AND '.join(clauses)}"
        rows = self.db.query(f"SELECT * FROM alert_outbox {where} ORDER BY id DESC LIMIT ?",
                             [*params, limit])
        return [AlertRecord.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """How many alerts are in each status (every status present, zero when none)."""
        rows = self.db.connection().execute(
            "SELECT status, count(*) FROM alert_outbox GROUP BY status").fetchall()
        found = {str(status): int(count) for status, count in rows}
        return {status: found.get(status, 0) for status in ALERT_STATUSES}
