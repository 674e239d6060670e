"""Fixture workflows for running from the TUI: params, a failure with retries, chatty logs.

Kept in a ``_``-folder so scanning ``tests/resources/tui`` does not list them; tests pass
this folder explicitly.
"""

from __future__ import annotations

import logging
import time

from engine import ErrorCategory, ErrorPolicy, RetryPolicy, Step, StepResult, Workflow

log = logging.getLogger("tui.fixture")


def scale(n: int, factor: float) -> dict:
    """Multiply the run param ``n`` by ``factor``."""
    print(f"scaling {n} by {factor}")
    return {"value": n * factor}


def report(value: float) -> dict:
    print(f"value is {value}")
    return {"report": f"value={value}"}


params = Workflow(
    "tui.params",
    steps=[Step.from_function("scale", scale), Step.from_function("report", report)],
    defaults={"factor": 2.0},
    description="Scales the param n.",
)


def fetch(ctx, config):
    print("fetched 3 rows")
    return StepResult.ok(output={"rows": [1, 2, 3], "blob": "x" * 1000})


def check(ctx, config):
    log.warning("row 2 looks odd")
    return StepResult.fail("2 rows failed validation", category=ErrorCategory.DATA_QUALITY)


failing = Workflow(
    "tui.failing",
    steps=[
        Step.lambda_("fetch", fetch),
        Step.lambda_("check", check, on_error=ErrorPolicy.RETRY,
                     retry_policy=RetryPolicy(max_attempts=2, initial_delay_seconds=0.01)),
        Step.lambda_("never", fetch),
    ],
    description="Fails a data-quality check after two attempts.",
)


def emit(ctx, config):
    """Print ``lines`` lines at ``rate`` lines a second (every 10th also as a warning)."""
    lines, rate = int(ctx.params.get("lines", 20)), float(ctx.params.get("rate", 200))
    burst = max(1, int(rate / 50))
    start = time.monotonic()
    for i in range(lines):
        if i % 10 == 9:
            log.warning("warning %d", i)
        else:
            print(f"line {i} of {lines}")
        if i % burst == burst - 1:
            delay = start + (i + 1) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    return {"lines": lines}


def summary(ctx, config):
    print("summary done")
    return {"ok": True}


chatty = Workflow(
    "tui.chatty",
    steps=[Step.lambda_("emit", emit), Step.lambda_("summary", summary)],
    description="Writes many log lines at a steady rate.",
)
