"""Step handlers the executor tests send to worker processes: module level in an importable
module, so a worker imports them by ``module:qualname``."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from engine import StepResult


def square(item: int) -> dict[str, Any]:
    return {"value": item * item, "pid": os.getpid()}


def numbers(count: int = 10) -> dict[str, Any]:
    return {"numbers": list(range(count))}


def total(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"total": sum(r["value"] for r in results)}


def chatty(ctx: Any, config: dict[str, Any]) -> StepResult:
    """Prints and logs, so its lines must reach the run's log from the worker."""
    print(f"hello from {os.getpid()}")
    logging.getLogger("spine.run").warning("careful with %s", config.get("what", "x"))
    return StepResult.ok(output={"params": dict(ctx.params), "seen": sorted(ctx.outputs)})


def failing(item: int) -> dict[str, Any]:
    raise ValueError(f"bad item {item}")


def big(size: int = 2_000_000) -> dict[str, Any]:
    """An output larger than the inline limit: it must come back through the artifacts."""
    return {"blob": "x" * size}


def wait_for_file(flag: str, timeout: float = 30.0) -> dict[str, Any]:
    """Write our pid next to ``flag`` and wait until ``flag`` exists (the test's signal)."""
    Path(flag + ".pid").write_text(str(os.getpid()))
    deadline = time.monotonic() + timeout
    while not Path(flag).exists():
        if time.monotonic() > deadline:
            raise TimeoutError("flag never appeared")
        time.sleep(0.01)
    return {"pid": os.getpid()}


def first_attempt_waits(marker: str, timeout: float = 30.0) -> dict[str, Any]:
    """The first call records its pid and blocks (to be killed); later calls return."""
    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        time.sleep(timeout)
    return {"pid": os.getpid()}


def slow(seconds: float = 5.0) -> dict[str, Any]:
    time.sleep(seconds)
    return {"slept": seconds}


def burn(item: int, loops: int = 200_000) -> dict[str, Any]:
    """CPU-bound work (holds the GIL)."""
    acc = 0
    for i in range(loops):
        acc = (acc * 31 + i + item) % 1_000_003
    return {"acc": acc}
