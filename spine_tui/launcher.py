"""Running a workflow from the workbench: a tracked run in a worker thread, seen as messages.

``run_tracked`` is the worker body: it runs the workflow with a ``TrackedWorkflowRunner``
on the session's store (so the runs screen, other processes and ``spine-engine`` see it)
and turns the engine's events for that run into the app's messages. ``apply_step`` and
``apply_end`` are the pure state updates the app's handlers use.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from inspect import Parameter, signature
from pathlib import Path
from typing import Any

from textual.message import Message

from engine import (
    Event,
    RunStarted,
    StepFinished,
    StepRetrying,
    StepStarted,
    TrackedWorkflowRunner,
    Workflow,
)

from .messages import LiveRun, RunEnded, RunLaunched, StepStatusChanged
from .widgets.dag_expand import SEP

_CONTEXT_NAMES = {"ctx", "context", "config", "cfg"}


def new_run_id() -> str:
    """Same shape as the engine's ids (16 hex digits)."""
    return uuid.uuid4().hex[:16]


def _relay(run_id: str, post: Callable[[Message], Any]) -> Callable[[Event], None]:
    """An event subscriber that turns ``run_id``'s step events into the app's messages.

    Its sub-workflows' runs are followed too (``RunStarted.parent_step`` says which step
    each runs for): their steps are reported as ``step/inner`` (``fan[2].each/describe``
    inside a map), the keys the DAG viewer's opened boxes use.
    """
    scopes = {run_id: ""}  # a followed run -> the prefix of its step names

    def relay(event: Event) -> None:
        if isinstance(event, RunStarted):
            parent_scope = scopes.get(event.parent_run_id or "")
            if parent_scope is not None and event.parent_step is not None:
                scopes[event.run_id] = f"{parent_scope}{event.parent_step}{SEP}"
            return
        scope = scopes.get(getattr(event, "run_id", None) or "")
        if scope is None:
            return  # another run: a spawned workflow, or another workbench run
        if isinstance(event, StepStarted):
            post(StepStatusChanged(run_id, scope + event.step, "running", event.attempt))
        elif isinstance(event, StepRetrying):
            post(StepStatusChanged(run_id, scope + event.step, "retrying", event.attempt,
                                   event.error))
        elif isinstance(event, StepFinished):
            post(StepStatusChanged(run_id, scope + event.step, str(event.status), event.attempt,
                                   event.error))

    return relay


def run_tracked(db_path: Path, workflow: Workflow, params: Mapping[str, Any], *, run_id: str,
                source: str | None, cancel: threading.Event,
                post: Callable[[Message], Any]) -> None:
    """Run ``workflow`` to the end, persisting it, posting progress; never raises."""
    post(RunLaunched(run_id, workflow.name, tuple(s.name for s in workflow.steps)))
    _drive(db_path, workflow.name, run_id, post, lambda runner: runner.execute(
        workflow, dict(params), run_id=run_id, source=source, cancel=cancel))


def rerun_tracked(db_path: Path, old_run_id: str, *, retry: bool, new_run_id: str,
                  paths: Sequence[str | Path] | None, cancel: threading.Event,
                  post: Callable[[Message], Any]) -> None:
    """Retry a stopped run as ``new_run_id`` (``retry``), or resume an interrupted one under
    its own id, with the definition rebuilt from the store; never raises."""
    from engine.store.replay import workflow_for_run

    from .reload import LOAD_LOCK

    run_id = new_run_id if retry else old_run_id
    try:
        runner = TrackedWorkflowRunner(db_path)
        try:
            record = runner.store.get_run(old_run_id)
            with LOAD_LOCK:  # the definition is loaded from the run's file again
                workflow = workflow_for_run(runner.store, record, paths)
        finally:
            runner.close()
            runner.store.close()
    except Exception as exc:  # DefinitionNotFoundError explains what to do
        what = f"{'retry' if retry else 'resume'} of run {old_run_id}"
        post(RunEnded(run_id, what, "failed", f"{type(exc).__name__}: {exc}"))
        return
    post(RunLaunched(run_id, workflow.name, tuple(s.name for s in workflow.steps)))
    if retry:
        _drive(db_path, workflow.name, run_id, post, lambda runner: runner.retry(
            old_run_id, workflow, cancel=cancel, as_run_id=new_run_id))
    else:
        _drive(db_path, workflow.name, run_id, post, lambda runner: runner.resume(
            old_run_id, workflow, cancel=cancel))


def _drive(db_path: Path, name: str, run_id: str, post: Callable[[Message], Any],
           go: Callable[[TrackedWorkflowRunner], Any]) -> None:
    try:
        runner = TrackedWorkflowRunner(db_path)
    except Exception as exc:  # the store broke since the app opened it
        post(RunEnded(run_id, name, "failed", f"{type(exc).__name__}: {exc}"))
        return
    runner.subscribe(_relay(run_id, post))
    try:
        result = go(runner)
    except Exception as exc:  # definition errors (unknown pipeline, cycle), refused retries
        post(RunEnded(run_id, name, "failed", f"{type(exc).__name__}: {exc}"))
        return
    finally:
        runner.close()
        runner.store.close()
    post(RunEnded(run_id, name, str(result.status), result.error,
                  result.duration_seconds, {"error_step": result.error_step}))


def launched(message: RunLaunched) -> LiveRun:
    return LiveRun(message.run_id, message.workflow, message.steps,
                   {name: "pending" for name in message.steps})


def apply_step(run: LiveRun, message: StepStatusChanged) -> LiveRun:
    """``run`` with one step's new status (or an inner step's: ``fan[2].inner``, ``sub/inner``)."""
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
