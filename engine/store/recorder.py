"""``RunRecorder``: the event-stream subscriber that persists runs into the store.

Cheap events (step started, retries, log lines) are buffered and written in batches by a
background flusher. A step's completion — its status, output and checkpoint — is written in
the same transaction before the runner moves on, so a run killed at any point resumes from
exactly the steps that finished. Run start and end are written synchronously too.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..events import (
    AdaptiveChange,
    Event,
    LogLine,
    RunFinished,
    RunStarted,
    StepFinished,
    StepRetrying,
    StepStarted,
)
from ..serialization import to_json
from .db import Database

FLUSH_INTERVAL_SECONDS = 0.2
HEARTBEAT_SECONDS = 5.0
CHECKPOINT_SECONDS = 1.0

_STEP_UPSERT = """
INSERT INTO step_runs (run_id, step, workflow, status, attempts, error, error_category,
                       error_type, started_at, finished_at, duration_seconds, child_run_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (run_id, step) DO UPDATE SET
    status = excluded.status, attempts = excluded.attempts, error = excluded.error,
    error_category = excluded.error_category, error_type = excluded.error_type,
    started_at = COALESCE(step_runs.started_at, excluded.started_at),
    finished_at = excluded.finished_at, duration_seconds = excluded.duration_seconds,
    child_run_id = COALESCE(excluded.child_run_id, step_runs.child_run_id)
"""


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


def _adaptive_json(event: AdaptiveChange) -> str:
    """``{"change": kind, **detail}``; a detail JSON cannot hold is stored by its repr."""
    data = {"change": event.change, **event.detail}
    try:
        return to_json(data)
    except (TypeError, ValueError):
        return json.dumps(data, default=repr)


class RunRecorder:
    """Subscribe an instance to a runner (``runner.subscribe(recorder)``) to persist its runs.

    ``run_meta`` supplies per-run columns the events do not carry (source, partition key).
    Call ``close()`` when done; it flushes whatever is still buffered.
    """

    def __init__(self, db: Database, *, run_meta: Callable[[str], dict[str, Any]] | None = None,
                 flush_interval: float = FLUSH_INTERVAL_SECONDS) -> None:
        self.db = db
        self._run_meta = run_meta or (lambda run_id: {})
        self._lock = threading.Lock()
        self._events: list[tuple[Any, ...]] = []
        self._logs: list[tuple[Any, ...]] = []
        self._steps: dict[tuple[str, str], tuple[Any, ...]] = {}  # last row per step wins
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
                    None, None, at, None, None, None)
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
        elif isinstance(event, RunStarted):
            self._run_started(event, at)
        elif isinstance(event, RunFinished):
            self._run_finished(event, at)

    # ------------------------------------------------------------------ writes
    def _run_started(self, event: RunStarted, at: float) -> None:
        meta = self._run_meta(event.run_id)
        with self._lock:
            self._active.add(event.run_id)
            with self.db.transaction() as conn:
                conn.execute(
                    """INSERT INTO runs (run_id, workflow, version, status, params, partition_key,
                                         parent_run_id, source, created_at, started_at,
                                         heartbeat_at, pid, host, step_count)
                       VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (run_id) DO UPDATE SET status = 'running', error = NULL,
                           error_step = NULL, finished_at = NULL, started_at = excluded.started_at,
                           heartbeat_at = excluded.heartbeat_at, pid = excluded.pid,
                           host = excluded.host""",
                    (event.run_id, event.workflow, meta.get("version", event.version),
                     to_json(event.params),
                     meta.get("partition_key"), event.parent_run_id, meta.get("source"), at, at,
                     at, os.getpid(), self._host, len(event.step_names)))
                # a resumed run continues its sequences after what is already stored
                self._event_seq[event.run_id] = conn.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = ?",
                    (event.run_id,)).fetchone()[0]
                self._log_seq[event.run_id] = conn.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM logs WHERE run_id = ?",
                    (event.run_id,)).fetchone()[0]
                conn.execute("INSERT INTO events (run_id, seq, kind, step, at, data) VALUES "
                             "(?, ?, 'run_started', NULL, ?, ?)",
                             (event.run_id, self._next(self._event_seq, event.run_id), at,
                              to_json({"params": event.params, "version": event.version})))

    def _step_finished(self, event: StepFinished, at: float) -> None:
        step_row = (event.run_id, event.step, event.workflow, event.status, event.attempt,
                    event.error, event.category, event.error_type, at - event.duration_seconds,
                    at, event.duration_seconds, event.child_run_id)
        if event.error is None and event.error_type is None:
            detail = f'{{"status": "{event.status}", "attempt": {event.attempt}}}'
        else:
            detail = json.dumps({"status": event.status, "attempt": event.attempt,
                                 "error": event.error, "category": event.category,
                                 "error_type": event.error_type})
        output = to_json(event.output) if event.status == "completed" else None
        with self._lock:
            self._steps[(event.run_id, event.step)] = step_row
            self._events.append((event.run_id, self._next(self._event_seq, event.run_id),
                                 "step_finished", event.step, at, detail))
            # the step's checkpoint (status + output) commits before the runner moves on
            conn = self.db.begin()
            try:
                self._write_buffers(conn)
                if output is not None:
                    conn.execute("INSERT OR REPLACE INTO outputs (run_id, step, data) "
                                 "VALUES (?, ?, ?)", (event.run_id, event.step, output))
                    if _REF_MARKER in output:
                        conn.executemany(_ARTIFACT_INSERT, _artifact_rows(event, output))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _run_finished(self, event: RunFinished, at: float) -> None:
        with self._lock:
            self._events.append((event.run_id, self._next(self._event_seq, event.run_id),
                                 "run_finished", None, at, to_json(
                {"status": event.status, "error": event.error, "error_step": event.error_step})))
            with self.db.transaction() as conn:
                self._write_buffers(conn)
                conn.execute("""UPDATE runs SET status = ?, error = ?, error_step = ?,
                                finished_at = ?, duration_seconds = ?, heartbeat_at = ?
                                WHERE run_id = ?""",
                             (event.status, event.error, event.error_step, at,
                              event.duration_seconds, at, event.run_id))
            self._active.discard(event.run_id)
            self._event_seq.pop(event.run_id, None)
            self._log_seq.pop(event.run_id, None)

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
            conn.executemany(_STEP_UPSERT, self._steps.values())
            self._steps = {}

    @staticmethod
    def _next(counters: dict[str, int], run_id: str) -> int:
        """Next per-run sequence number (caller holds the lock)."""
        value = counters.get(run_id, 0) + 1
        counters[run_id] = value
        return value

    def flush(self) -> None:
        with self._lock:
            if self._events or self._logs or self._steps:
                with self.db.transaction() as conn:
                    self._write_buffers(conn)

    def _heartbeat(self) -> None:
        with self._lock:
            active = list(self._active)
        if active:
            now = time.time()
            with self.db.transaction() as conn:
                conn.executemany("UPDATE runs SET heartbeat_at = ? WHERE run_id = ?",
                                 [(now, run_id) for run_id in active])

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
                import logging

                logging.getLogger("engine.store").exception("background flush failed")

    def close(self) -> None:
        self._stop.set()
        self._flusher.join(timeout=5)
        self.flush()
        self.db.checkpoint()
