"""Stored runs with fixed ids and timestamps, written straight into a test's run store, so
runs-screen and run-detail pictures never change from one test run to the next."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from engine import RunStore

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


def add_runs(db: Path, runs: Iterable[dict[str, Any]]) -> None:
    """Insert runs given as dicts (run_id, workflow, status, created_at, ...)."""
    store = RunStore(db)
    rows = []
    for run in runs:
        created = run.get("created_at", T0)
        duration = run.get("duration_seconds", 1.5)
        finished = None if run.get("status") == "running" else created + duration
        rows.append((run["run_id"], run["workflow"], run.get("version", 1), run["status"],
                     json.dumps(run.get("params", {})), created, created, finished,
                     None if finished is None else duration, run.get("error"),
                     run.get("error_step"), run.get("step_count", 3), run.get("source"),
                     created + duration, run.get("pid"), run.get("host")))
    with store.db.transaction() as conn:
        conn.executemany(
            "INSERT INTO runs (run_id, workflow, version, status, params, created_at, "
            "started_at, finished_at, duration_seconds, error, error_step, step_count, "
            "source, heartbeat_at, pid, host) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    store.close()


def many_runs(count: int, workflows: Sequence[str] = ("bulk.a", "bulk.b"),
              start: float = T0) -> list[dict[str, Any]]:
    """``count`` completed/failed runs one minute apart, the newest last."""
    return [{"run_id": f"run{i:06d}", "workflow": workflows[i % len(workflows)],
             "status": "failed" if i % 7 == 3 else "completed",
             "created_at": start + 60 * i, "duration_seconds": 1 + (i % 5)}
            for i in range(count)]


def add_run_detail(db: Path, source: str = "workflows/tui_run.py") -> str:
    """One failed run of three steps, with attempts, outputs and log lines; returns its id.

    ``source`` is the file the run says it ran (the real fixture file lets the playground
    rebuild its definition)."""
    run_id = "feedc0de00000001"
    add_runs(db, [{"run_id": run_id, "workflow": "tui.failing", "status": "failed",
                   "created_at": T0, "duration_seconds": 4.0, "version": 2,
                   "params": {"day": "2026-01-01", "limit": 3},
                   "error": "2 rows failed validation", "error_step": "check",
                   "source": source}])
    steps = [
        ("fetch", "completed", 1, None, None, 0.0, 1.0),
        ("check", "failed", 2, "2 rows failed validation", "DATA_QUALITY", 1.0, 4.0),
        ("never", "skipped", 0, None, None, None, None),
    ]
    logs = [("fetch", 0.2, "stdout", "INFO", "fetched 3 rows"),
            ("check", 1.1, "log", "WARNING", "tui.fixture: row 2 looks odd"),
            ("check", 2.5, "log", "WARNING", "tui.fixture: row 2 looks odd"),
            ("check", 3.9, "stderr", "ERROR", "validation failed: rows 2 and 3")]
    store = RunStore(db)
    with store.db.transaction() as conn:
        conn.executemany(
            "INSERT INTO step_runs (run_id, step, workflow, status, attempts, error, "
            "error_category, started_at, finished_at, duration_seconds) "
            "VALUES (?, ?, 'tui.failing', ?, ?, ?, ?, ?, ?, ?)",
            [(run_id, name, status, attempts, error, category,
              None if a is None else T0 + a, None if b is None else T0 + b,
              None if a is None or b is None else b - a)
             for name, status, attempts, error, category, a, b in steps])
        conn.execute("UPDATE step_runs SET output = ? WHERE run_id = ? AND step = 'fetch'",
                     (json.dumps({"rows": [1, 2, 3], "blob": "x" * 1000}), run_id))
        conn.executemany(
            "INSERT INTO logs (run_id, seq, step, at, stream, level, message) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(run_id, seq, step, T0 + at, stream, level, message)
             for seq, (step, at, stream, level, message) in enumerate(logs, start=1)])
    store.close()
    return run_id


ANALYTICS_NOW = T0 + 5 * 86_400 + 43_200.0  # 2026-01-06 12:00 UTC
CATEGORIES = ("TRANSIENT", "DATA_QUALITY", "TRANSIENT", "TIMEOUT")


def add_analytics_rows(db: Path) -> None:
    """Five days of runs of two workflows (some failed, with error categories), each with
    step rows, so every analytics figure has something to show; read with ANALYTICS_NOW."""
    runs: list[dict[str, Any]] = []
    steps: list[tuple[Any, ...]] = []
    failures = 0
    for day in range(5):
        for i in range(4):
            workflow = ("tui.etl.daily", "tui.market.fanout")[i % 2]
            run_id = f"an{day}{i}"
            failed = (day + i) % 3 == 1
            created = T0 + day * 86_400 + i * 3_600
            duration = 1.0 + day * 0.5 + i
            runs.append({"run_id": run_id, "workflow": workflow, "created_at": created,
                         "status": "failed" if failed else "completed",
                         "duration_seconds": duration})
            steps.append((run_id, "extract", workflow, "completed", 1, None, None, created,
                          created + 0.25, 0.25))
            if failed:
                category = CATEGORIES[failures % len(CATEGORIES)]
                failures += 1
                steps.append((run_id, "transform", workflow, "failed", 2, "boom", category,
                              created + 0.25, created + duration, duration - 0.25))
            else:
                steps.append((run_id, "transform", workflow, "completed", 1, None, None,
                              created + 0.25, created + duration, duration - 0.25))
    add_runs(db, runs)
    store = RunStore(db)
    with store.db.transaction() as conn:
        conn.executemany(
            "INSERT INTO step_runs (run_id, step, workflow, status, attempts, error, "
            "error_category, started_at, finished_at, duration_seconds) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", steps)
    store.close()


def publish_two_versions(db: Path) -> None:
    """v3 as the fixture defines tui.etl.daily, v4 with an audit step and a bigger limit,
    with fixed times and author so pictures of the versions screen do not change."""
    from engine import Step, Workflow, WorkflowVersionStore
    from engine.discovery import load_file

    workflows, _ = load_file(Path(__file__).parents[1] / "resources" / "tui" / "tui_etl.py")
    v3 = workflows[0].workflow
    steps = [s.with_changes(config={**s.config, "limit": 1000}) if s.name == "extract" else s
             for s in v3.steps]
    steps.append(Step.from_function("audit", steps[-1].handler, depends_on=["load"]))
    v4 = Workflow(v3.name, steps, domain=v3.domain, description=v3.description, version=4,
                  tags=v3.tags)
    store = RunStore(db)
    versions = WorkflowVersionStore(store.db)
    versions.publish(v3, source="tui_etl.py", created_by="ada")
    versions.publish(v4, source="tui_etl.py", created_by="ada", changelog="audit")
    with store.db.transaction() as conn:
        conn.execute("UPDATE workflow_versions SET created_at = 1767225600 + version * 3600")
    store.close()
