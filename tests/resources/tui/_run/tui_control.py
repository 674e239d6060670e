"""Fixture for the run-control tests: a step that holds until a file appears, then an
approval gate. The test decides when the run goes on by creating the ``release`` file."""

from __future__ import annotations

import time
from pathlib import Path

from engine import ErrorCategory, Step, StepResult, Workflow


def hold(ctx, config):
    """Wait for the file named by the param ``release``; stop early when cancelled."""
    release = Path(ctx.get_param("release"))
    deadline = time.monotonic() + 30
    while not release.exists():
        if ctx.cancel_event is not None and ctx.cancel_event.is_set():
            return StepResult.fail("stopped: the run was cancelled",
                                   category=ErrorCategory.CANCELLED)
        if time.monotonic() > deadline:
            return StepResult.fail("release never came", category=ErrorCategory.TIMEOUT)
        time.sleep(0.01)
    return {"released": True}


def ship(ctx, config):
    return {"shipped": True}


control = Workflow(
    "tui.control",
    steps=[
        Step.lambda_("hold", hold),
        Step.approval("sign_off", message="Ship the release?"),
        Step.lambda_("ship", ship),
    ],
    description="Holds until released, then waits for approval.",
)
