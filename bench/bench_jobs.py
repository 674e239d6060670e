"""Process jobs: what ``LocalProcessAdapter`` adds to starting a process (issue 12).

Each repeat times, interleaved so machine noise hits all alike:

- bare: ``subprocess.run([python, "-c", "pass"])``, the floor;
- (a) ``await adapter.submit(spec)`` → ``await adapter.wait(job)`` for the same command:
  spec checks (program lookup, machine limits), a scratch folder, the isolated environment,
  a new session, the supervisor thread reading both pipes, exit seen through a pidfd;
  ``cleanup`` (removing the scratch folder) is outside the clock;
- (b) the same with ``memory_limit``/``cpu_seconds`` set: rlimits need ``preexec_fn``, so the
  child is forked rather than spawned with vfork;
- (c) ``JobEngine.run``: router (validation, availability), logs followed, cleanup included;
- (d) a whole ``Step.pipeline`` step through ``ContainerRunnable`` in a ``WorkflowRunner``.

Target (issue 12): (a) / bare <= 1.5x, medians of the repeats.

Usage: .venv/bin/python bench/bench_jobs.py [--repeats 40] [--append]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_engine import machine  # noqa: E402

from engine import (  # noqa: E402
    ContainerJobSpec,
    ContainerRunnable,
    JobEngine,
    LocalProcessAdapter,
    ResourceRequirements,
    Step,
    Workflow,
    WorkflowRunner,
)

TARGET = 1.5
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


async def measure(repeats: int) -> dict[str, list[float]]:
    adapter = LocalProcessAdapter()
    engine = JobEngine()
    plain = ContainerJobSpec(name="bench", image="none", command=[sys.executable, "-c", "pass"])
    limited = ContainerJobSpec(name="bench", image="none", command=[sys.executable, "-c", "pass"],
                               resources=ResourceRequirements(memory_limit="1Gi", cpu_seconds=60))
    runnable = ContainerRunnable(engine)
    runnable.register("bench.pass", [sys.executable, "-c", "pass"])
    workflow = Workflow("bench.jobs", [Step.pipeline("job", "bench.pass")])
    runner = WorkflowRunner()

    def bare() -> None:
        subprocess.run([sys.executable, "-c", "pass"], check=True)

    async def adapter_job(spec: ContainerJobSpec) -> float:
        start = time.perf_counter()
        job_id = await adapter.submit(spec)
        status = await adapter.wait(job_id)
        elapsed = time.perf_counter() - start
        assert status.succeeded, status
        await adapter.cleanup(job_id)
        return elapsed

    async def engine_run() -> None:
        assert (await engine.run(plain)).succeeded

    def step() -> None:
        assert runner.execute(workflow).outputs == {"job": {}}

    def timed(fn: Callable[[], None]) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    async def timed_async(fn: Callable[[], object]) -> float:
        start = time.perf_counter()
        await fn()  # type: ignore[misc]
        return time.perf_counter() - start

    times: dict[str, list[float]] = {"bare": [], "a": [], "b": [], "c": [], "d": []}
    for i in range(repeats + 3):  # three warm-up rounds are dropped
        round_times = {
            "bare": timed(bare),
            "a": await adapter_job(plain),
            "b": await adapter_job(limited),
            "c": await timed_async(engine_run),
            "d": await asyncio.to_thread(timed, step),  # the runner's own asyncio.run
        }
        if i >= 3:
            for key, value in round_times.items():
                times[key].append(value)
    return times


def report(times: dict[str, list[float]], repeats: int) -> str:
    info = machine()
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    spread = {k: (min(v) * 1000, max(v) * 1000) for k, v in times.items()}
    ratio = med["a"] / med["bare"]
    verdict = "met" if ratio <= TARGET else "MISSED"
    rows = [
        ("bare `subprocess.run([python, '-c', 'pass'])`", "bare", "1.00×"),
        ("(a) `LocalProcessAdapter` submit → exit", "a", f"{ratio:.2f}× (≤ {TARGET}×: {verdict})"),
        ("(b) the same with memory_limit + cpu_seconds (preexec_fn)", "b",
         f"{med['b'] / med['bare']:.2f}×"),
        ("(c) `JobEngine.run` (route, follow logs, wait, cleanup)", "c",
         f"{med['c'] / med['bare']:.2f}×"),
        ("(d) a `Step.pipeline` job step in `WorkflowRunner.execute`", "d",
         f"{med['d'] / med['bare']:.2f}×"),
    ]
    lines = [
        "",
        "## Process jobs (issue 12): `LocalProcessAdapter` submit-to-exit vs a bare "
        "`subprocess.run`",
        "",
        f"`bench/bench_jobs.py --repeats {repeats}`; command `python -c pass` (this venv's "
        "interpreter), all variants interleaved in each round, 3 warm-up rounds dropped.",
        "",
        f"- date: {info['date']}; machine: {info['cpus']} cpus, {info['uname']}; "
        f"Python {info['python']}",
        "",
        "| figure | median | min – max | vs bare |",
        "|---|---|---|---|",
    ]
    for label, key, vs in rows:
        low, high = spread[key]
        lines.append(f"| {label} | {med[key]:.1f} ms | {low:.1f} – {high:.1f} ms | {vs} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--append", action="store_true", help="append the table to RESULTS.md")
    args = parser.parse_args()
    text = report(asyncio.run(measure(args.repeats)), args.repeats)
    print(text)
    if args.append:
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
