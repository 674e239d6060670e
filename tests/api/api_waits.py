"""Waiting on the API in tests: poll a run's status with a deadline, never a fixed sleep."""

from __future__ import annotations

import time
from typing import Any


def wait_for_status(client: Any, run_id: str, statuses: set[str],
                    timeout: float = 30) -> dict:
    """Poll ``/runs/{run_id}`` until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        body = client.get(f"/runs/{run_id}").json()
        if body.get("status") in statuses:
            return body
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} still {body.get('status')} after {timeout} s")


def wait_until(condition: Any, timeout: float = 20.0, what: str = "") -> Any:
    """The first truthy value of ``condition()``; fails naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what or condition}")
