"""The worker side: run one ``WorkTask`` in whatever process received it.

The handler is called through ``invoke.call_handler``, exactly as in the coordinating
process, so calling conventions, argument injection and secret references behave the same;
secrets resolve here, on the worker, and never travel in the task. Prints and log records
are captured per task; each line goes to the live sink of this thread (set by the executor:
a queue or a Dask topic) and all of them come back with the outcome. Events the step reports
through its ``step_scope`` (data steps' lineage, which also moves incremental cursors when
the run completes) are collected here and come back with the outcome too, for the
coordinator to emit: a worker has no way onto the run's stream of its own.
"""

from __future__ import annotations

import os
import pickle
import socket
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NoReturn, cast

from ..adaptive.changes import AdaptiveChangeError, Request
from ..context import WorkflowContext
from ..events import Event, LogLine
from ..invoke import call_handler
from ..logcapture import capture_step, capturing_run
from ..results import StepResult
from ..step_scope import enter_step, leave_step
from .base import TaskOutcome, WorkTask
from .relay import Line
from .shipping import resolve

if TYPE_CHECKING:
    from ..adaptive.control import AdaptiveControl

#: (task id, line index, line) -> None; set per thread by the executor's worker wrapper
LiveSink = Callable[[str, int, Line], None]
_local = threading.local()
_process_sink: LiveSink | None = None
#: artifact keys for large outputs on their way back to the coordinator
SPILL_PREFIX = "_executor"


def set_process_sink(sink: LiveSink | None) -> None:
    """Where every thread of this process sends live lines (a process pool's initializer)."""
    global _process_sink
    _process_sink = sink


def set_thread_sink(sink: LiveSink | None) -> None:
    """Where this thread sends live lines (a Dask task sets its own)."""
    _local.sink = sink


def worker_label(kind: str, name: str | None = None) -> str:
    """How ``step_runs.worker`` names a worker: ``process:<host>:<pid>``, ``dask:<address>``."""
    if name is not None:
        return f"{kind}:{name}"
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


class ShippedRequests:
    """Stands in for the run's ``AdaptiveControl`` on a worker: the step's change requests
    (skip, insert, replace, retry) are kept and go back with the outcome, where the
    coordinator validates and applies them in order; a bad one fails the step there rather
    than at the call. What needs an answer from the run at once cannot work here."""

    def __init__(self) -> None:
        self.requests: list[Request] = []

    def request(self, request: Request) -> None:
        self.requests.append(request)

    def _refuse(self, what: str) -> NoReturn:
        raise AdaptiveChangeError(f"{what} needs the coordinating process; it cannot be asked "
                                  "from a step on a worker process: run this step with "
                                  "executor='threads'")

    def spawn(self, *args: Any) -> str:
        self._refuse("spawn_workflow")

    def continue_as_new(self, *args: Any) -> NoReturn:
        self._refuse("continue_as_new")

    def failed_step(self) -> Any:
        self._refuse("get_failed_step")


def run_task(task: WorkTask, worker: str) -> TaskOutcome:
    """Call the task's handler and package what happened; never raises for a step's error."""
    ctx = WorkflowContext(task.run_id, task.workflow, task.params, None, task.call_chain)
    ctx.outputs = dict(task.outputs)
    ctx.latest = dict(task.latest)
    ctx.artifact_store = task.artifact_store
    ctx.started_by = task.started_by
    shipped = ShippedRequests()
    if task.adaptive:  # duck-typed: the context calls only what ShippedRequests has
        ctx._adaptive = cast("AdaptiveControl", shipped)
    lines: list[Line] = []
    sink: LiveSink | None = getattr(_local, "sink", None) or _process_sink

    def collect(event: Event) -> None:
        if not isinstance(event, LogLine):
            return
        line = (event.at.timestamp(), event.stream, event.level, event.message)
        lines.append(line)
        if sink is not None:
            try:
                sink(task.task_id, len(lines) - 1, line)
            except Exception:  # a broken live channel must not fail the step: lines come back anyway
                _local.sink = None

    reported: list[Event] = []  # through the step's scope: lineage, shipped back
    scope = enter_step(task.run_id, task.workflow, task.step, reported.append)
    try:
        try:
            fn = resolve(task.fn)  # a function by reference: imported here, on the worker
            if task.capture_logs:
                with capturing_run(), capture_step(collect, task.run_id, task.workflow,
                                                   task.step):
                    result = call_handler(fn, task.context_style, task.config, ctx,
                                          task.step)
            else:
                result = call_handler(fn, task.context_style, task.config, ctx, task.step)
        except Exception as exc:
            text = str(exc)
            category = getattr(exc, "category", None)
            return TaskOutcome(
                None, worker, tuple(lines), error=f"{type(exc).__name__}: {text}" if text
                else type(exc).__name__, error_type=type(exc).__name__,
                category=str(getattr(category, "value", category)).upper() if category else None,
                traceback=traceback.format_exc(), events=tuple(reported))
    finally:
        leave_step(scope)
    outcome = _spill(task, result, worker, tuple(lines), tuple(reported))
    return replace(outcome, requests=tuple(shipped.requests)) if shipped.requests else outcome


def _spill(task: WorkTask, result: StepResult, worker: str, lines: tuple[Line, ...],
           events: tuple[Event, ...] = ()) -> TaskOutcome:
    """Send a large output through the artifact store instead of the scheduler."""
    store = task.artifact_store
    if store is None or not result.output:
        return TaskOutcome(result, worker, lines, events=events)
    data = pickle.dumps(result.output, protocol=pickle.HIGHEST_PROTOCOL)
    if len(data) <= task.inline_limit:
        return TaskOutcome(result, worker, lines, events=events)
    key = f"{SPILL_PREFIX}/{task.run_id}/{uuid.uuid4().hex}"
    ref = store.put(key, data, content_type="application/x-python-pickle", run_id=task.run_id,
                    step=task.step)
    slim = StepResult(result.success, None, result.error, result.category, result.skipped)
    return TaskOutcome(slim, worker, lines, output_ref=ref, events=events)


def rebuild(outcome: TaskOutcome, store: Any) -> StepResult:
    """The coordinator's view of a successful outcome: a spilled output read back (and its
    temporary artifact deleted)."""
    result = outcome.result
    assert result is not None
    if outcome.output_ref is None:
        return result
    output: Any = pickle.loads(store.get(outcome.output_ref))
    store.delete(outcome.output_ref)
    return StepResult(result.success, output, result.error, result.category, result.skipped)
