"""Concurrency slots: admit a tracked run only while its workflow has a free slot.

Counting the workflow's runs in flight and claiming a slot (writing this run's row as
``running``) happen in one ``BEGIN IMMEDIATE`` transaction, so two processes can never both
take the last slot. A run that has to wait is written as ``queued`` (FIFO by creation time),
heartbeats while it waits, re-checks every ``POLL_SECONDS``, and obeys a ``cancel`` command.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..workflow import ConcurrencyPolicy, OnConflict
from .commands import CANCEL, IN_FLIGHT, POLL_SECONDS, append_event, mark_handled, pending_commands
from .db import Database

#: a queued run refreshes its heartbeat this often (the reaper's lease is much longer)
QUEUE_HEARTBEAT_SECONDS = 2.0
_SLOT_MARKS = ", ".join("?" * len(IN_FLIGHT))


@dataclass(frozen=True, slots=True)
class RunRow:
    """The columns a run's row needs before the recorder sees it start."""

    run_id: str
    workflow: str
    version: int
    params: str  # JSON
    step_count: int
    partition_key: str | None = None
    parent_run_id: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Admission:
    """How the slot request ended: ``admitted``, ``skipped``, ``cancelled`` or ``timed_out``."""

    outcome: str
    reason: str | None = None
    waited_seconds: float = 0.0
    cancelled_runs: tuple[str, ...] = field(default_factory=tuple)

    @property
    def admitted(self) -> bool:
        return self.outcome == "admitted"


def admit(db: Database, row: RunRow, policy: ConcurrencyPolicy, cancel: threading.Event,
          reap: Callable[[], object] = lambda: None,
          poll_interval: float = POLL_SECONDS) -> Admission:
    """Claim a slot for ``row`` under ``policy``, queueing/skipping/cancelling as it says.

    ``reap`` marks runs of dead processes interrupted, so their slots free up.
    """
    limit, action = policy.max_concurrent_runs, OnConflict(policy.on_conflict)
    start = time.monotonic()
    reap()
    with db.transaction() as conn:
        holders, ahead = _occupants(conn, row, None)
        if len(holders) + len(ahead) < limit:
            _write(conn, row, "running")
            return Admission("admitted")
        if action is OnConflict.SKIP:
            reason = (f"skipped: workflow {row.workflow!r} already has {len(holders)} run(s) in "
                      f"flight (max_concurrent_runs={limit}): {', '.join(holders + ahead)}")
            _write(conn, row, "skipped", error=reason, finished=True)
            return Admission("skipped", reason)
        victims: list[str] = []
        if action is OnConflict.CANCEL_EXISTING:
            victims = ahead + holders[: max(0, len(holders) - limit + 1)]
            conn.executemany("INSERT INTO control (run_id, command, requested_at) "
                             "VALUES (?, ?, ?)", [(v, CANCEL, time.time()) for v in victims])
        _write(conn, row, "queued")
        append_event(conn, row.run_id, "queued", {
            "holders": holders, "ahead": ahead, "max_concurrent_runs": limit,
            "on_conflict": action.value, "cancelled": victims})
    return _wait_in_queue(db, row, policy, cancel, reap, poll_interval, start, tuple(victims))


