"""Every statement that writes the ``runs`` and ``step_runs`` tables, and nothing else does.

Only ``engine.store.recorder`` calls these (a test fails if any other module writes those
tables), each on a connection inside the caller's write transaction. Status changes are
guarded by the lifecycle: an update applies only from the statuses ``engine.lifecycle``
allows, so a late or repeated event can never move a run backwards.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

from ..lifecycle import HOLDS_SLOT, sources_of
from ..results import RunStatus
from ..serialization import to_json

_SLOT_MARKS = ", ".join("?" * len(HOLDS_SLOT))
_HOLDERS = tuple(sorted(s.value for s in HOLDS_SLOT))

_STEP_UPSERT = """
INSERT INTO step_runs (run_id, step, workflow, status, attempts, error, error_category,
                       error_type, started_at, finished_at, duration_seconds, child_run_id,
                       output, worker)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (run_id, step) DO UPDATE SET
    status = excluded.status, attempts = excluded.attempts, error = excluded.error,
    error_category = excluded.error_category, error_type = excluded.error_type,
    started_at = COALESCE(step_runs.started_at, excluded.started_at),
    finished_at = excluded.finished_at, duration_seconds = excluded.duration_seconds,
    child_run_id = COALESCE(excluded.child_run_id, step_runs.child_run_id),
    output = excluded.output, worker = COALESCE(excluded.worker, step_runs.worker)
"""

_RUN_INSERT = """
INSERT INTO runs (run_id, workflow, version, status, params, partition_key, parent_run_id,
                  parent_step, source, started_by, created_at, started_at, heartbeat_at, pid,
                  host, step_count)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, error = NULL,
    error_step = NULL, finished_at = NULL,
    started_at = COALESCE(excluded.started_at, runs.started_at),
    heartbeat_at = excluded.heartbeat_at, pid = excluded.pid, host = excluded.host,
    version = COALESCE(excluded.version, runs.version),
    source = COALESCE(excluded.source, runs.source),
    partition_key = COALESCE(excluded.partition_key, runs.partition_key),
    started_by = COALESCE(excluded.started_by, runs.started_by)
WHERE runs.status IN ({marks})
"""


def insert_run(conn: Any, row: Sequence[Any], status: RunStatus) -> None:
    """Create the run's row as ``status`` (pending or running), or move a stored run there
    when the lifecycle allows: a resume keeps the run's id and history. A claimed slot
    (``running`` before its ``RunStarted``) is entered again as running.

    ``row`` follows ``_RUN_INSERT``'s columns.
    """
    marks = (*sources_of(status), status.value)
    conn.execute(_RUN_INSERT.format(marks=", ".join("?" * len(marks))), (*row, *marks))


def set_status(conn: Any, run_id: str, status: RunStatus, *, error: str | None = None,
               finished_at: float | None = None, duration: float | None = None,
               error_step: str | None = None) -> bool:
    """Move the run to ``status`` if the lifecycle allows it from where it is; False if not."""
    marks = sources_of(status)
    sql = "UPDATE runs SET status = ?"
    params: list[Any] = [status.value]
    if error is not None or status.is_terminal:
        sql += ", error = ?, error_step = ?"
        params += [error, error_step]
    if finished_at is not None:
        sql += ", finished_at = ?, duration_seconds = ?, heartbeat_at = ?"
        params += [finished_at, duration, finished_at]
    sql += f" WHERE run_id = ? AND status IN ({', '.join('?' * len(marks))})"
    cursor = conn.execute(sql, [*params, run_id, *marks])
    return bool(cursor.rowcount)


def upsert_steps(conn: Any, rows: Iterable[Sequence[Any]]) -> None:
    """Step rows as the recorder last saw them (``_STEP_UPSERT``'s columns): started steps
    keep their first start time, finished ones take their status, error, duration and output
    (JSON, completed steps only; a step that starts again has none until it completes)."""
    conn.executemany(_STEP_UPSERT, rows)


def reopen(conn: Any, run_id: str, pid: int, host: str, at: float) -> bool:
    """A stopped run (failed, cancelled, interrupted) becomes pending again for a resume,
    owned by this process; False when it is not stopped (another resume got it first)."""
    marks = sources_of(RunStatus.PENDING)
    cursor = conn.execute(
        f"UPDATE runs SET status = 'pending', pid = ?, host = ?, heartbeat_at = ? "
        f"WHERE run_id = ? AND status IN ({', '.join('?' * len(marks))})",
        (pid, host, at, run_id, *marks))
    return bool(cursor.rowcount)


def claim(conn: Any, run_id: str, at: float) -> None:
    """A pending or queued run takes a concurrency slot: it holds it as ``running``."""
    conn.execute("UPDATE runs SET status = 'running', heartbeat_at = ? WHERE run_id = ? "
                 "AND status IN ('pending', 'queued')", (at, run_id))


def beat(conn: Any, run_ids: Iterable[str], at: float) -> None:
    conn.executemany("UPDATE runs SET heartbeat_at = ? WHERE run_id = ?",
                     [(at, run_id) for run_id in run_ids])


def interrupt_steps(conn: Any, run_id: str) -> None:
    """Steps that were running when the run's process died end as interrupted."""
    conn.execute("UPDATE step_runs SET status = 'interrupted' WHERE run_id = ? "
                 "AND status = 'running'", (run_id,))


def copy_steps(conn: Any, from_run: str, to_run: str, steps: Iterable[str]) -> None:
    """Carry completed steps (rows with their outputs) of a stored run into a retry of it."""
    conn.executemany(
        "INSERT OR REPLACE INTO step_runs (run_id, step, workflow, status, attempts, "
        "started_at, finished_at, duration_seconds, child_run_id, output, worker) SELECT ?, "
        "step, workflow, status, attempts, started_at, finished_at, duration_seconds, "
        "child_run_id, output, worker FROM step_runs WHERE run_id = ? AND step = ?",
        [(to_run, from_run, n) for n in steps])


def append_event(conn: Any, run_id: str, kind: str, data: dict[str, Any],
                 at: float | None = None, step: str | None = None) -> None:
    """An event row for a run no recorder is writing in this transaction's process."""
    seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE run_id = ?",
                       (run_id,)).fetchone()[0]
    conn.execute("INSERT INTO events (run_id, seq, kind, step, at, data) VALUES (?, ?, ?, ?, ?, ?)",
                 (run_id, seq, kind, step, time.time() if at is None else at, _json(data)))


def occupants(conn: Any, run_id: str, workflow: str) -> tuple[list[str], list[str]]:
    """Runs of ``workflow`` holding a slot (oldest first), and runs waiting for one that were
    created before ``run_id`` (first come, first served).

    ``+workflow`` keeps SQLite on the status index: only live runs are scanned, however long
    the workflow's history.
    """
    holders = [r[0] for r in conn.execute(
        f"SELECT run_id FROM runs WHERE status IN ({_SLOT_MARKS}) AND +workflow = ? "
        "AND run_id != ? ORDER BY created_at, run_id", (*_HOLDERS, workflow, run_id))]
    mine = conn.execute("SELECT created_at FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    created = mine[0] if mine else time.time()
    ahead = [r[0] for r in conn.execute(
        "SELECT run_id FROM runs WHERE status IN ('pending', 'queued') AND +workflow = ? "
        "AND run_id != ? AND (created_at < ? OR (created_at = ? AND run_id < ?)) "
        "ORDER BY created_at, run_id", (workflow, run_id, created, created, run_id))]
    return holders, ahead


def _json(data: dict[str, Any]) -> str:
    try:
        return to_json(data)
    except (TypeError, ValueError):
        return json.dumps(data, default=repr)
