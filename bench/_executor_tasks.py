"""Tasks for ``bench_executors.py``: module level in an importable module, so worker
processes (spawned, or Dask's) import them by name."""

from __future__ import annotations

import time
from typing import Any


def sleep_1ms(item: int) -> dict[str, Any]:
    """A 1 ms task (sleeps, so it costs wall time, not CPU)."""
    time.sleep(0.001)
    return {"item": item}


def spin(item: int, seconds: float = 0.001) -> dict[str, Any]:
    """CPU-bound: pure-Python arithmetic for about ``seconds`` (holds the GIL)."""
    end = time.perf_counter() + seconds
    acc = item
    while time.perf_counter() < end:
        for i in range(200):
            acc = (acc * 31 + i) % 1_000_003
    return {"acc": acc}


def items(count: int) -> dict[str, Any]:
    return {"items": list(range(count))}
