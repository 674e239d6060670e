"""Tasks for ``bench_executors.py``: module level in an importable module, so worker
processes (spawned, or Dask's) import them by name."""

from __future__ import annotations

import time
from typing import Any


def sleep_1ms(item: int) -> dict[str, Any]:
    """A 1 ms task (sleeps, so it costs wall time, not CPU)."""
    time.sleep(0.001)
    return {"item": item}


def spin(item: int, rounds: int = 100) -> dict[str, Any]:
    """CPU-bound: a fixed amount of pure-Python arithmetic (holds the GIL). Fixed work, not a
    wall-clock deadline: two threads spinning to a deadline would both finish on time while
    each got half a CPU, and threads would look as fast as processes."""
    acc = item
    for _ in range(rounds):
        for i in range(200):
            acc = (acc * 31 + i) % 1_000_003
    return {"acc": acc}


def rounds_for(seconds: float) -> int:
    """How many ``spin`` rounds take about ``seconds`` of CPU in this process."""
    probe = 2_000
    start = time.process_time()
    spin(0, probe)
    per_round = (time.process_time() - start) / probe
    return max(1, round(seconds / per_round))


def items(count: int) -> dict[str, Any]:
    return {"items": list(range(count))}
