"""Executors: what a step pays to run on worker processes or a Dask cluster.

1. A 10,000-item map of a 1 ms task on 2 workers: the ``dask`` executor against a raw
   ``client.map`` on the same ``LocalCluster`` (target <= 1.3x), and the ``processes``
   executor against a bare ``ProcessPoolExecutor.map`` with the same start method (<= 1.3x).
2. A CPU-bound map on 2 workers: ``processes`` and ``dask`` against ``threads`` (>= 1.7x).
3. Where each executor starts to pay off: CPU-bound items of 0.1 / 1 / 10 ms, threads vs
   processes vs dask, 2 workers each.

Runs without a store (``WorkflowRunner``, no listeners): the executor's own overhead.
Usage: ``.venv/bin/python bench/bench_executors.py [--repeats 3] [--items 10000]``
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import _executor_tasks as tasks  # noqa: E402

from engine import (  # noqa: E402
    DaskExecutor,
    ManagedWorkflow,
    ProcessExecutor,
    RunStatus,
    WorkflowRunner,
)

WORKERS = 2


def fan_out(name: str, fn: Callable[..., object], count: int, window: int,
            config: dict[str, object] | None = None) -> ManagedWorkflow:
    """``items`` then ``fn`` once per item, ``window`` items in flight."""
    return (ManagedWorkflow(name).step("items", tasks.items, config={"count": count})
            .step("each", fn, config=config, parallel=True, partition_key="item",
                  max_workers=window))


def timed(call: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(executor: object, flow: ManagedWorkflow) -> None:
    result = WorkflowRunner(executor=executor).execute(flow.workflow)  # type: ignore[arg-type]
    assert result.status is RunStatus.COMPLETED, result.error


@contextlib.contextmanager
def dask_cluster() -> Iterator[str]:
    """A scheduler and two one-thread workers as their own processes on 127.0.0.1 (as with
    ``--scheduler``), so the scheduler does not share the coordinator's GIL."""
    bin_dir = Path(sys.executable).parent
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    procs = [subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"], **quiet)]
    procs += [subprocess.Popen([str(bin_dir / "dask"), "worker", address, "--nthreads", "1",
                                "--nworkers", "1", "--no-dashboard"], **quiet)
              for _ in range(WORKERS)]
    try:
        from distributed import Client
        with Client(address, timeout=30) as probe:
            probe.wait_for_workers(WORKERS, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--cpu-only", action="store_true",
                        help="only the CPU-bound table (re-measure it on a quiet machine)")
    args = parser.parse_args()
    n, repeats = args.items, args.repeats
    print(f"# bench_executors — {date.today()} — {platform.node()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}; median of {repeats}")
    rows: list[tuple[str, float, float, float]] = []

    with dask_cluster() as address, DaskExecutor(address) as dask, \
            ProcessExecutor(WORKERS) as procs:
        client = dask.client
        window = 64
        if args.cpu_only:
            cpu_table(dask, procs, repeats)
            return
        sleepy = fan_out("bench.sleep", tasks.sleep_1ms, n, window)
        run(dask, fan_out("warm", tasks.sleep_1ms, 50, window))
        run(procs, fan_out("warm", tasks.sleep_1ms, 50, window))

        def raw_dask() -> None:
            client.gather(client.map(tasks.sleep_1ms, range(n), pure=False))

        raw = timed(raw_dask, repeats)
        ours = timed(lambda: run(dask, sleepy), repeats)
        rows.append((f"{n:,} × 1 ms, dask executor vs client.map", ours, raw, ours / raw))

        pool = ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"))
        list(pool.map(tasks.sleep_1ms, range(50)))
        bare = timed(lambda: list(pool.map(tasks.sleep_1ms, range(n))), repeats)
        pool.shutdown()
        ours = timed(lambda: run(procs, sleepy), repeats)
        rows.append((f"{n:,} × 1 ms, processes executor vs ProcessPoolExecutor.map", ours,
                     bare, ours / bare))

        print("\n| 1 ms map | executor (s) | baseline (s) | ratio |\n|---|---|---|---|")
        for label, a, b, ratio in rows:
            print(f"| {label} | {a:.2f} | {b:.2f} | {ratio:.2f}× |")

        cpu_table(dask, procs, repeats)


def cpu_table(dask: DaskExecutor, procs: ProcessExecutor, repeats: int) -> None:
    """CPU-bound items of growing cost: threads vs processes vs dask, 2 workers each."""
    print("\n| CPU-bound items (2 workers) | count | threads (s) | processes (s) | dask (s) "
          "| processes speed-up | dask speed-up |\n|---|---|---|---|---|---|---|")
    for cost, count in ((0.0001, 2000), (0.001, 1000), (0.01, 200), (0.05, 80)):
        rounds = {"rounds": tasks.rounds_for(cost)}
        flow = fan_out("bench.cpu", tasks.spin, count, 4 * WORKERS, rounds)
        local = fan_out("bench.cpu", tasks.spin, count, WORKERS, rounds)
        run(procs, flow)  # warm the workers' imports
        threads = timed(lambda local=local: run(None, local), repeats)
        on_procs = timed(lambda flow=flow: run(procs, flow), repeats)
        on_dask = timed(lambda flow=flow: run(dask, flow), repeats)
        print(f"| {cost * 1000:g} ms | {count} | {threads:.2f} | {on_procs:.2f} | "
              f"{on_dask:.2f} | {threads / on_procs:.2f}× | {threads / on_dask:.2f}× |")


if __name__ == "__main__":
    main()
