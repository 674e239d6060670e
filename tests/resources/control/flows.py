"""Workflows for the run-control tests; side effects go to files under ``$CTL_DIR``.

``counter.txt`` gets one line per step execution (proves what ran, and what did not run
again); ``block`` waits for a gate file, so tests decide when a run may go on.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from engine import Step, StepResult, Workflow
from engine.workflow import ConcurrencyPolicy


def ctl_dir() -> Path:
    return Path(os.environ.get("CTL_DIR", "."))


def mark(name: str) -> None:
    with (ctl_dir() / "counter.txt").open("a") as handle:
        handle.write(name + "\n")


def ran() -> list[str]:
    path = ctl_dir() / "counter.txt"
    return path.read_text().split() if path.exists() else []


def tick(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    mark(config["name"])
    time.sleep(config.get("sleep", 0))
    return {config["name"]: True}


def block(ctx: Any, config: dict[str, Any]) -> Any:
    """Wait for the gate file named by the run param ``gate``; give up when the run is cancelled."""
    mark(config["name"])
    gate = ctl_dir() / ctx.get_param("gate", "release")
    deadline = time.monotonic() + 60
    while not gate.exists():
        if ctx.cancel_event is not None and ctx.cancel_event.is_set():
            return StepResult.fail("stopped: the run was cancelled", category="CANCELLED")
        if time.monotonic() > deadline:
            return StepResult.fail(f"gate {gate} never opened", category="TIMEOUT")
        time.sleep(0.01)
    return {"released": True}


def build(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    mark("build")
    return {"risk_score": 0.2, "artifact": "model-v3"}


def flaky(ctx: Any, config: dict[str, Any]) -> Any:
    mark(config["name"])
    if not (ctl_dir() / "fixed").exists():
        return StepResult.fail("upstream API down", category="TRANSIENT")
    return {"value": ctx.get_output("one", "value", 0) * 10}


def one(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    mark("one")
    return {"value": ctx.get_param("start", 1)}


def three(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    mark("three")
    return {"total": ctx.get_output("two", "value") + 1}


def slow_chain(n: int = 60, sleep: float = 0.02) -> Workflow:
    return Workflow("ctl.slow", steps=[
        Step.lambda_(f"s{i}", tick, config={"name": f"s{i}", "sleep": sleep}) for i in range(n)])


def gated(policy: ConcurrencyPolicy | None = None) -> Workflow:
    return Workflow("ctl.gated", concurrency=policy, steps=[
        Step.lambda_("start", tick, config={"name": "start"}),
        Step.lambda_("hold", block, config={"name": "hold"}),
        Step.lambda_("end", tick, config={"name": "end"})])


def approval(timeout: float | None = None) -> Workflow:
    return Workflow("ctl.approval", steps=[
        Step.lambda_("build", build),
        Step.approval("deploy_approval", message="Deploy risk model v3 to production?",
                      approvers=["team-lead@company.com"], auto_approve_envs=["dev", "staging"],
                      context_fields=["risk_score"], timeout_seconds=timeout),
        Step.lambda_("deploy", tick, config={"name": "deploy"})])


def retryable() -> Workflow:
    return Workflow("ctl.retry", steps=[
        Step.lambda_("one", one),
        Step.lambda_("two", flaky, config={"name": "two"}),
        Step.lambda_("three", three)])


FLOWS = {"slow": slow_chain, "gated": gated, "approval": approval, "retry": retryable}
