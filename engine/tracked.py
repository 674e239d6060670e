"""``TrackedWorkflowRunner``: a ``WorkflowRunner`` whose every run is persisted in the store.

Runs keep their step statuses, outputs, events and captured logs; ``partition={...}`` makes a
run idempotent (a partition that already completed is recorded as ``skipped`` and not run
again, like Dagster's partitioned assets); ``resume(run_id)`` continues a run after a crash
from the steps that completed, without executing them again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .events import Listener
from .results import RunStatus, StepRun, WorkflowResult
from .runner import WorkflowRunner, new_run_id
from .serialization import to_json
from .store.db import Database
from .store.recorder import RunRecorder
from .store.runs import RunStore
from .workflow import Workflow

StoreLike = str | Path | Database | RunStore | None


def open_store(store: StoreLike | Any = None) -> RunStore:
    """A ``RunStore`` from a path, a ``Database``, a store, a sqlite3 connection, or the default."""
    if isinstance(store, RunStore):
        return store
    if store is not None and hasattr(store, "execute") and not isinstance(store, str | Path):
        row = store.execute("PRAGMA database_list").fetchone()  # a sqlite3.Connection
        return RunStore(row[2] if row and row[2] else None)
    return RunStore(store)


def partition_key(partition: Mapping[str, Any]) -> str:
    """Canonical text for a partition (key order does not matter)."""
    return to_json(dict(sorted(partition.items())), separators=(",", ":"))


class TrackedWorkflowRunner:
    """Run workflows and persist them (runs, steps, outputs, events, logs) in a run store.

    ``store`` may be a path, a ``RunStore``/``Database`` or a sqlite3 connection; default is
    ``$SPINE_DB`` or ``~/.spine/spine.db``. ``runnable`` is accepted for the spec's
    ``TrackedWorkflowRunner(conn, runnable=dispatcher)`` form: pipelines resolve through the
    registry, so it is not needed.
    """

    def __init__(self, store: StoreLike | Any = None, *, runnable: Any = None,
                 listeners: Iterable[Listener] = (), capture_logs: bool = True) -> None:
        self.store = open_store(store)
        self._meta: dict[str, dict[str, Any]] = {}
        self._meta_lock = threading.Lock()
        self.recorder = RunRecorder(self.store.db, run_meta=self._run_meta)
        self.runner = WorkflowRunner(listeners=[self.recorder, *listeners],
                                     capture_logs=capture_logs)

    def subscribe(self, listener: Listener) -> Any:
        return self.runner.subscribe(listener)

    def _run_meta(self, run_id: str) -> dict[str, Any]:
        with self._meta_lock:
            return self._meta.get(run_id, {})

    def execute(self, workflow: Workflow | Any, params: Mapping[str, Any] | None = None, *,
                partition: Mapping[str, Any] | None = None, run_id: str | None = None,
                source: str | None = None, cancel: threading.Event | None = None,
                ) -> WorkflowResult:
        """Run and persist ``workflow``; see the class docstring for partitions."""
        wf = workflow if isinstance(workflow, Workflow) else workflow.workflow
        run_id = run_id or new_run_id()
        key = partition_key(partition) if partition else None
        if key is not None:
            done = self.store.find_partition_run(wf.name, key)
            if done is not None:
                return self._record_skip(wf, run_id, dict(params or {}), key, done.run_id, source)
        with self._meta_lock:
            self._meta[run_id] = {"partition_key": key, "source": source}
        try:
            return self.runner.execute(wf, params, run_id=run_id, cancel=cancel)
        finally:
            self.recorder.flush()
            with self._meta_lock:
                self._meta.pop(run_id, None)

    def resume(self, run_id: str, workflow: Workflow | Any,
               cancel: threading.Event | None = None) -> WorkflowResult:
        """Continue a stored run: completed steps keep their outputs and are not run again."""
        record = self.store.get_run(run_id)
        wf = workflow if isinstance(workflow, Workflow) else workflow.workflow
        restored = self.store.completed_outputs(record.run_id)
        with self._meta_lock:
            self._meta[record.run_id] = {"partition_key": record.partition_key,
                                         "source": record.source}
        try:
            return self.runner.execute(wf, record.params, run_id=record.run_id, cancel=cancel,
                                       restored=restored)
        finally:
            self.recorder.flush()
            with self._meta_lock:
                self._meta.pop(record.run_id, None)

    def _record_skip(self, wf: Workflow, run_id: str, params: dict[str, Any], key: str,
                     done_by: str, source: str | None) -> WorkflowResult:
        now = datetime.now(UTC)
        reason = f"partition {key} already completed by run {done_by}"
        with self.store.db.transaction() as conn:
            conn.execute(
                "INSERT INTO runs (run_id, workflow, version, status, params, partition_key, "
                "source, error, created_at, started_at, finished_at, duration_seconds, "
                "step_count) VALUES (?, ?, ?, 'skipped', ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                (run_id, wf.name, wf.version, to_json(params), key, source, reason,
                 now.timestamp(), now.timestamp(), now.timestamp(), len(wf.steps)))
        steps = {s.name: StepRun(s.name, RunStatus.SKIPPED, error=reason) for s in wf.steps}
        return WorkflowResult(run_id=run_id, workflow_name=wf.name, status=RunStatus.SKIPPED,
                              params=params, steps=steps, error=reason, started_at=now,
                              finished_at=now)

    def close(self) -> None:
        """Flush buffered events and stop the background writer."""
        self.recorder.close()

    def __enter__(self) -> TrackedWorkflowRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
