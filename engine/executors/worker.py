"""The worker side: run one ``WorkTask`` in whatever process received it.

The handler is called through ``invoke.call_handler``, exactly as in the coordinating
process, so calling conventions, argument injection and secret references behave the same;
secrets resolve here, on the worker, and never travel in the task. Prints and log records
are captured per task; each line goes to the live sink of this thread (set by the executor:
a queue or a Dask topic) and all of them come back with the outcome.
"""

from __future__ import annotations

import os
import pickle
import socket
import threading
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from ..context import WorkflowContext
from ..events import Event, LogLine
from ..invoke import call_handler
from ..logcapture import capture_step, capturing_run
from ..results import StepResult
from ..step_scope import enter_step, leave_step
from .base import TaskOutcome, WorkTask
from .relay import Line

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


def run_task(task: WorkTask, worker: str) -> TaskOutcome:
    """Call the task's handler and package what happened; never raises for a step's error."""
    ctx = WorkflowContext(task.run_id, task.workflow, task.params, None, task.call_chain)
    ctx.outputs = dict(task.outputs)
    ctx.latest = dict(task.latest)
    ctx.artifact_store = task.artifact_store
    ctx.started_by = task.started_by
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

    scope = enter_step(task.run_id, task.workflow, task.step)
    try:
        try:
            if task.capture_logs:
                with capturing_run(), capture_step(collect, task.run_id, task.workflow,
                                                   task.step):
                    result = call_handler(task.fn, task.context_style, task.config, ctx,
                                          task.step)
            else:
                result = call_handler(task.fn, task.context_style, task.config, ctx, task.step)
        except Exception as exc:
            text = str(exc)
            category = getattr(exc, "category", None)
            return TaskOutcome(
                None, worker, tuple(lines), error=f"{type(exc).__name__}: {text}" if text
                else type(exc).__name__, error_type=type(exc).__name__,
                category=str(getattr(category, "value", category)).upper() if category else None,
                traceback=traceback.format_exc())
    finally:
        leave_step(scope)
    return _spill(task, result, worker, tuple(lines))


def _spill(task: WorkTask, result: StepResult, worker: str,
           lines: tuple[Line, ...]) -> TaskOutcome:
    """Send a large output through the artifact store instead of the scheduler."""
    store = task.artifact_store
    if store is None or not result.output:
        return TaskOutcome(result, worker, lines)
    data = pickle.dumps(result.output, protocol=pickle.HIGHEST_PROTOCOL)
    if len(data) <= task.inline_limit:
        return TaskOutcome(result, worker, lines)
    key = f"{SPILL_PREFIX}/{task.run_id}/{uuid.uuid4().hex}"
    ref = store.put(key, data, content_type="application/x-python-pickle", run_id=task.run_id,
                    step=task.step)
    slim = StepResult(result.success, None, result.error, result.category, result.skipped)
    return TaskOutcome(slim, worker, lines, output_ref=ref)


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
