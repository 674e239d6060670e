"""Playground benchmarks: ``step()`` overhead, ``step_back()`` and memory with large outputs.

Run ``.venv/bin/python bench/bench_playground.py`` (``--write`` also records the
``## Playground`` section of bench/RESULTS.md). Every figure is the median of ``--repeats``
runs with garbage collection paused; compare ratios within one run, not across machines.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_engine import machine  # noqa: E402

from engine import Step, Workflow, WorkflowRunner  # noqa: E402
from engine.context import WorkflowContext  # noqa: E402
from engine.playground import WorkflowPlayground  # noqa: E402
from engine.runner import StepState  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## Playground"
TARGETS = {"step_us": 200.0, "back_ms": 1.0, "memory_ratio": 2.0}
SNAPSHOTS, MB = 200, 1_000_000
BLOBS = [f"{i:07d}" * (MB // 7) for i in range(SNAPSHOTS)]  # built once: handlers cost ~0


def noop(ctx: Any, config: Any) -> None:
    return None


def big(ctx: Any, config: Any) -> dict[str, Any]:
    return {"blob": BLOBS[len(ctx.outputs) % SNAPSHOTS]}


def timed(fn: Callable[[], Any], repeats: int, setup: Callable[[], Any] | None = None
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


def chain(n: int, handler: Callable[..., Any] = noop) -> Workflow:
    return Workflow(f"bench.chain{n}", [Step.lambda_(f"s{i}", handler) for i in range(n)])


def step_all(pg: WorkflowPlayground, n: int) -> None:
    for _ in range(n):
        pg.step()


def bench_step(repeats: int, n: int, handler: Callable[..., Any] = noop) -> float:
    """µs per ``pg.step()`` walking an ``n``-step chain from its start."""
    pg, wf = WorkflowPlayground(), chain(n, handler)
    return timed(lambda: step_all(pg, n), repeats, setup=lambda: pg.load(wf)) / n * 1e6


def bench_run_step(repeats: int, n: int) -> float:
    """µs per bare ``WorkflowRunner.run_step`` + ``set_output``: what any step costs anyway."""
    wf, runner = chain(n), WorkflowRunner()

    def run() -> None:
        ctx = WorkflowContext("bench", wf.name)
        for step in wf.steps:
            state = runner.run_step(step, ctx, StepState(step.name))
            ctx.set_output(step.name, state.output)

    return timed(run, repeats) / n * 1e6


def loaded_big() -> WorkflowPlayground:
    pg = WorkflowPlayground()
    pg.load(chain(SNAPSHOTS, big))
    pg.continue_()
    return pg


def bench_step_back(repeats: int, pg: WorkflowPlayground) -> float:
    """ms per ``step_back()`` walking all 200 snapshots of 1 MB outputs back to the load."""

    def walk() -> None:
        for _ in range(SNAPSHOTS):
            pg.step_back()

    return timed(walk, repeats, setup=lambda: pg.goto(SNAPSHOTS)) / SNAPSHOTS * 1e3


def bench_back_and_step(repeats: int, pg: WorkflowPlayground) -> float:
    """ms for ``step_back()`` + ``step()`` at the end: includes rebuilding the live context."""

    def back_and_step() -> None:
        pg.step_back()
        pg.step()

    return timed(back_and_step, repeats, setup=lambda: pg.goto(SNAPSHOTS)) * 1e3


def bench_jump_and_diff(repeats: int, pg: WorkflowPlayground) -> tuple[float, float]:
    jump = timed(lambda: (pg.goto(0), pg.goto(SNAPSHOTS)), repeats) / 2 * 1e3
    diff = timed(lambda: pg.diff(0, SNAPSHOTS), repeats) * 1e3
    return jump, diff


def bench_memory() -> tuple[float, float]:
    """(MB traced while holding 200 snapshots of fresh 1 MB outputs, ratio to the live data)."""
    wf = Workflow("bench.mem", [Step.lambda_(f"s{i}", lambda ctx, config: {
        "blob": f"{len(ctx.outputs):07d}" * (MB // 7)}) for i in range(SNAPSHOTS)])
    pg = WorkflowPlayground()
    pg.load(wf)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        pg.continue_()
        pg.rewind(SNAPSHOTS // 2)
        pg.goto(SNAPSHOTS)
        used = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    live = sum(len(v["blob"]) for v in pg.outputs.values()) + 49 * SNAPSHOTS  # str headers
    return used / 1e6, used / live


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def report(repeats: int) -> str:
    floor_us = bench_run_step(repeats, SNAPSHOTS)
    step_us = bench_step(repeats, SNAPSHOTS)
    step_big_us = bench_step(repeats, SNAPSHOTS, big)
    step_1k_us = bench_step(repeats, 1_000)
    step_5k_us = bench_step(max(3, repeats // 3), 5_000)
    pg = loaded_big()
    back_ms = bench_step_back(repeats, pg)
    back_step_ms = bench_back_and_step(repeats, pg)
    jump_ms, diff_ms = bench_jump_and_diff(repeats, pg)
    mem_mb, ratio = bench_memory()
    info = machine()
    over = step_us - floor_us
    return "\n".join([
        SECTION,
        "",
        f"- date: {info['date']}",
        f"- machine: `{info['uname']}`",
        f"- cpus (nproc): {info['cpus']}; python {info['python']}",
        f"- each figure: median of {repeats} repeats (GC paused while timing); "
        "`.venv/bin/python bench/bench_playground.py --write`",
        "",
        "| benchmark | result | target | verdict |",
        "|---|---|---|---|",
        f"| bare `run_step` + `set_output` per step (what a real run pays) | {floor_us:.1f} µs "
        "| — | — |",
        f"| `step()`, 200-step chain, no-op handler | {step_us:.1f} µs/step "
        f"(+{over:.1f} µs over `run_step`) | ≤ {TARGETS['step_us']:g} µs "
        f"| {verdict(step_us, TARGETS['step_us'])} |",
        f"| `step()`, 200 steps returning 1 MB outputs | {step_big_us:.1f} µs/step "
        f"| ≤ {TARGETS['step_us']:g} µs | {verdict(step_big_us, TARGETS['step_us'])} |",
        f"| `step()`, 1,000-step chain | {step_1k_us:.1f} µs/step | — | — |",
        f"| `step()`, 5,000-step chain (snapshot dicts grow with the step count) "
        f"| {step_5k_us:.1f} µs/step | — | — |",
        f"| `step_back()`, 200 snapshots of 1 MB outputs | {back_ms * 1000:.2f} µs "
        f"| ≤ {TARGETS['back_ms'] * 1000:g} µs | {verdict(back_ms, TARGETS['back_ms'])} |",
        f"| `step_back()` + `step()` at snapshot 200 (rebuilds the live context) "
        f"| {back_step_ms * 1000:.1f} µs | — | — |",
        f"| `goto(0)` / `goto(200)` jump | {jump_ms * 1000:.2f} µs | — | — |",
        f"| `diff(0, 200)` (200 outputs added) | {diff_ms * 1000:.1f} µs | — | — |",
        f"| memory: 200 snapshots of 1 MB outputs (tracemalloc) | {mem_mb:.1f} MB = "
        f"{ratio:.3f}× the live outputs | ≤ {TARGETS['memory_ratio']:g}× "
        f"| {verdict(ratio, TARGETS['memory_ratio'])} |",
        "",
        "Snapshots share output objects and copy only the small name → output and name → "
        "record dicts, so `step()` costs O(steps so far) in references (visible at 5,000 "
        "steps) and `step_back()`/`goto()` are pointer moves; the live context is rebuilt "
        "lazily, on the next step after a move.",
    ]) + "\n"


def write_section(text: str) -> None:
    """Replace this script's section of RESULTS.md (or append it), leaving the rest alone."""
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    start = old.find(SECTION)
    if start < 0:
        RESULTS.write_text(old.rstrip("\n") + "\n\n" + text, encoding="utf-8")
        return
    end = old.find("\n## ", start + len(SECTION))
    rest = old[end + 1:] if end >= 0 else ""
    RESULTS.write_text(old[:start] + text + ("\n" + rest if rest else ""), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="runs per figure (median)")
    parser.add_argument("--write", action="store_true", help="also write bench/RESULTS.md")
    args = parser.parse_args()
    text = report(args.repeats)
    print(text)
    if args.write:
        write_section(text)
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
