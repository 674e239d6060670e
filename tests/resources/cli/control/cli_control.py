"""CLI fixture: workflows for ``pause``/``cancel``/``approve``/``retry``/``replay`` tests.

Side effects go to files under ``$CLI_CTL_DIR``: ``counter.txt`` gets one line per step
execution (what ran, and what did not run again); ``hold`` waits for the file ``release``
so a test decides when the run may go on; ``two`` fails until the file ``fixed`` exists.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from engine import ErrorCategory, Step, StepResult, Workflow


def _dir() -> Path:
    return Path(os.environ["CLI_CTL_DIR"])


def _mark(name: str) -> None:
    with (_dir() / "counter.txt").open("a") as handle:
        handle.write(name + "\n")


def tick(ctx, config):
    _mark(config["name"])
    return {config["name"]: True}


def hold(ctx, config):
    """Wait for ``release``; stop early when the run is cancelled unless the param
    ``stubborn`` is set (a step that cannot be interrupted)."""
    _mark("hold")
    stubborn = ctx.get_param("stubborn", False)
    deadline = time.monotonic() + 60
    while not (_dir() / "release").exists():
        if not stubborn and ctx.cancel_event is not None and ctx.cancel_event.is_set():
            return StepResult.fail("stopped: the run was cancelled",
                                   category=ErrorCategory.CANCELLED)
        if time.monotonic() > deadline:
            return StepResult.fail("release never came", category=ErrorCategory.TIMEOUT)
        time.sleep(0.01)
    return {"released": True}


def one(ctx, config):
    _mark("one")
    return {"value": ctx.get_param("start", 1)}


def two(ctx, config):
    _mark("two")
    if not (_dir() / "fixed").exists():
        return StepResult.fail("upstream API down", category=ErrorCategory.TRANSIENT)
    return {"value": ctx.get_output("one", "value") * 10}


def three(ctx, config):
    _mark("three")
    return {"total": ctx.get_output("two", "value") + 1}


gated = Workflow("cli.ctl_gated", steps=[
    Step.lambda_("s0", tick, config={"name": "s0"}),
    Step.lambda_("hold", hold),
    Step.lambda_("s2", tick, config={"name": "s2"}),
    Step.lambda_("s3", tick, config={"name": "s3"})])

approval = Workflow("cli.ctl_approval", steps=[
    Step.lambda_("build", tick, config={"name": "build"}),
    Step.approval("deploy_approval", message="Deploy model v3 to production?",
                  approvers=["lead@example.com"], auto_approve_envs=["dev"]),
    Step.lambda_("deploy", tick, config={"name": "deploy"})])

retryable = Workflow("cli.ctl_retry", steps=[
    Step.lambda_("one", one), Step.lambda_("two", two), Step.lambda_("three", three)])
