"""Running a workflow from the workbench: a run started like any other, seen as messages.

``run_tracked`` is the worker body: it starts the run with ``engine.start_run`` on the
session's store (so the runs screen, other processes and ``spine-engine`` see it, recorded as
started by ``tui``) and turns the engine's events for that run into the app's messages.
``apply_step`` and ``apply_end`` are the pure state updates the app's handlers use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from inspect import Parameter, signature
from pathlib import Path
from typing import Any

from textual.message import Message

from engine import (
    DiscoveredWorkflow,
    Event,
    Executor,
    RunHandle,
    RunStarted,
    StepFinished,
    StepRetrying,
    StepStarted,
    TrackedWorkflowRunner,
    Workflow,
    start_resume,
    start_retry,
    start_run,
    workflow_for_run,
)
from engine.hot_reload import LOAD_LOCK
from engine.store import RunStore

from ..locations import workflow_paths
from ..messages import STEP_PATH_SEP, LiveRun, RunEnded, RunLaunched, StepStatusChanged

_CONTEXT_NAMES = {"ctx", "context", "config", "cfg"}
STARTED_BY = "tui"


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
                scopes[event.run_id] = f"{parent_scope}{event.parent_step}{STEP_PATH_SEP}"
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


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What the run form asks for: the params, and the started executor the run's steps go
    to (None: threads, or the workflow's own choice); the run closes that executor."""

    params: dict[str, Any]
    executor: Executor | None = None


def run_tracked(db_path: Path, item: DiscoveredWorkflow, params: Mapping[str, Any], *,
                run_id: str, cancel: threading.Event, post: Callable[[Message], Any],
                executor: Executor | None = None) -> None:
    """Run ``item`` to the end, persisting it, posting progress; never raises. A given
    ``executor`` (already started) runs the handlers and is closed when the run ends."""
    workflow = item.workflow
    post(RunLaunched(run_id, workflow.name, tuple(s.name for s in workflow.steps)))
    if executor is None:
        _drive(run_id, workflow.name, cancel, post, lambda relay: start_run(
            item, dict(params), run_id=run_id, db=db_path, started_by=STARTED_BY,
            listeners=[relay]))
        return
    try:
        runner = TrackedWorkflowRunner(db_path, executor=executor)
    except Exception as exc:  # the store did not open: the run never started
        executor.close()
        post(RunEnded(run_id, workflow.name, "failed", f"{type(exc).__name__}: {exc}"))
        return
    try:
        _drive(run_id, workflow.name, cancel, post, lambda relay: start_run(
            item, dict(params), run_id=run_id, started_by=STARTED_BY, listeners=[relay],
            runner=runner))
    finally:
        runner.close()
        runner.store.close()
        executor.close()


def rerun_tracked(db_path: Path, old_run_id: str, *, retry: bool, new_run_id: str,
                  paths: Sequence[str | Path] | None, cancel: threading.Event,
                  post: Callable[[Message], Any]) -> None:
    """Retry a stopped run as ``new_run_id`` (``retry``), or resume an interrupted one under
    its own id, with the definition rebuilt from the store; never raises."""
    run_id = new_run_id if retry else old_run_id
    try:
        store = RunStore(db_path)
        try:
            record = store.get_run(old_run_id)
            with LOAD_LOCK:  # the definition is loaded from the run's file again
                workflow = workflow_for_run(store, record, paths, search=workflow_paths())
        finally:
            store.close()
    except Exception as exc:  # DefinitionNotFoundError explains what to do
        what = f"{'retry' if retry else 'resume'} of run {old_run_id}"
        post(RunEnded(run_id, what, "failed", f"{type(exc).__name__}: {exc}"))
        return
    post(RunLaunched(run_id, workflow.name, tuple(s.name for s in workflow.steps)))
    if retry:
        _drive(run_id, workflow.name, cancel, post, lambda relay: start_retry(
            old_run_id, workflow, db=db_path, started_by=STARTED_BY, as_run_id=new_run_id,
            listeners=[relay]))
    else:
        _drive(run_id, workflow.name, cancel, post, lambda relay: start_resume(
            old_run_id, workflow, db=db_path, started_by=STARTED_BY, listeners=[relay]))


def _drive(run_id: str, name: str, cancel: threading.Event, post: Callable[[Message], Any],
           start: Callable[[Callable[[Event], None]], RunHandle]) -> None:
    """Start the run, pass the workbench's cancel on to it, and post how it ended."""
    try:
        handle = start(_relay(run_id, post))
        while not handle.done:
            if cancel.wait(0.1):
                handle.cancel()
                break
        result = handle.wait()
    except Exception as exc:  # definition errors (unknown pipeline, cycle), refused retries,
        post(RunEnded(run_id, name, "failed", f"{type(exc).__name__}: {exc}"))  # a broken store
        return
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
