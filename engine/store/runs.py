"""``RunStore``: reading runs, steps, outputs, logs and events back out of the store.

Runs whose process died are detected here: a ``running`` run whose heartbeat is older than
the lease, or whose process is gone on this host, is marked ``interrupted`` when read, so
nothing shows ``running`` forever.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from ..events import RunInterrupted
from ..ids import now as new_time
from ..lifecycle import LIVE
from ..results import RunStatus
from .db import Database
from .recorder import HEARTBEAT_SECONDS, record_interrupted
from .records import (
    ArtifactRecord,
    EventRecord,
    LogRecord,
    RunRecord,
    StepOutput,
    StepRecord,
    to_datetime,
)
from .schema import StoreError

LEASE_SECONDS = HEARTBEAT_SECONDS * 4
REAP_INTERVAL_SECONDS = 2.0
LAST_OUTPUT_RUNS = 500  # how far back the workflow screen looks for a step's last output
#: a step row without its output (``outputs`` reads those, when they are wanted)
_STEP_COLUMNS = ("run_id, step, status, attempts, error, error_category, error_type, "
                 "started_at, finished_at, duration_seconds, child_run_id, worker")


class UnknownRunError(StoreError, LookupError):
    """No stored run has that id (or the prefix matches several)."""


class RunStore:
    """The persistent history of runs in one SQLite file (see ``engine.store.paths``)."""

    def __init__(self, db: str | Path | Database | None = None) -> None:
        self.db = db if isinstance(db, Database) else Database(db)
        self._last_reap = 0.0

    @property
    def path(self) -> Path:
        return self.db.path

    # ------------------------------------------------------------------ runs
    def list_runs(self, workflow: str | None = None, status: str | None = None,
                  limit: int = 50, offset: int = 0, since: float | None = None,
                  until: float | None = None) -> list[RunRecord]:
        """Newest first, optionally filtered (``since``/``until``: epoch seconds of
        ``created_at``, see ``run_filter``); pages with ``limit``/``offset``."""
        if time.monotonic() - self._last_reap >= REAP_INTERVAL_SECONDS:  # UIs poll every second
            self._last_reap = time.monotonic()
            self.reap_interrupted()
        where, params = run_filter(workflow, status, since, until)
        rows = self.db.query(f"SELECT * FROM runs {where} ORDER BY created_at DESC "
                             f"LIMIT ? OFFSET ?", [*params, limit, offset])
        return [RunRecord.from_row(r) for r in rows]

    def count_runs(self, workflow: str | None = None) -> int:
        if workflow:
            return int(self.db.scalar("SELECT count(*) FROM runs WHERE workflow = ?", [workflow]))
        return int(self.db.scalar("SELECT count(*) FROM runs"))

    def get_run(self, run_id: str) -> RunRecord:
        """A run by id or unique id prefix (as ``git`` accepts short hashes)."""
        self.reap_interrupted(run_id)
        rows = self.db.query("SELECT * FROM runs WHERE run_id = ?", [run_id])
        if not rows and len(run_id) >= 4:
            rows = self.db.query("SELECT * FROM runs WHERE run_id LIKE ? LIMIT 3",
                                 [run_id.replace("%", "") + "%"])
            if len(rows) > 1:
                ids = ", ".join(r["run_id"] for r in rows)
                raise UnknownRunError(f"run id prefix {run_id!r} is ambiguous ({ids}); "
                                      "give more characters")
        if not rows:
            raise UnknownRunError(f"no run {run_id!r} in {self.path}; "
                                  "`spine-engine runs` lists the stored runs")
        return RunRecord.from_row(rows[0])

    def find_partition_run(self, workflow: str, partition_key: str) -> RunRecord | None:
        """The completed run of ``workflow`` for ``partition_key``, if there is one."""
        rows = self.db.query("SELECT * FROM runs WHERE workflow = ? AND partition_key = ? "
                             "AND status = 'completed' ORDER BY created_at LIMIT 1",
                             [workflow, partition_key])
        return RunRecord.from_row(rows[0]) if rows else None

    # ------------------------------------------------------------------ steps & data
    def step_runs(self, run_id: str) -> list[StepRecord]:
        rows = self.db.query(f"SELECT {_STEP_COLUMNS} FROM step_runs WHERE run_id = ? "
                             "ORDER BY COALESCE(started_at, 1e18), step", [run_id])
        return [StepRecord.from_row(r) for r in rows]

    def outputs(self, run_id: str) -> dict[str, Any]:
        """Outputs of the run's completed steps, in completion order."""
        rows = self.db.query("SELECT step, output FROM step_runs WHERE run_id = ? "
                             "AND output IS NOT NULL ORDER BY COALESCE(finished_at, 0), step",
                             [run_id])
        return {r["step"]: json.loads(r["output"]) for r in rows}

    def last_output(self, workflow: str, step: str, within_runs: int = LAST_OUTPUT_RUNS
                    ) -> StepOutput | None:
        """The newest stored output of ``step`` among ``workflow``'s latest ``within_runs``
        runs (bounded so a step that never produced one costs a few hundred index probes,
        not a walk over the whole history); None when none of them has one."""
        row = self.db.query(
            "SELECT r.run_id, r.status, r.created_at, s.output FROM (SELECT run_id, status, "
            "created_at FROM runs WHERE workflow = ? ORDER BY created_at DESC LIMIT ?) r "
            "JOIN step_runs s ON s.run_id = r.run_id AND s.step = ? "
            "WHERE s.output IS NOT NULL ORDER BY r.created_at DESC LIMIT 1",
            [workflow, within_runs, step])
        if not row:
            return None
        first = row[0]
        return StepOutput(first["run_id"], step, json.loads(first["output"]),
                          RunStatus(first["status"]), to_datetime(first["created_at"]))

    def completed_outputs(self, run_id: str) -> dict[str, Any]:
        """Outputs of steps whose latest status is completed (what a resume restores)."""
        rows = self.db.query("SELECT step, output FROM step_runs WHERE run_id = ? "
                             "AND status = 'completed' AND output IS NOT NULL "
                             "ORDER BY finished_at, step", [run_id])
        return {r["step"]: json.loads(r["output"]) for r in rows}

    def logs(self, run_id: str, step: str | None = None, after_seq: int = 0,
             limit: int | None = None) -> list[LogRecord]:
        """Log lines in order; ``after_seq`` lets followers fetch only what is new."""
        sql = "SELECT * FROM logs WHERE run_id = ? AND seq > ?"
        params: list[Any] = [run_id, after_seq]
        if step:
            sql += " AND step = ?"
            params.append(step)
        sql += " ORDER BY seq"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return [LogRecord.from_row(r) for r in self.db.query(sql, params)]

    def events(self, run_id: str, after_seq: int = 0) -> list[EventRecord]:
        rows = self.db.query("SELECT * FROM events WHERE run_id = ? AND seq > ? ORDER BY seq",
                             [run_id, after_seq])
        return [EventRecord.from_row(r) for r in rows]

    def artifacts(self, run_id: str) -> list[ArtifactRecord]:
        """Artifact references the run's steps returned, oldest first."""
        rows = self.db.query("SELECT * FROM artifacts WHERE run_id = ? ORDER BY created_at, key",
                             [run_id])
        return [ArtifactRecord.from_row(r) for r in rows]

    # ------------------------------------------------------------------ liveness
    def reap_interrupted(self, run_id: str | None = None) -> list[str]:
        """Mark runs whose process is gone as ``interrupted``; returns their ids."""
        return reap_dead_runs(self.db, run_id)

    def close(self) -> None:
        self.db.close()