def _wait_in_queue(db: Database, row: RunRow, policy: ConcurrencyPolicy,
                   cancel: threading.Event, reap: Callable[[], object], poll_interval: float,
                   start: float, victims: tuple[str, ...]) -> Admission:
    timeout = policy.queue_timeout_seconds
    deadline = None if timeout is None else start + timeout
    last_beat = time.monotonic()
    queued_at = db.scalar("SELECT created_at FROM runs WHERE run_id = ?", [row.run_id])
    while True:
        commands = pending_commands(db, row.run_id, CANCEL)
        if commands or cancel.is_set():
            mark_handled(db, commands)
            return _leave(db, row, "cancelled", "cancelled while queued for a concurrency slot",
                          start, victims)
        reap()
        conn = db.connection()
        holders, ahead = _occupants(conn, row, queued_at)
        if len(holders) + len(ahead) < policy.max_concurrent_runs:
            with db.transaction() as tx:  # re-checked under the write lock, then claimed
                holders, ahead = _occupants(tx, row, queued_at)
                if len(holders) + len(ahead) < policy.max_concurrent_runs:
                    tx.execute("UPDATE runs SET status = 'running', heartbeat_at = ? "
                               "WHERE run_id = ? AND status = 'queued'", (time.time(), row.run_id))
                    return Admission("admitted", waited_seconds=time.monotonic() - start,
                                     cancelled_runs=victims)
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            reason = (f"waited {timeout:g}s in the queue for a free slot of workflow "
                      f"{row.workflow!r} (max_concurrent_runs={policy.max_concurrent_runs}); "
                      f"still in flight: {', '.join(holders) or 'none'} [TIMEOUT]")
            return _leave(db, row, "failed", reason, start, victims, timed_out=True)
        if now - last_beat >= QUEUE_HEARTBEAT_SECONDS:
            with db.transaction() as tx:
                tx.execute("UPDATE runs SET heartbeat_at = ? WHERE run_id = ?",
                           (time.time(), row.run_id))
            last_beat = now
        wait = poll_interval if deadline is None else min(poll_interval, max(0.0, deadline - now))
        cancel.wait(wait)


def _occupants(conn: Any, row: RunRow, queued_at: float | None) -> tuple[list[str], list[str]]:
    """Runs holding a slot (oldest first) and queued runs ahead of ``row`` (first first).

    ``+workflow`` keeps SQLite on the status index: only runs in flight are scanned, however
    long the workflow's history.
    """
    holders = [r[0] for r in conn.execute(
        f"SELECT run_id FROM runs WHERE status IN ({_SLOT_MARKS}) AND +workflow = ? "
        "AND run_id != ? ORDER BY created_at, run_id", (*IN_FLIGHT, row.workflow, row.run_id))]
    extra: tuple[Any, ...] = ()
    ahead_sql = ""
    if queued_at is not None:  # not queued yet: everyone queued is ahead
        ahead_sql, extra = " AND (created_at < ? OR (created_at = ? AND run_id < ?))", (
            queued_at, queued_at, row.run_id)
    ahead = [r[0] for r in conn.execute(
        "SELECT run_id FROM runs WHERE status = 'queued' AND +workflow = ? AND run_id != ?"
        f"{ahead_sql} ORDER BY created_at, run_id", (row.workflow, row.run_id, *extra))]
    return holders, ahead


def _write(conn: Any, row: RunRow, status: str, error: str | None = None,
           finished: bool = False) -> None:
    """Insert the run's row (or reset a resumed run's) with ``status``, owned by this process."""
    now = time.time()
    conn.execute(
        """INSERT INTO runs (run_id, workflow, version, status, params, partition_key,
                             parent_run_id, source, error, created_at, finished_at,
                             duration_seconds, heartbeat_at, pid, host, step_count)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id) DO UPDATE SET status = excluded.status,
               error = excluded.error, error_step = NULL, finished_at = excluded.finished_at,
               heartbeat_at = excluded.heartbeat_at, pid = excluded.pid, host = excluded.host""",
        (row.run_id, row.workflow, row.version, status, row.params, row.partition_key,
         row.parent_run_id, row.source, error, now, now if finished else None,
         0.0 if finished else None, now, os.getpid(), socket.gethostname(), row.step_count))


def _leave(db: Database, row: RunRow, status: str, reason: str, start: float,
           victims: tuple[str, ...], timed_out: bool = False) -> Admission:
    """Take a queued run out of the queue as ``status`` (cancelled, failed) with ``reason``."""
    waited = time.monotonic() - start
    with db.transaction() as conn:
        conn.execute("UPDATE runs SET status = ?, error = ?, finished_at = ?, "
                     "duration_seconds = ? WHERE run_id = ? AND status = 'queued'",
                     (status, reason, time.time(), waited, row.run_id))
        append_event(conn, row.run_id, "queue_timeout" if timed_out else "queue_cancelled",
                     {"status": status, "error": reason, "waited_seconds": waited,
                      "category": "TIMEOUT" if timed_out else "CANCELLED"})
    return Admission("timed_out" if timed_out else "cancelled", reason, waited, victims)
