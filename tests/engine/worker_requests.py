"""Handlers that ask for adaptive changes, importable by worker processes (module level)."""

from __future__ import annotations

import os
from typing import Any

from engine import StepResult


def skip_named(ctx: Any, config: dict[str, Any]) -> StepResult:
    """Skip the steps named in config (made on a worker, applied by the coordinator)."""
    ctx.skip_steps(config["skip"])
    return StepResult.ok(output={"pid": os.getpid()})


def spawn_child(ctx: Any, config: dict[str, Any]) -> StepResult:
    """Needs an answer from the run at once (a child run id): refused on a worker."""
    return StepResult.ok(output={"child": ctx.spawn_workflow("child", "nowhere")})


def later(ctx: Any, config: dict[str, Any]) -> StepResult:
    return StepResult.ok(output={"ran": True})