StoreLike = str | Path | Database | RunStore | None


def open_store(store: StoreLike | Any = None) -> RunStore:
    """A ``RunStore`` from a path, a ``Database``, a store, a sqlite3 connection, or the default."""
    if isinstance(store, RunStore):
        return store
    if store is not None and hasattr(store, "execute") and not isinstance(store, str | Path):
        row = store.execute("PRAGMA database_list").fetchone()  # a sqlite3.Connection
        return RunStore(row[2] if row and row[2] else None)
    return RunStore(store)


def run_filter(workflow: str | None = None, status: str | None = None,
               since: float | None = None, until: float | None = None
               ) -> tuple[str, list[Any]]:
    """``WHERE`` clause (or "") and its parameters for the common run filters; ``since`` is
    inclusive and ``until`` exclusive (epoch seconds of ``created_at``), so adjacent windows
    never count a run twice."""
    clauses: list[str] = []
    params: list[Any] = []
    if workflow:
        clauses.append("workflow = ?")
        params.append(workflow)
    if status:
        clauses.append("status = ?")
        params.append(str(RunStatus(status).value))
    if since is not None:
        clauses.append("created_at >= ?")
        params.append(since)
    if until is not None:
        clauses.append("created_at < ?")
        params.append(until)
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), params


#: statuses a live process must be behind (a queued run's process is waiting for a slot)
LIVE_STATUSES = tuple(sorted(s.value for s in LIVE))
INTERRUPTED_REASON = "the process running this run stopped; `spine-engine resume` continues it"


def reap_dead_runs(db: Database, run_id: str | None = None) -> list[str]:
    """Mark live runs whose process is gone (or whose lease lapsed) ``interrupted``, through
    the recorder's rule (``RunInterrupted``); returns the runs it moved."""
    marks = ", ".join("?" * len(LIVE_STATUSES))
    sql = (f"SELECT run_id, workflow, heartbeat_at, pid, host FROM runs "
           f"WHERE status IN ({marks})")
    params: list[Any] = list(LIVE_STATUSES)
    if run_id:
        sql += " AND run_id = ?"
        params.append(run_id)
    now, host = time.time(), socket.gethostname()
    dead = [RunInterrupted(run_id=r["run_id"], workflow=r["workflow"], at=new_time(),
                           reason=INTERRUPTED_REASON)
            for r in db.query(sql, params) if _is_dead(r, now, host)]
    return record_interrupted(db, dead) if dead else []


def _is_dead(row: dict[str, Any], now: float, host: str) -> bool:
    """Gone for sure when its pid no longer exists on this host; else when its lease lapsed."""
    pid = row.get("pid")
    if row.get("host") == host and pid and pid != os.getpid():
        try:
            os.kill(pid, 0)  # PermissionError means it exists under another user: alive
        except ProcessLookupError:
            return True
        except PermissionError:
            return now - (row.get("heartbeat_at") or 0) > LEASE_SECONDS
    return now - (row.get("heartbeat_at") or 0) > LEASE_SECONDS
