"""The SEC medallion sample end to end on the default data set (issue 13: ≤ 60 s).

Generates the default data set (2,000 companies, ~500,000 facts) once, then runs the
``sec.medallion`` workflow ``--repeats`` times, each into a fresh SQLite file (bronze,
silver, gold and fixtures), and once more over the last file (the idempotent re-run: zero
bronze rows inserted, nothing new for silver, gold updated in place). Prints the median
total, per-step medians and the figures each run produced.

    .venv/bin/python bench/bench_medallion.py                # default data set, 3 runs
    .venv/bin/python bench/bench_medallion.py --companies 200 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import RunStatus, WorkflowRunner, generate_sec_dataset  # noqa: E402
from sample_workflows.medallion.workflow import wf  # noqa: E402


def step_seconds(result: Any) -> dict[str, float]:
    out = {}
    for name, step in result.steps.items():
        if step.started_at and step.finished_at:
            out[name] = (step.finished_at - step.started_at).total_seconds()
    return out


def run_once(data_dir: Path, db: Path) -> tuple[float, Any]:
    started = time.perf_counter()
    result = WorkflowRunner().execute(wf.workflow, {"data_dir": str(data_dir), "db_path": str(db),
                                           "fixture_count": 5})
    elapsed = time.perf_counter() - started
    if result.status is not RunStatus.COMPLETED:
        raise SystemExit(f"run failed at {result.error_step}: {result.error}")
    return elapsed, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--companies", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-medallion-") as tmp:
        root = Path(tmp)
        os.environ["SPINE_DB"] = str(root / "spine.db")  # dead letters go here
        started = time.perf_counter()
        dataset = generate_sec_dataset(root / "sec", companies=args.companies)
        generate = time.perf_counter() - started
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")
        print(f"data set: {dataset.companies:,} companies, {dataset.filings:,} filings "
              f"({dataset.amendments} amendments), {dataset.facts:,} facts, "
              f"generated in {generate:.2f}s")
        totals, steps = [], []
        result = None
        for i in range(args.repeats):
            elapsed, result = run_once(dataset.root, root / f"run{i}.sqlite")
            totals.append(elapsed)
            steps.append(step_seconds(result))
            print(f"  run {i + 1}: {elapsed:.2f}s")
        assert result is not None
        rerun, again = run_once(dataset.root, root / f"run{args.repeats - 1}.sqlite")
        print(f"\nend to end (median of {args.repeats}): {statistics.median(totals):.2f}s "
              f"(min {min(totals):.2f}s, max {max(totals):.2f}s)")
        print(f"idempotent re-run over the same file: {rerun:.2f}s "
              f"(bronze +{again.outputs['silver_init']['bronze_rows_inserted']} rows, "
              f"silver +{again.outputs['silver_facts']['facts_written']} facts, "
              f"gold {again.outputs['gold']['updated']} rows updated)")
        print("\n| step | median s |\n|---|---|")
        for name in steps[0]:
            print(f"| {name} | {statistics.median(s.get(name, 0.0) for s in steps):.2f} |")
        out = result.outputs
        print(f"\nbronze rows {out['silver_init']['bronze_rows_inserted']:,} "
              f"(rejected {out['silver_init']['bronze_rows_rejected']}), silver facts "
              f"{out['silver_facts']['facts_written']:,} (quarantined "
              f"{out['silver_facts']['facts_failed']}), gold rows "
              f"{out['gold']['rows_upserted']:,}, fixtures {out['fixtures']['fixture_count']}")
        adjusted = out["adjustments"]
        print(f"reference: {out['import_tickers']['tickers_read']:,} tickers, "
              f"{out['import_tickers']['actions_read']} splits; adjustments: "
              f"{adjusted['figures_adjusted']} per-share figures split-adjusted, "
              f"{adjusted['splits_confirmed']} of {adjusted['actions']} splits confirmed by "
              f"silver's detection; Beneish M for "
              f"{out['gold'].get('beneish_scored', 0):,} company-years")


if __name__ == "__main__":
    main()
