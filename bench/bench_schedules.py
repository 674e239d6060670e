"""Schedule loop benchmarks: tick time over 1,000 stored schedules, and how late real fires are.

Run ``.venv/bin/python bench/bench_schedules.py`` (``--repeats N``, ``--seconds S`` for the
real-clock part). A temporary store holds 1,000 schedules; a fake clock makes 0 or 10 of them
due per tick. Figures:

- (a) a tick with none due (the ``schedules_due`` index answers; target ≤ 50 ms);
- (b) a tick with 10 due: each claimed and its run started through ``start_run`` (the run's
  row is written before ``start_run`` returns), each run with a runner of its own (the
  default) or (b2) with one ``TrackedWorkflowRunner`` shared by the loop; (b') the same 10
  claimed with their workflow missing from the catalog: evaluation and claim, no run;
- (c) a real loop (``interval`` 1 s) firing 4 every-second schedules for ``--seconds``: the
  lateness of each run's stored ``created_at`` after its scheduled second, p50/p99.

Every tick figure is the median over ``--repeats`` repeats of the mean of ``TICKS`` ticks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import (  # noqa: E402
    Catalog,
    DiscoveredWorkflow,
    RunStore,
    ScheduleFire,
    ScheduleLoop,
    Schedules,
    Step,
    TrackedWorkflowRunner,
    Workflow,
)

SCHEDULES = 1_000
DUE = 10
TICKS = 20
T0 = dt.datetime(2026, 12, 6, 7, 0, 0, 30_000, tzinfo=dt.UTC).timestamp()  # 07:00:00.03
FLOW = Workflow("bench.sched", [Step.wait("nap", 0)])
CATALOG = Catalog((DiscoveredWorkflow(FLOW, "registry", "registry"),))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def fill(db: Path, workflow: str) -> Clock:
    """1,000 schedules: 990 daily at 06:00 (not due all day), 10 every minute."""
    clock = Clock(T0)
    schedules = Schedules(db, clock=clock)
    for i in range(SCHEDULES - DUE):
        schedules.create(f"daily-{i:04d}", workflow, f"{i % 60} 6 * * *")
    for i in range(DUE):
        schedules.create(f"minutely-{i:02d}", workflow, "* * * * *")
    schedules.store.db.close()
    return clock


def tick_ms(folder: Path, name: str, *, due: bool, catalog: Catalog = CATALOG,
            workflow: str = "bench.sched", shared: bool = False) -> float:
    """Mean ms per tick over ``TICKS`` ticks; with ``due`` the clock moves a minute each time."""
    db = folder / f"{name}.db"
    clock = fill(db, workflow)
    runner = TrackedWorkflowRunner(db) if shared else None
    loop = ScheduleLoop(db, lambda: catalog, clock=clock, runner=runner)
    loop.tick()  # first tick: catalog sync, connection, statement cache
    fires: list[ScheduleFire] = []
    total = 0.0
    for _ in range(TICKS):
        clock.now += 60 if due else 1
        began = time.perf_counter()
        fired = loop.tick()
        total += time.perf_counter() - began
        assert len(fired) == (DUE if due else 0), len(fired)
        fires.extend(fired)
    for fire in fires:
        if fire.handle is not None:
            fire.handle.wait(60)
    if runner is not None:
        runner.close()
    return total / TICKS * 1000


def lateness(folder: Path, seconds: float) -> list[float]:
    """Seconds from each fire's scheduled time to its run row, on the real clock."""
    db = folder / "realtime.db"
    loop = ScheduleLoop(db, lambda: CATALOG, interval=1.0)
    for i in range(4):
        loop.schedules.create(f"every-second-{i}", "bench.sched", "* * * * * *")
    stop = threading.Event()
    thread = loop.start(stop)
    time.sleep(seconds)
    stop.set()
    thread.join()
    store = RunStore(db)
    runs = store.list_runs(workflow="bench.sched", limit=100_000)
    late = []
    for run in runs:
        scheduled = dt.datetime.fromisoformat(run.params["scheduled_at"]).timestamp()
        assert run.created_at is not None
        late.append(run.created_at.timestamp() - scheduled)
    deadline = time.monotonic() + 60
    while any(not r.status.is_terminal for r in store.list_runs(workflow="bench.sched",
                                                                  limit=100_000)):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return late


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    logging.getLogger("engine.schedules").setLevel(logging.CRITICAL)  # (b'): errors on purpose
    figures: dict[str, list[float]] = {"none": [], "due": [], "shared": [], "claim": []}
    with tempfile.TemporaryDirectory(prefix="bench-schedules-") as tmp:
        folder = Path(tmp)
        for r in range(args.repeats):
            figures["none"].append(tick_ms(folder, f"none{r}", due=False))
            figures["due"].append(tick_ms(folder, f"due{r}", due=True))
            figures["shared"].append(tick_ms(folder, f"shared{r}", due=True, shared=True))
            figures["claim"].append(tick_ms(folder, f"claim{r}", due=True,
                                            catalog=Catalog(), workflow="bench.absent"))
        logging.getLogger("engine.schedules").setLevel(logging.NOTSET)
        late = sorted(lateness(folder, args.seconds))
    p50 = statistics.median(late) * 1000
    p99 = late[min(len(late) - 1, int(len(late) * 0.99))] * 1000
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} "
          f"cpus, {platform.system()} {platform.machine()}, Python {platform.python_version()}; "
          f"load average {load:.1f}; median of {args.repeats} repeats of {TICKS} ticks.\n")
    print("| figure | result | target |\n|---|---|---|")
    print(f"| (a) tick, {SCHEDULES:,} schedules, none due | "
          f"{statistics.median(figures['none']) * 1000:.0f} µs | ≤ 50 ms |")
    print(f"| (b) tick, {SCHEDULES:,} schedules, {DUE} due: claim + start {DUE} runs | "
          f"{statistics.median(figures['due']):.1f} ms | ≤ 50 ms |")
    print(f"| (b2) the same, the loop sharing one `TrackedWorkflowRunner` | "
          f"{statistics.median(figures['shared']):.1f} ms | ≤ 50 ms |")
    print(f"| (b') tick, {DUE} due, claim only (workflow not in catalog) | "
          f"{statistics.median(figures['claim']):.1f} ms | — |")
    print(f"| (c) real loop, interval 1 s: run row after its scheduled second, "
          f"{len(late)} fires | p50 {p50:.1f} ms, p99 {p99:.1f} ms | — |")


if __name__ == "__main__":
    main()
