"""Waiting in engine tests: poll for a condition with a deadline, never a fixed sleep; and
whether a process is gone (what a test of killed jobs waits for)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def wait_until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """The first truthy value of ``condition()``; fails naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what or condition}")


def gone(pid: int) -> bool:
    """The process no longer runs (a zombie waiting for init to collect it is dead too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"
