"""Running a workflow from the workbench: a tracked run in a worker thread, seen as messages.

``run_tracked`` is the worker body: it runs the workflow with a ``TrackedWorkflowRunner``
on the session's store (so the runs screen, other processes and ``spine-engine`` see it)
and turns the engine's events for that run into the app's messages. ``apply_step`` and
``apply_end`` are the pure state updates the app's handlers use.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from inspect import Parameter, signature
from pathlib import Path
from typing import Any

from textual.message import Message

from engine import (
    Event,
    StepFinished,
    StepRetrying,
    StepStarted,
    TrackedWorkflowRunner,
    Workflow,
)

from .messages import LiveRun, RunEnded, RunLaunched, StepStatusChanged

_CONTEXT_NAMES = {"ctx", "context", "config", "cfg"}


def new_run_id() -> str:
    """Same shape as the engine's ids (16 hex digits)."""
    return uuid.uuid4().hex[:16]


def run_tracked(db_path: Path, workflow: Workflow, params: Mapping[str, Any], *, run_id: str,
                source: str | None, cancel: threading.Event,
                post: Callable[[Message], Any]) -> None:
    """Run ``workflow`` to the end, persisting it, posting progress; never raises."""
    steps = tuple(s.name for s in workflow.steps)
    post(RunLaunched(run_id, workflow.name, steps))

    def relay(event: Event) -> None:
        if getattr(event, "run_id", None) != run_id:
            return  # a sub-workflow's own run
        if isinstance(event, StepStarted):
            post(StepStatusChanged(run_id, event.step, "running", event.attempt))
        elif isinstance(event, StepRetrying):
            post(StepStatusChanged(run_id, event.step, "retrying", event.attempt, event.error))
        elif isinstance(event, StepFinished):
            post(StepStatusChanged(run_id, event.step, str(event.status), event.attempt,
                                   event.error))

    try:
        runner = TrackedWorkflowRunner(db_path)
    except Exception as exc:  # the store broke since the app opened it
        post(RunEnded(run_id, workflow.name, "failed", f"{type(exc).__name__}: {exc}"))
        return
    runner.subscribe(relay)
    try:
        result = runner.execute(workflow, dict(params), run_id=run_id, source=source,
                                cancel=cancel)
    except Exception as exc:  # definition errors (unknown pipeline, cycle) are raised
        post(RunEnded(run_id, workflow.name, "failed", f"{type(exc).__name__}: {exc}"))
        return
    finally:
        runner.close()
        runner.store.close()
    post(RunEnded(run_id, workflow.name, str(result.status), result.error,
                  result.duration_seconds, {"error_step": result.error_step}))


def launched(message: RunLaunched) -> LiveRun:
    return LiveRun(message.run_id, message.workflow, message.steps,
                   {name: "pending" for name in message.steps})


def apply_step(run: LiveRun, message: StepStatusChanged) -> LiveRun:
    """``run`` with one step's new status (steps of map iterations are not in the DAG)."""
    return replace(run, statuses={**run.statuses, message.step: message.status})


def apply_end(run: LiveRun, message: RunEnded) -> LiveRun:
    statuses = dict(run.statuses)
    if message.status == "cancelled":
        statuses = {k: ("cancelled" if v in ("pending", "running") else v)
                    for k, v in statuses.items()}
    return replace(run, statuses=statuses, status=message.status, error=message.error,
                   duration_seconds=message.duration_seconds)


def param_fields(workflow: Workflow) -> dict[str, Any]:
    """Params a run form should offer: the workflow's defaults, then arguments of plain
    function steps that nothing upstream can provide (root steps' arguments without a
    config value), with ``...`` as the value of those that have no default."""
    fields: dict[str, Any] = dict(workflow.defaults)
    for step in workflow.steps:
        if str(getattr(step.step_type, "value", step.step_type)) != "function":
            continue
        if workflow.dependencies(step.name) or step.handler is None:
            continue
        try:
            parameters = signature(step.handler).parameters.values()
        except (TypeError, ValueError):
            continue
        for p in parameters:
            if (p.name in _CONTEXT_NAMES or p.name in step.config or p.name in fields
                    or p.kind in (Parameter.VAR_POSITIONAL, Parameter.VAR_KEYWORD)):
                continue
            fields[p.name] = ... if p.default is Parameter.empty else p.default
    return fields
