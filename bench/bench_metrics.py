"""Benchmark the Prometheus metrics computed from the run store, and an alert's cost on the run's
path.

Measures:
- ``metrics_text(store)`` (what ``spine-engine metrics`` and ``GET /metrics`` print) over a
  store of 100,000 runs with 3-4 step runs each (map items among them); target <= 0.5 s;
- ``spine-engine metrics --db`` end to end in a fresh process (interpreter start and imports
  included), for reference;
- the alert listener handling a failed run's ``RunFinished`` (one outbox row per channel in one
  transaction, and waking the sender): what an alert adds to the failing run's path; target
  <= 1 ms. The sender is stopped, so only queueing is timed; and what the listener costs every
  event of a run whose workflow has no alerts.

Usage: python bench/bench_metrics.py [--runs 100000] [--repeats 7]
The store is seeded with plain SQL inserts (fast), shaped like recorded runs.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATUSES = ["completed"] * 8 + ["failed", "cancelled"]
CATEGORIES = ["TRANSIENT", "DATA_QUALITY", "TIMEOUT", "DEPENDENCY"]


def seed(db: Path, runs: int) -> int:
    """Create the store through the engine (schema), then insert ``runs`` runs directly;
    returns the number of step rows."""
    from engine.store import RunStore

    RunStore(db).close()
    rng = random.Random(7)
    conn = sqlite3.connect(db)
    now = time.time() - runs
    run_rows, step_rows = [], []
    for i in range(runs):
        rid = f"{i:016x}"
        workflow = f"bench.flow{i % 20}"
        status = STATUSES[i % len(STATUSES)] if i < runs - 50 else "running"
        duration = rng.lognormvariate(0, 1.5) if status != "running" else None
        run_rows.append((rid, workflow, status, "{}", now + i, now + i,
                         None if duration is None else now + i + duration, duration, 3,
                         "cli"))
        steps = ["load", "clean", "save"] + ([f"fan[{i % 8}].each"] if i % 5 == 0 else [])
        for n, step in enumerate(steps):
            failed = status == "failed" and n == len(steps) - 1
            step_status = "failed" if failed else "completed"
            category = CATEGORIES[i % len(CATEGORIES)] if failed else None
            took = rng.lognormvariate(-2, 1.5)
            step_rows.append((rid, step, workflow, step_status, 1, category, now + i,
                              now + i + took, took))
    conn.executemany(
        "INSERT INTO runs (run_id, workflow, status, params, created_at, started_at, "
        "finished_at, duration_seconds, step_count, started_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
        run_rows)
    conn.executemany(
        "INSERT INTO step_runs (run_id, step, workflow, status, attempts, error_category, "
        "started_at, finished_at, duration_seconds) VALUES (?,?,?,?,?,?,?,?,?)", step_rows)
    conn.commit()
    conn.close()
    return len(step_rows)


def time_metrics(db: Path, repeats: int) -> tuple[float, list[float], int]:
    """First call (cold page cache of this process), then the median of ``repeats``."""
    from engine.metrics import metrics_text
    from engine.store import RunStore

    store = RunStore(db)
    began = time.perf_counter()
    text = metrics_text(store)
    first = time.perf_counter() - began
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        metrics_text(store)
        samples.append(time.perf_counter() - began)
    store.close()
    return first, samples, len(text.splitlines())


def time_cli(db: Path, repeats: int) -> list[float]:
    env = {**os.environ, "SPINE_HOME": str(db.parent)}
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "spine_tui.engine_cli", "metrics", "--db",
                        str(db)], env=env, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - began)
    return samples


def time_alert_queueing(db: Path, events: int, channels: int) -> list[float]:
    """Seconds the listener spends on a failed ``RunFinished`` of a watched run, in a tracked
    runner (whose recorder keeps WAL checkpoints off the committing thread, as in a real run)."""
    from engine import AlertPolicy, RunFinished, TrackedWorkflowRunner, WebhookChannel

    runner = TrackedWorkflowRunner(db)
    listener = runner.alerts
    listener.sender.close(0)  # queue only: nothing is sent while timing
    policy = AlertPolicy(on_failure=[WebhookChannel(f"http://127.0.0.1:9/hook{i}")
                                     for i in range(channels)])
    samples = []
    for i in range(events):
        run_id = f"alert{i:011x}"
        listener.watch(run_id, "bench.alerts", policy)
        event = RunFinished(run_id=run_id, workflow="bench.alerts", at=datetime.now(UTC),
                            status="failed", error="boom", error_step="load",
                            duration_seconds=1.0, category="TRANSIENT")
        began = time.perf_counter()
        listener(event)
        samples.append(time.perf_counter() - began)
        listener.unwatch(run_id)
    runner.close()
    runner.store.close()
    return samples


def time_unwatched_event(db: Path, events: int = 100_000) -> float:
    """Seconds per event the listener spends on a run without alerts (every step's events)."""
    from engine import StepFinished
    from engine.alerts import AlertListener
    from engine.store import RunStore

    store = RunStore(db)
    listener = AlertListener(store.db)
    event = StepFinished(run_id="no-alerts", workflow="bench", at=datetime.now(UTC),
                         step="load", status="completed")
    began = time.perf_counter()
    for _ in range(events):
        listener(event)
    elapsed = time.perf_counter() - began
    store.close()
    return elapsed / events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="spine-bench-metrics-"))
    db = work / "spine.db"
    began = time.perf_counter()
    steps = seed(db, args.runs)
    print(f"seeded {args.runs:,} runs, {steps:,} step runs in {time.perf_counter() - began:.1f} s")
    first, samples, lines = time_metrics(db, args.repeats)
    print(f"metrics_text over {args.runs:,} runs: first {first * 1000:.0f} ms, median "
          f"{statistics.median(samples) * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms "
          f"({args.repeats} repeats; {lines} lines)")
    cli = time_cli(db, 3)
    print(f"spine-engine metrics --db (new process): median {statistics.median(cli):.2f} s")
    for channels in (1, 3):
        queued = sorted(time_alert_queueing(db, 300, channels))
        print(f"alert queued on the run's path ({channels} channel{'s' * (channels > 1)}): "
              f"median {statistics.median(queued) * 1e6:.0f} µs, p99 "
              f"{queued[int(0.99 * (len(queued) - 1))] * 1e6:.0f} µs (300 failed runs)")
    print(f"listener on an event of a run without alerts: "
          f"{time_unwatched_event(db) * 1e9:.0f} ns")


if __name__ == "__main__":
    main()
