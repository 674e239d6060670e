"""An adaptive run with fixed ids and times, written straight into a test's run store: its
``plan`` step inserted ``audit`` after ``extract`` and skipped ``report``, so pictures of the
run-detail graph pane never change from one test run to the next."""

from __future__ import annotations

import json
from pathlib import Path

from store_rows import T0, add_runs

from engine import RunStore

ADAPTIVE_RUN = "adaed0000000001"
GRAPH = {"steps": ["plan", "extract", "audit", "load", "report"],
         "edges": [["plan", "extract"], ["extract", "audit"], ["audit", "load"],
                   ["load", "report"], ["plan", "report"]]}


def add_adaptive_run(db: Path) -> str:
    """The run, its step rows, two ``adaptive_change`` events and one log line."""
    add_runs(db, [{"run_id": ADAPTIVE_RUN, "workflow": "tui.adaptive", "status": "completed",
                   "created_at": T0, "duration_seconds": 3.0, "step_count": 5}])
    steps = [("plan", 0.0, 0.5), ("extract", 0.5, 1.5), ("audit", 1.5, 2.0),
             ("load", 2.0, 3.0)]
    changes = [
        (1, "plan", 0.5, {"change": "insert_after", "inserted": "audit", "after": "extract",
                          "depends_on": ["extract"], "rewired": ["load"],
                          "definition": {"name": "audit", "type": "lambda"}, "graph": GRAPH}),
        (2, "plan", 0.5, {"change": "skip", "steps": ["report"]}),
    ]
    store = RunStore(db)
    with store.db.transaction() as conn:
        conn.executemany(
            "INSERT INTO step_runs (run_id, step, workflow, status, attempts, started_at, "
            "finished_at, duration_seconds) VALUES (?, ?, 'tui.adaptive', 'completed', 1, "
            "?, ?, ?)", [(ADAPTIVE_RUN, name, T0 + a, T0 + b, b - a) for name, a, b in steps])
        conn.executemany(
            "INSERT INTO events (run_id, seq, kind, step, at, data) "
            "VALUES (?, ?, 'adaptive_change', ?, ?, ?)",
            [(ADAPTIVE_RUN, seq, step, T0 + at, json.dumps(data))
             for seq, step, at, data in changes])
        conn.execute("INSERT INTO logs (run_id, seq, step, at, stream, level, message) "
                     "VALUES (?, 1, 'audit', ?, 'stdout', 'INFO', 'audited 3 rows')",
                     (ADAPTIVE_RUN, T0 + 1.75))
    store.close()
    return ADAPTIVE_RUN
