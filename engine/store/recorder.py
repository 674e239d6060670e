"""``RunRecorder``: the event-stream subscriber that persists runs into the store.

Cheap events (step started, retries, log lines) are buffered and written in batches by a
background flusher. A step's completion — its status, output and checkpoint — is written in
the same transaction before the runner moves on, so a run killed at any point resumes from
exactly the steps that finished. Run start and end are written synchronously too.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..events import (
    AdaptiveChange,
    Event,
    LineageRecorded,
    LogLine,
    RunFinished,
    RunInterrupted,
    RunPaused,
    RunPending,
    RunQueued,
    RunResumed,
    RunSkipped,
    RunStarted,
    RunWaiting,
    StepFinished,
    StepRetrying,
    StepStarted,
)
from ..results import RunStatus
from ..serialization import to_json
from . import incremental, run_writes
from . import lineage as lineage_rows
from .db import Database

logger = logging.getLogger("engine.store")

FLUSH_INTERVAL_SECONDS = 0.2
HEARTBEAT_SECONDS = 5.0
CHECKPOINT_SECONDS = 1.0

_REF_MARKER = '"type": "artifact_ref"'
_ARTIFACT_INSERT = """
INSERT OR REPLACE INTO artifacts (run_id, step, key, store, size_bytes, content_type, checksum,
                                  created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""


def _artifact_rows(event: StepFinished, output_json: str) -> list[tuple[Any, ...]]:
    """Rows for every ``ArtifactRef`` in a step output (found in its JSON form)."""
    rows: list[tuple[Any, ...]] = []
    stack: list[Any] = [json.loads(output_json)]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "artifact_ref" and "key" in item and "checksum" in item:
                created = item.get("created_at")
                at = datetime.fromisoformat(created).timestamp() if created else time.time()
                rows.append((event.run_id, event.step, item["key"], item.get("store", ""),
                             item.get("size_bytes", 0), item.get("content_type"),
                             item["checksum"], at))
            else:
                stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return rows


def _detail_json(detail: dict[str, Any]) -> str:
    """A lineage fact's details as JSON (a value JSON cannot hold is stored by its repr)."""
    try:
        return to_json(detail)
    except (TypeError, ValueError):
        return json.dumps(detail, default=repr)


def _adaptive_json(event: AdaptiveChange) -> str:
    """``{"change": kind, **detail}``; a detail JSON cannot hold is stored by its repr."""
    data = {"change": event.change, **event.detail}
    try:
        return to_json(data)
    except (TypeError, ValueError):
        return json.dumps(data, default=repr)


class RunRecorder:
    """The one writer of runs and steps: subscribe it to a runner (``runner.subscribe``) and
    every lifecycle event of every run becomes rows.

    Runs it has seen start (pending, queued, running) get heartbeats from its thread until
    they finish. Call ``close()`` when done; it flushes whatever is still buffered.
    """

    def __init__(self, db: Database, *, flush_interval: float = FLUSH_INTERVAL_SECONDS) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._events: list[tuple[Any, ...]] = []
        self._logs: list[tuple[Any, ...]] = []
        self._steps: dict[tuple[str, str], tuple[Any, ...]] = {}  # last row per step wins
        self._lineage: list[tuple[Any, ...]] = []
        self._active: set[str] = set()
        self._event_seq: dict[str, int] = {}
        self._log_seq: dict[str, int] = {}
        self._stop = threading.Event()
        self._host = socket.gethostname()
        db.defer_checkpoints()
        self._flusher = threading.Thread(target=self._flush_loop, args=(flush_interval,),
                                         name="spine-store-flusher", daemon=True)
        self._flusher.start()

    # ------------------------------------------------------------------ listener
    def __call__(self, event: Event) -> None:
        at = event.at.timestamp()
        if isinstance(event, LogLine):
            with self._lock:
                self._logs.append((event.run_id, self._next(self._log_seq, event.run_id),
                                   event.step, at, event.stream, event.level, event.message))
        elif isinstance(event, StepStarted):
            with self._lock:
                self._events.append((event.run_id, self._next(self._event_seq, event.run_id),
                                     "step_started", event.step, at,
                                     f'{{"attempt": {event.attempt}}}'))
                self._steps[(event.run_id, event.step)] = (
                    event.run_id, event.step, event.workflow, "running", event.attempt, None,
                    None, None, at, None, None, None, None, None)
        elif isinstance(event, StepRetrying):
            with self._lock:
                self._events.append((event.run_id, self._next(self._event_seq, event.run_id),
                                     "step_retrying", event.step, at, to_json(
                    {"attempt": event.attempt, "delay_seconds": event.delay_seconds,
                     "error": event.error, "category": event.category})))
        elif isinstance(event, StepFinished):
            self._step_finished(event, at)
        elif isinstance(event, AdaptiveChange):
            data = _adaptive_json(event)
            with self._lock:  # written with the next step's checkpoint or the run's end
                self._events.append((event.run_id, self._next(self._event_seq, event.run_id),
                                     "adaptive_change", event.step, at, data))
        elif isinstance(event, LineageRecorded):
            row = (event.run_id, event.step, event.direction, event.kind, event.name,
                   _detail_json(event.detail), at)
            with self._lock:  # committed with the step's checkpoint (StepFinished)
                self._lineage.append(row)
        elif isinstance(event, RunStarted):
            self._run_started(event, at)
        elif isinstance(event, RunFinished):
            self._run_finished(event, at)
        else:
            self._lifecycle(event, at)

    # ------------------------------------------------------------------ run lifecycle
    def _run_row(self, event: RunPending | RunStarted, status: str, at: float,
                 started: bool) -> tuple[Any, ...]:
        origin = event.origin
        version = origin.version if origin.version is not None else getattr(event, "version",
                                                                             None)
        return (event.run_id, event.workflow, version, status, to_json(event.params),
                origin.partition_key, event.parent_run_id, getattr(event, "parent_step", None),
                origin.source, origin.started_by,
                at, at if started else None, at, os.getpid(), self._host,
                len(event.step_names))

    def _open(self, conn: Any, run_id: str) -> None:
        """Start the run's sequences after what is already stored (a resumed run has rows)."""
        self._event_seq[run_id] = conn.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = ?", (run_id,)).fetchone()[0]
        self._log_seq[run_id] = conn.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM logs WHERE run_id = ?", (run_id,)).fetchone()[0]
        self._active.add(run_id)

    def _event_row(self, conn: Any, run_id: str, kind: str, at: float,
                   data: dict[str, Any] | None = None, step: str | None = None) -> None:
        conn.execute("INSERT INTO events (run_id, seq, kind, step, at, data) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     (run_id, self._next(self._event_seq, run_id), kind, step, at,
                      to_json(data or {})))

    def _run_pending(self, conn: Any, event: RunPending, at: float) -> None:
        run_writes.insert_run(conn, self._run_row(event, "pending", at, started=False),
                              RunStatus.PENDING)
        self._open(conn, event.run_id)
        lineage = event.origin.lineage
        data: dict[str, Any] = {"started_by": event.origin.started_by}
        if lineage is not None:
            data[f"{lineage.kind}_of"] = lineage.run_id
            if lineage.kind == "retry":
                run_writes.copy_steps(conn, lineage.run_id, event.run_id, lineage.reused)
                lineage_rows.copy_rows(conn, lineage.run_id, event.run_id, lineage.reused)
            self._event_row(conn, event.run_id, f"{lineage.kind}_of", at, {
                "run_id": lineage.run_id, "step": lineage.step, "reused": list(lineage.reused)})
            run_writes.append_event(conn, lineage.run_id, _LINKED_BY[lineage.kind],
                                    {"run_id": event.run_id}, at)
        self._event_row(conn, event.run_id, "run_pending", at, data)

    def _run_started(self, event: RunStarted, at: float) -> None:
        with self._lock, self.db.transaction() as conn:
            run_writes.insert_run(conn, self._run_row(event, "running", at, started=True),
                                  RunStatus.RUNNING)
            if event.run_id not in self._event_seq:
                self._open(conn, event.run_id)
            self._active.add(event.run_id)
            self._event_row(conn, event.run_id, "run_started", at,
                            {"params": event.params, "version": event.version,
                             "started_by": event.origin.started_by})

    def _lifecycle(self, event: Event, at: float) -> None:
        """Pending, queued, skipped, paused, waiting, resumed, interrupted: written at once,
        so every process sees the state as soon as it holds."""
        run_id = event.run_id
        with self._lock, self.db.transaction() as conn:
            if isinstance(event, RunPending):
                self._run_pending(conn, event, at)
                return
            if run_id not in self._event_seq:
                self._open(conn, run_id)
            if isinstance(event, RunQueued):
                run_writes.set_status(conn, run_id, RunStatus.QUEUED)
                self._event_row(conn, run_id, "queued", at, {
                    "holders": list(event.holders), "ahead": list(event.ahead),
                    "max_concurrent_runs": event.max_concurrent_runs,
                    "on_conflict": event.on_conflict, "cancelled": list(event.cancelled)})
            elif isinstance(event, RunSkipped):
                run_writes.set_status(conn, run_id, RunStatus.SKIPPED, error=event.reason,
                                      finished_at=at, duration=0.0)
                self._event_row(conn, run_id, "run_skipped", at, {"reason": event.reason})
                self._forget(run_id)
            elif isinstance(event, RunPaused | RunResumed | RunWaiting):
                status, kind = _HOLD_STATUS[type(event)]
                if run_writes.set_status(conn, run_id, status):
                    data = {"steps": list(event.steps)} if isinstance(event, RunWaiting) else {}
                    self._event_row(conn, run_id, kind, at, data)
            elif isinstance(event, RunInterrupted):
                if run_writes.set_status(conn, run_id, RunStatus.INTERRUPTED, error=event.reason):
                    run_writes.interrupt_steps(conn, run_id)
                    self._event_row(conn, run_id, "run_interrupted", at,
                                    {"reason": event.reason})
                self._forget(run_id)

    def reopen(self, run_id: str) -> str | None:
        """Claim a stopped run for a resume in one write transaction, so two processes can
        never both resume it; None when claimed, else the status that refused it."""
        with self._lock, self.db.transaction() as conn:
            if run_writes.reopen(conn, run_id, os.getpid(), self._host, time.time()):
                return None
            row = conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            return str(row[0]) if row else "not stored"

    def claim_slot(self, run_id: str, workflow: str, limit: int, *,
                   cancel_holders: bool = False) -> Claim:
        """Take one of ``workflow``'s ``limit`` concurrency slots for a pending or queued run,
        in one write transaction (two processes can never both take the last slot): the run
        then holds it as ``running`` until its ``RunStarted``. Without a free slot nothing
        changes, except that ``cancel_holders`` asks the runs in the way to cancel."""
        with self._lock, self.db.transaction() as conn:
            holders, ahead = run_writes.occupants(conn, run_id, workflow)
            if len(holders) + len(ahead) < limit:
                if run_id not in self._event_seq:
                    self._open(conn, run_id)
                at = time.time()
                run_writes.claim(conn, run_id, at)
                self._event_row(conn, run_id, "admitted", at, {"holders": holders})
                return Claim(True, tuple(holders), tuple(ahead))
            victims: tuple[str, ...] = ()
            if cancel_holders:
                victims = (*ahead, *holders[: max(0, len(holders) - limit + 1)])
                conn.executemany("INSERT INTO control (run_id, command, requested_at) "
                                 "VALUES (?, 'cancel', ?)", [(v, time.time()) for v in victims])
            return Claim(False, tuple(holders), tuple(ahead), victims)

    def _forget(self, run_id: str) -> None:
        self._active.discard(run_id)
        self._event_seq.pop(run_id, None)
        self._log_seq.pop(run_id, None)

    def _step_finished(self, event: StepFinished, at: float) -> None:
        if event.error is None and event.error_type is None:
            detail = f'{{"status": "{event.status}", "attempt": {event.attempt}}}'
        else:
            detail = json.dumps({"status": event.status, "attempt": event.attempt,
                                 "error": event.error, "category": event.category,
                                 "error_type": event.error_type})
        if event.status != "completed":
            output = None
        elif event.output is None or event.output == {}:  # most steps: skip the JSON encoder
            output = "null" if event.output is None else "{}"
        else:
            output = to_json(event.output)
        step_row = (event.run_id, event.step, event.workflow, event.status, event.attempt,
                    event.error, event.category, event.error_type, at - event.duration_seconds,
                    at, event.duration_seconds, event.child_run_id, output, event.worker)
        with self._lock:
            self._steps[(event.run_id, event.step)] = step_row
            self._events.append((event.run_id, self._next(self._event_seq, event.run_id),
                                 "step_finished", event.step, at, detail))
            # the step's checkpoint (status + output) commits before the runner moves on
            conn = self.db.begin()
            try:
                self._write_buffers(conn)  # the step's row carries its output
                if output is not None and _REF_MARKER in output:
                    conn.executemany(_ARTIFACT_INSERT, _artifact_rows(event, output))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _run_finished(self, event: RunFinished, at: float) -> None:
        with self._lock:
            if event.run_id not in self._event_seq:  # ended before it started (queued)
                self._event_seq[event.run_id] = self.db.scalar(
                    "SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = ?", [event.run_id])
            self._events.append((event.run_id, self._next(self._event_seq, event.run_id),
                                 "run_finished", None, at, to_json(
                {"status": event.status, "error": event.error, "error_step": event.error_step,
                 "category": event.category})))
            with self.db.transaction() as conn:
                self._write_buffers(conn)
                applied = run_writes.set_status(
                    conn, event.run_id, RunStatus(event.status), error=event.error,
                    error_step=event.error_step, finished_at=at,
                    duration=event.duration_seconds)
                if applied and event.status == RunStatus.COMPLETED:
                    incremental.promote(conn, event.run_id, at)  # only a completed run moves
            self._forget(event.run_id)

    def _write_buffers(self, conn: Any) -> None:
        """Write buffered rows on ``conn`` (caller holds the lock and the transaction)."""
        if self._events:
            conn.executemany("INSERT INTO events (run_id, seq, kind, step, at, data) "
                             "VALUES (?, ?, ?, ?, ?, ?)", self._events)
            self._events = []
        if self._logs:
            conn.executemany("INSERT INTO logs (run_id, seq, step, at, stream, level, "
                             "message) VALUES (?, ?, ?, ?, ?, ?, ?)", self._logs)
            self._logs = []
        if self._steps:
            run_writes.upsert_steps(conn, self._steps.values())
            self._steps = {}
        if self._lineage:
            lineage_rows.insert_rows(conn, self._lineage)
            self._lineage = []

    def _next(self, counters: dict[str, int], run_id: str) -> int:
        """Next per-run sequence number (caller holds the lock). A run this recorder does not
        know (a late line or event after its end, e.g. relayed from a worker) continues after
        what is stored, so it never reuses a stored number."""
        value = counters.get(run_id)
        if value is None:
            table = "logs" if counters is self._log_seq else "events"
            stored = self.db.scalar(f"SELECT COALESCE(MAX(seq), 0) FROM {table} "
                                    "WHERE run_id = ?", [run_id])
            value = int(stored or 0) + len([r for r in (
                self._logs if table == "logs" else self._events) if r[0] == run_id])
        counters[run_id] = value + 1
        return value + 1

    def flush(self) -> None:
        with self._lock:
            if self._events or self._logs or self._steps or self._lineage:
                with self.db.transaction() as conn:
                    self._write_buffers(conn)

    def _heartbeat(self) -> None:
        with self._lock:
            active = list(self._active)
        if active:
            with self.db.transaction() as conn:
                run_writes.beat(conn, active, time.time())

    def _flush_loop(self, interval: float) -> None:
        last_beat = last_checkpoint = 0.0
        while not self._stop.wait(interval):
            try:
                self.flush()
                now = time.monotonic()
                if now - last_beat >= HEARTBEAT_SECONDS:
                    self._heartbeat()
                    last_beat = now
                if now - last_checkpoint >= CHECKPOINT_SECONDS:
                    self.db.checkpoint()
                    last_checkpoint = now
            except Exception:  # keep flushing; the next synchronous write raises visibly
                logger.exception("background flush failed")

    def close(self) -> None:
        self._stop.set()
        self._flusher.join(timeout=5)
        self.flush()
        self.db.checkpoint()


