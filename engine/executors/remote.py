"""The coordinator's side of one remote attempt: build the task, submit it, wait for it while
watching the run's cancel and the step's timeout, relay its lines, and turn what comes back
into the attempt's ``StepResult``.

Events the step reported on the worker (a data step's ``LineageRecorded``) are emitted here,
after its log lines and before its result, as they would have been in this process; its
adaptive change requests are handed to the run's control here too, in the order made.

A timed-out or cancelled task is cancelled at the executor: a queued one never starts; one
already running cannot be interrupted (neither a process pool nor Dask can stop a running
Python call) and its late result is discarded, as a thread's is.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from ..context import WorkflowContext
from ..errors import StepTimeoutError
from ..events import Event, LogLine
from ..invoke import signature_of
from ..policies import ErrorCategory
from ..registry import get_pipeline
from ..results import StepResult
from ..step_state import StepState
from ..steps import SkipIf, Step, StepType
from .base import Executor, TaskOutcome, WorkerLostError, WorkTask
from .relay import Line
from .shipping import pack
from .worker import rebuild

#: how often a waiting attempt looks at the run's cancel signal
POLL_SECONDS = 0.05
_CTX_NAMES = ("ctx", "context")


def build_task(fn: Callable[..., Any], context_style: bool, step: str,
               ctx: WorkflowContext, config: Mapping[str, Any],
               capture_logs: bool) -> WorkTask:
    """The task for one call of ``fn``: plain functions get only the earlier outputs they
    name; handlers that take the context get its params and outputs."""
    sig = signature_of(fn)
    wants_context = context_style or sig.var_keyword or any(n in _CTX_NAMES for n in sig.names)
    if wants_context:
        outputs, latest = dict(ctx.outputs), dict(ctx.latest)
    else:
        outputs = {}
        latest = {n: ctx.latest[n] for n in sig.names if n in ctx.latest}
    return WorkTask(task_id=uuid.uuid4().hex, run_id=ctx.run_id, workflow=ctx.workflow_name,
                    step=step, fn=pack(fn), context_style=context_style, config=dict(config),
                    params=dict(ctx.params), outputs=outputs, latest=latest,
                    call_chain=ctx.call_chain, started_by=ctx.started_by,
                    artifact_store=ctx.artifact_store, capture_logs=capture_logs,
                    adaptive=ctx._adaptive is not None)


def skip_verdict(handler: Any, ctx: WorkflowContext,
                 config: Mapping[str, Any]) -> tuple[Any, StepResult | None]:
    """For a ``skip_if``-guarded handler: the function to ship and, when the guard says
    skip, the skip result (the guard is asked here, where expressions compile)."""
    if not (isinstance(handler, SkipIf) and handler.from_field):
        return handler, None
    return handler.fn, handler.verdict(ctx, config)


def run_remote(executor: Executor, task: WorkTask, timeout: float | None,
               state: StepState, emit: Callable[[Event], None],
               cancel: threading.Event | None, ctx: WorkflowContext | None = None) -> StepResult:
    """Run ``task`` on ``executor`` as one attempt of a step; never raises for the step."""
    relay = executor.relay
    relay.open(task.task_id, _sink(task, emit))
    try:
        handle = executor.submit(task)
    except Exception:
        relay.discard(task.task_id)
        raise
    deadline = None if timeout is None else time.monotonic() + timeout
    while not handle.wait(POLL_SECONDS):
        if cancel is not None and cancel.is_set():
            handle.cancel()
            relay.discard(task.task_id)
            return StepResult.fail(f"step {task.step!r} cancelled on the {executor.name} "
                                   "executor", category=ErrorCategory.CANCELLED)
        if deadline is not None and time.monotonic() >= deadline:
            handle.cancel()
            relay.discard(task.task_id)
            state.error_type = StepTimeoutError.__name__
            return StepResult.fail(
                f"step {task.step!r} exceeded its timeout of {timeout:g}s on the "
                f"{executor.name} executor", category=ErrorCategory.TIMEOUT)
    try:
        outcome = handle.outcome()
    except WorkerLostError as exc:
        relay.discard(task.task_id)
        state.error_type = WorkerLostError.__name__
        return StepResult.fail(str(exc), category=ErrorCategory.TRANSIENT)
    relay.close(task.task_id, outcome.lines)
    for event in outcome.events:  # what the step reported on the worker (lineage), in order
        emit(event)
    _apply_requests(outcome, ctx)
    return _result(outcome, task, state)


def _apply_requests(outcome: TaskOutcome, ctx: WorkflowContext | None) -> None:
    """Hand the step's adaptive requests made on the worker to the run's control, on this
    (the step's) thread, as if made here; an invalid one raises ``AdaptiveChangeError``,
    which fails the step like a request refused in this process."""
    control = None if ctx is None else ctx._adaptive
    if control is None:
        return
    for request in outcome.requests:
        control.request(request)


def _result(outcome: TaskOutcome, task: WorkTask, state: StepState) -> StepResult:
    state.worker = outcome.worker
    if outcome.result is None:
        state.error_type = outcome.error_type
        state.traceback = outcome.traceback
        return StepResult.fail(outcome.error or "the handler failed on the worker",
                               category=outcome.category or ErrorCategory.INTERNAL.value)
    return rebuild(outcome, task.artifact_store)


def _sink(task: WorkTask, emit: Callable[[Event], None]) -> Callable[[Line], None]:
    def sink(line: Line) -> None:
        at, stream, level, message = line
        emit(LogLine(run_id=task.run_id, workflow=task.workflow,
                     at=datetime.fromtimestamp(at, UTC), step=task.step, stream=stream,
                     level=level, message=message))
    return sink


def remote_attempt(executor: Executor, step: Step, ctx: WorkflowContext,
                   config: Mapping[str, Any], state: StepState,
                   emit: Callable[[Event], None], capture_logs: bool) -> StepResult:
    """One attempt of a handler step on a remote executor; errors outside the handler
    (a task that does not pickle, a pool that broke) raise for the runner to record."""
    state.worker = None
    if step.step_type is StepType.PIPELINE:
        fn = get_pipeline(step.pipeline_name or "")
        context_style = signature_of(fn).context_style
    else:
        fn, skipped = skip_verdict(step.handler, ctx, config)
        if skipped is not None:
            return skipped
        context_style = step.step_type is StepType.LAMBDA
    task = build_task(fn, context_style, step.name, ctx, config, capture_logs)
    return run_remote(executor, task, step.timeout_seconds, state, emit, ctx.cancel_event, ctx)
