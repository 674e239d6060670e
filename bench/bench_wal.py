"""WAL size and per-step cost over many consecutive tracked runs in one process.

Run ``.venv/bin/python bench/bench_wal.py`` (``--runs 100 --steps 1000``): one
``TrackedWorkflowRunner(capture_logs=False)`` runs a chain of no-op steps ``--runs`` times
into a fresh store in a temp dir. Per run it prints µs/step (run wall time / steps), the
median and the longest gap between two step completions, the ``-wal`` file's size after the
run, and the largest size seen during it (sampled every 50 steps); at the end, how long
closing the runner and the store took (their final checkpoint). ``--step-us`` makes each
step spin that long, like a step doing real work. Compare commits by running this same file
in a worktree of each (it imports the ``engine`` beside it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import Step, StepFinished, TrackedWorkflowRunner, Workflow  # noqa: E402

SAMPLE_EVERY = 50  # steps between two looks at the WAL's size during a run
MB = 1e6


def spin(ctx: Any, config: Any) -> None:
    """A step that keeps the CPU busy for ``config["us"]`` µs (0: returns at once)."""
    end = time.perf_counter() + config["us"] / 1e6
    spins = 0
    while time.perf_counter() < end:
        spins += 1


class StepClock:
    """Listener recording the gap between consecutive step completions and the WAL's size."""

    def __init__(self, wal: Path) -> None:
        self.wal = wal
        self.gaps: list[float] = []
        self.wal_max = 0
        self._last = 0.0

    def start(self) -> None:
        self.gaps = []
        self.wal_max = 0
        self._last = time.perf_counter()

    def wal_size(self) -> int:
        try:
            return self.wal.stat().st_size
        except FileNotFoundError:
            return 0

    def __call__(self, event: Any) -> None:
        if isinstance(event, StepFinished):
            now = time.perf_counter()
            self.gaps.append(now - self._last)
            self._last = now
            if len(self.gaps) % SAMPLE_EVERY == 0:
                self.wal_max = max(self.wal_max, self.wal_size())


def bench(runs: int, steps: int, step_us: float) -> tuple[list[dict[str, float]], float]:
    wf = Workflow("bench.wal", [Step.lambda_(f"s{i}", spin, config={"us": step_us})
                                for i in range(steps)])
    rows = []
    with tempfile.TemporaryDirectory(prefix="spine-bench-wal-") as name:
        db = Path(name) / "spine.db"
        clock = StepClock(Path(f"{db}-wal"))
        runner = TrackedWorkflowRunner(db, capture_logs=False, listeners=[clock])
        try:
            for _ in range(runs):
                clock.start()
                start = time.perf_counter()
                result = runner.execute(wf)
                elapsed = time.perf_counter() - start
                if result.status != "completed":
                    raise SystemExit(f"run {result.run_id} ended {result.status}")
                after = clock.wal_size()
                rows.append({"us_per_step": elapsed / steps * 1e6,
                             "median_gap_us": statistics.median(clock.gaps) * 1e6,
                             "max_gap_ms": max(clock.gaps) * 1e3,
                             "wal_after": after, "wal_max": max(clock.wal_max, after)})
        finally:
            start = time.perf_counter()
            runner.close()
            runner.store.close()
            close_s = time.perf_counter() - start
    return rows, close_s


def report(rows: list[dict[str, float]], close_s: float, steps: int, step_us: float,
           every: int) -> str:
    info = (f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC}; machine: "
            f"`{' '.join(platform.uname()[:3])}`, cpus (nproc): {os.cpu_count()}; "
            f"python {sys.version.split()[0]}; SQLite {sqlite3.sqlite_version}; "
            f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    lines = [info, f"- {len(rows)} runs of {steps:,} steps ({step_us:g} µs of work each), "
             "one process", "",
             "| run | µs/step | median step µs | longest step ms | WAL after run | "
             "WAL max in run |", "|---|---|---|---|---|---|"]
    for i, row in enumerate(rows, 1):
        if i == 1 or i % every == 0 or i == len(rows):
            lines.append(f"| {i} | {row['us_per_step']:.1f} | {row['median_gap_us']:.1f} "
                         f"| {row['max_gap_ms']:.1f} | {row['wal_after'] / MB:.1f} MB "
                         f"| {row['wal_max'] / MB:.1f} MB |")

    total_us = sum(row["us_per_step"] for row in rows) * steps

    def q(key: str, p: float) -> float:
        values = sorted(row[key] for row in rows)
        return values[min(len(values) - 1, int(p * len(values)))]

    lines += ["", f"Over all runs: µs/step median {q('us_per_step', 0.5):.1f} "
              f"(p90 {q('us_per_step', 0.9):.1f}); median step "
              f"{q('median_gap_us', 0.5):.1f} µs (p90 {q('median_gap_us', 0.9):.1f}); "
              f"longest step {max(r['max_gap_ms'] for r in rows):.1f} ms; "
              f"WAL max **{max(r['wal_max'] for r in rows) / MB:.1f} MB**, "
              f"after the last run {rows[-1]['wal_after'] / MB:.1f} MB; closing the runner "
              f"and the store {close_s * 1000:.0f} ms; all runs plus the close "
              f"{(total_us + close_s * 1e6) / (len(rows) * steps):.1f} µs/step."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--step-us", type=float, default=0.0, help="work per step, µs")
    parser.add_argument("--every", type=int, default=1, help="print every Nth run's row")
    args = parser.parse_args()
    rows, close_s = bench(args.runs, args.steps, args.step_us)
    print(report(rows, close_s, args.steps, args.step_us, args.every))


if __name__ == "__main__":
    main()