@dataclass(frozen=True, slots=True)
class Claim:
    """How a slot request ended: ``admitted``, else who holds the slots and who waits first
    (and, under ``cancel_existing``, the runs asked to cancel)."""

    admitted: bool
    holders: tuple[str, ...] = ()
    ahead: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()


_LINKED_BY = {"retry": "retried_by", "replay": "replayed_by"}

_HOLD_STATUS: dict[type[Event], tuple[RunStatus, str]] = {
    RunPaused: (RunStatus.PAUSED, "paused"),
    RunResumed: (RunStatus.RUNNING, "resumed"),
    RunWaiting: (RunStatus.WAITING, "waiting"),
}


def record_interrupted(db: Database, events: list[RunInterrupted]) -> list[str]:
    """Write runs found dead by a reader (any process): the recorder's rule, without a
    recorder thread. Returns the runs it moved (a run that ended meanwhile is left alone)."""
    moved: list[str] = []
    with db.transaction() as conn:
        for event in events:
            if run_writes.set_status(conn, event.run_id, RunStatus.INTERRUPTED,
                                     error=event.reason):
                run_writes.interrupt_steps(conn, event.run_id)
                run_writes.append_event(conn, event.run_id, "run_interrupted",
                                        {"reason": event.reason}, event.at.timestamp())
                moved.append(event.run_id)
    return moved
