"""Workflows for the lifecycle property test; side effects go to files under ``$CTL_DIR``.

``executions.txt`` gets a line ``RUN_ID STEP`` per step execution (what ran, in which run,
and what did not run again). ``hold`` waits for the gate file ``gate-<param gate>``: written
(atomically) with ``ok`` the step completes, with ``fail`` it fails, so the test decides when
and how a run goes on. The module is named apart from ``tests/resources/control/flows.py``:
both folders end up on ``sys.path`` in one pytest session.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import (
    RunHandle,
    RunPending,
    Step,
    StepResult,
    TrackedWorkflowRunner,
    Workflow,
    start_resume,
    start_retry,
    start_run,
)

EXECUTIONS = "executions.txt"
HOLD_LIMIT_SECONDS = 120.0  # a gate nobody opens fails the step instead of hanging a worker


def ctl_dir() -> Path:
    return Path(os.environ.get("CTL_DIR", "."))


def gate_path(gate: str) -> Path:
    return ctl_dir() / f"gate-{gate}"


def open_gate(gate: str, outcome: str) -> None:
    """Write the gate file atomically, so a reader never sees it half written."""
    target = gate_path(gate)
    scratch = target.with_name(f".{target.name}.{os.getpid()}")
    scratch.write_text(outcome)
    os.replace(scratch, target)


def executions() -> list[tuple[str, str]]:
    """``(run_id, step)`` of every step execution so far, in order."""
    path = ctl_dir() / EXECUTIONS
    rows = []
    for line in path.read_text().splitlines() if path.exists() else []:
        run_id, _, step = line.partition(" ")
        if step:
            rows.append((run_id, step))
    return rows


def _mark(ctx: Any, step: str) -> None:
    with (ctl_dir() / EXECUTIONS).open("a") as handle:
        handle.write(f"{ctx.run_id} {step}\n")


def tick(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    _mark(ctx, config["name"])
    return {"step": config["name"], "ran_in": ctx.run_id}


def hold(ctx: Any, config: dict[str, Any]) -> Any:
    """Wait for this run's gate; give up when the run is cancelled."""
    _mark(ctx, "hold")
    gate = gate_path(ctx.get_param("gate"))
    deadline = time.monotonic() + HOLD_LIMIT_SECONDS
    while True:
        if gate.exists():
            if gate.read_text() == "fail":
                return StepResult.fail("the gate said fail", category="DATA_QUALITY")
            return {"released": True, "ran_in": ctx.run_id}
        if ctx.cancel_event is not None and ctx.cancel_event.is_set():
            return StepResult.fail("stopped: the run was cancelled", category="CANCELLED")
        if time.monotonic() > deadline:
            return StepResult.fail(f"gate {gate} never opened", category="TIMEOUT")
        time.sleep(0.01)


def gated() -> Workflow:
    return Workflow("life.gated", steps=[
        Step.lambda_("start", tick, config={"name": "start"}),
        Step.lambda_("hold", hold),
        Step.lambda_("end", tick, config={"name": "end"})])


def approval() -> Workflow:
    return Workflow("life.approval", steps=[
        Step.lambda_("start", tick, config={"name": "start"}),
        Step.approval("approve", message="go on?", approvers=["lead@example.com"]),
        Step.lambda_("end", tick, config={"name": "end"})])


FLOWS = {"gated": gated, "approval": approval}
#: the step a person decides in each flow (the gated flow has none: deciding it is refused)
APPROVAL_STEP = "approve"


# ---------------------------------------------------------------------- starting runs
@dataclass
class Launch:
    """How a start, resume or retry request went: ``handle`` when the run was created
    (its ``RunPending`` was seen), else the refusal and whether ``start_*`` raised it."""

    handle: RunHandle | None = None
    error: BaseException | None = None
    raised: bool = False


def launch(runner: TrackedWorkflowRunner, op: str, flow: str, run_id: str,
           params: dict[str, Any] | None = None, new_id: str | None = None) -> Launch:
    """``start_run`` / ``start_resume`` / ``start_retry`` on ``runner``.

    A request is told apart from a refusal by the run's ``RunPending`` event, not by whether
    ``start_*`` raised: ``start_resume`` hands back a finished handle for a refused resume.
    """
    expected = new_id if op == "retry" else run_id
    created = threading.Event()

    def seen(event: Any) -> None:
        if isinstance(event, RunPending) and event.run_id == expected:
            created.set()

    wf = FLOWS[flow]()
    try:
        if op == "start":
            handle = start_run(wf, params, runner=runner, run_id=run_id, listeners=[seen])
        elif op == "resume":
            handle = start_resume(run_id, wf, runner=runner, listeners=[seen])
        elif op == "retry":
            handle = start_retry(run_id, wf, runner=runner, as_run_id=new_id,
                                 listeners=[seen])
        else:
            raise ValueError(f"unknown op {op!r}")
    except Exception as exc:
        return Launch(error=exc, raised=True)
    if created.is_set():
        return Launch(handle=handle)
    try:  # refused inside the run's thread: it ends at once with the refusal
        handle.wait(30)
    except Exception as exc:
        return Launch(error=exc)
    return Launch(error=AssertionError(f"{op} of {run_id} returned a handle, never created "
                                       "the run, and ended without an error"))
