"""Time ``WorkflowPlayground.load_run`` of a stored 1,000-step run (target < 0.3 s).

Run: .venv/bin/python bench/bench_load_run.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from engine import (
    RunStore,
    Step,
    TrackedWorkflowRunner,
    Workflow,
    WorkflowPlayground,
    register_workflow,
)


def noop(ctx, config):
    return {"i": config["i"]}


def main(repeats: int = 7) -> None:
    wf = Workflow("bench.load_run", steps=[Step.lambda_(f"s{i}", noop, config={"i": i})
                                           for i in range(1000)])
    register_workflow(wf)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "s.db"
        with TrackedWorkflowRunner(db, capture_logs=False) as runner:
            run_id = runner.execute(wf).run_id
        store = RunStore(db)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            WorkflowPlayground().load_run(run_id, store, at="s500")
            times.append(time.perf_counter() - start)
    print(f"load_run of a 1,000-step run (positioned at step 500): median "
          f"{statistics.median(times) * 1000:.1f} ms over {repeats} (target < 300 ms)")


if __name__ == "__main__":
    main()
