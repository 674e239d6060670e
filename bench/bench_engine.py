"""Engine micro-benchmarks: per-step runner overhead, DAG planning and deep chains.

Run ``.venv/bin/python bench/bench_engine.py`` (``--write`` also records bench/RESULTS.md).
Every figure is the median of ``--repeats`` runs; compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import (  # noqa: E402
    ExecutionMode,
    Step,
    Workflow,
    WorkflowExecutionPolicy,
    WorkflowRunner,
)

RESULTS = Path(__file__).with_name("RESULTS.md")
TARGETS = {"seq_us": 6.0, "par_us": 40.0, "plan_10k_s": 0.2}
PARALLEL_WORKERS = 4
HISTORY = "## History"


def noop(ctx: Any, config: Any) -> None:
    return None


def median_seconds(fn: Callable[[], Any], repeats: int, setup: Callable[[], Any] | None = None
                   ) -> float:
    """Median wall time of ``fn()``; garbage collection is paused while timing."""
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(times)


# --------------------------------------------------------------------------- workflows
def chain(n: int) -> list[Step]:
    return [Step.lambda_(f"s{i}", noop) for i in range(n)]


def fan_out_fan_in(width: int) -> list[Step]:
    middle = [Step.lambda_(f"m{i}", noop, depends_on=["root"]) for i in range(width)]
    return [Step.lambda_("root", noop), *middle,
            Step.lambda_("sink", noop, depends_on=[s.name for s in middle])]


def random_dag(n: int, edges_per_node: int = 3, seed: int = 7) -> list[Step]:
    rng = random.Random(seed)
    steps = []
    for i in range(n):
        deps = rng.sample(range(i), min(edges_per_node, i))
        steps.append(Step.lambda_(f"s{i}", noop, depends_on=[f"s{j}" for j in deps]))
    return steps


def run_checked(runner: WorkflowRunner, wf: Workflow) -> None:
    result = runner.execute(wf)
    if not result.succeeded:
        raise SystemExit(f"benchmark workflow {wf.name} failed: {result.error}")


# --------------------------------------------------------------------------- benchmarks
def bench_floor(repeats: int, n: int = 1000) -> float:
    """ns per call of a plain Python loop calling ``n`` no-op handlers with two arguments."""
    funcs = [noop] * n
    ctx: object = object()
    config: dict[str, Any] = {}

    def loop() -> None:
        for _ in range(100):
            for f in funcs:
                f(ctx, config)

    return median_seconds(loop, repeats) / (100 * n) * 1e9


def bench_sequential(repeats: int, n: int = 1000) -> float:
    wf = Workflow("bench.chain", chain(n))
    runner = WorkflowRunner()
    return median_seconds(lambda: run_checked(runner, wf), repeats) / n * 1e6


def bench_parallel(repeats: int, width: int = 1000) -> float:
    policy = WorkflowExecutionPolicy(mode=ExecutionMode.PARALLEL, max_concurrency=PARALLEL_WORKERS)
    wf = Workflow("bench.fan", fan_out_fan_in(width), execution_policy=policy)
    runner = WorkflowRunner()
    return median_seconds(lambda: run_checked(runner, wf), repeats) / (width + 2) * 1e6


def bench_planning(repeats: int, sizes: tuple[int, ...]) -> list[tuple[str, int, float]]:
    rows = []
    for shape, make in (("chain", chain), ("random DAG, 3 deps/node", random_dag)):
        for n in sizes:
            steps = make(n)
            rows.append((shape, n, median_seconds(lambda s=steps: Workflow("bench.plan", s),
                                                  repeats)))
    return rows


def bench_deep_chain(n: int = 100_000) -> float:
    wf = Workflow("bench.deep", chain(n))
    start = time.perf_counter()
    run_checked(WorkflowRunner(), wf)
    return time.perf_counter() - start


# --------------------------------------------------------------------------- report
def machine() -> dict[str, str]:
    try:
        uname = subprocess.run(["uname", "-a"], capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        uname = " ".join(platform.uname())
    return {"uname": uname, "cpus": str(os.cpu_count()), "python": sys.version.split()[0],
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def report(repeats: int) -> str:
    floor_ns = bench_floor(repeats)
    seq_us = bench_sequential(repeats)
    par_us = bench_parallel(repeats)
    planning = bench_planning(repeats, (1_000, 5_000, 10_000))
    deep_s = bench_deep_chain()
    info = machine()

    lines = [
        "# Engine benchmark results",
        "",
        f"- date: {info['date']}",
        f"- machine: `{info['uname']}`",
        f"- cpus (nproc): {info['cpus']}; python {info['python']}",
        f"- each figure: median of {repeats} repeats (GC paused while timing)",
        "",
        "## Runner overhead (no-op handlers, in memory)",
        "",
        "| benchmark | result | target | vs floor | verdict |",
        "|---|---|---|---|---|",
        f"| (e) plain Python call floor | {floor_ns:.0f} ns/call | — | 1× | — |",
        f"| (a) 1,000-step sequential chain (`Step.lambda_`) | {seq_us:.2f} µs/step "
        f"| ≤ {TARGETS['seq_us']:g} µs | {seq_us * 1000 / floor_ns:.0f}× "
        f"| {verdict(seq_us, TARGETS['seq_us'])} |",
        f"| (b) 1,000-wide fan-out/fan-in, PARALLEL, {PARALLEL_WORKERS} workers "
        f"| {par_us:.2f} µs/step | ≤ {TARGETS['par_us']:g} µs | {par_us * 1000 / floor_ns:.0f}× "
        f"| {verdict(par_us, TARGETS['par_us'])} |",
        f"| (d) 100,000-step sequential chain (one run, GC on) | {deep_s:.2f} s "
        f"({deep_s / 100_000 * 1e6:.2f} µs/step), no RecursionError | — | — | ok |",
        "",
        "## Planning (`Workflow(...)` construction: validation + topological order)",
        "",
        "| shape | steps | time | µs/step | vs 1k µs/step | verdict |",
        "|---|---|---|---|---|---|",
    ]
    base: dict[str, float] = {}
    for shape, n, seconds in planning:
        per_step = seconds / n * 1e6
        base.setdefault(shape, per_step)
        check = verdict(seconds, TARGETS["plan_10k_s"]) if n == 10_000 else "—"
        lines.append(f"| {shape} | {n:,} | {seconds * 1000:.1f} ms | {per_step:.2f} "
                     f"| {per_step / base[shape]:.2f}× | {check} |")
    lines += ["", f"Targets: sequential ≤ {TARGETS['seq_us']:g} µs/step, parallel ≤ "
              f"{TARGETS['par_us']:g} µs/step, 10k-step planning < {TARGETS['plan_10k_s']:g} s. "
              "Constant µs/step across 1k/5k/10k means planning scales linearly."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs per figure (median)")
    parser.add_argument("--write", action="store_true", help="also write bench/RESULTS.md")
    args = parser.parse_args()
    text = report(args.repeats)
    print(text)
    if args.write:
        RESULTS.write_text(text + kept_history(), encoding="utf-8")
        print(f"written to {RESULTS}")


def kept_history() -> str:
    """The hand-written ``## History`` section of the current RESULTS.md, kept on rewrite."""
    if not RESULTS.exists():
        return ""
    old = RESULTS.read_text(encoding="utf-8")
    start = old.find(HISTORY)
    return "\n" + old[start:] if start >= 0 else ""


if __name__ == "__main__":
    main()
