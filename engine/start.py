"""One way to start a run, for every front end: ``start_run`` (and its retry, resume and replay
siblings) returns a ``RunHandle`` once the run's row is in the store.

The CLI, the TUI, the HTTP API, schedules, triggers and scripts all start runs here, so a run
looks the same whoever started it (``started_by`` says who) and its id can be printed,
returned or polled at once: ``spine-engine status RUN_ID`` in another process never races the
run's creation. The run itself goes on in a background thread of this process; the handle
waits for it, cancels it, or hands its events over as they happen.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .definitions import workflow_for_run
from .discovery import DiscoveredWorkflow
from .events import Event, Listener, RunPending
from .ids import new_run_id
from .managed import ManagedWorkflow
from .registry import get_workflow, list_workflows
from .results import WorkflowResult
from .sources import SourceRef
from .store.records import RunRecord
from .store.runs import StoreLike
from .tracking import TrackedWorkflowRunner
from .workflow import ConcurrencyPolicy, Workflow

Target = Workflow | ManagedWorkflow | DiscoveredWorkflow | str

_END = object()


class RunHandle:
    """A run started by ``start_run``: ``run_id`` is stored before the handle exists.

    ``wait()``/``result()`` block for the ``WorkflowResult`` (re-raising a definition error
    the run failed with), ``cancel()`` stops it (nothing new starts), ``events()`` yields its
    events as they happen (those of its sub-workflow runs too) until the run ends.
    """

    def __init__(self, run_id: str, workflow: str, runner: TrackedWorkflowRunner,
                 cancel: threading.Event, owns_runner: bool) -> None:
        self.run_id = run_id
        self.workflow = workflow
        self.runner = runner
        self._cancel = cancel
        self._owns_runner = owns_runner
        self._done = threading.Event()
        self._result: WorkflowResult | None = None
        self._error: BaseException | None = None
        self._queues: list[queue.SimpleQueue[Any]] = []
        self._lock = threading.Lock()
        self._runs = {run_id}  # this run and its sub-workflow runs

    # ------------------------------------------------------------------ waiting
    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> WorkflowResult:
        """The run's result once it has ended; ``TimeoutError`` if it is still going."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"run {self.run_id} is still going after {timeout:g}s")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    result = wait

    def cancel(self) -> None:
        """Stop the run: steps running now finish, nothing new starts, a queued run leaves."""
        self._cancel.set()

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """This run's events from now on (with its sub-workflow runs'), until it ends."""
        inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        with self._lock:
            if self.done:
                return
            self._queues.append(inbox)
        try:
            while True:
                item = inbox.get(timeout=timeout)
                if item is _END:
                    return
                yield item
        finally:
            with self._lock:
                if inbox in self._queues:
                    self._queues.remove(inbox)

    # ------------------------------------------------------------------ run side
    def _relay(self, event: Event) -> None:
        parent = getattr(event, "parent_run_id", None)
        with self._lock:
            if parent in self._runs:
                self._runs.add(event.run_id)
            if event.run_id not in self._runs:
                return
            for inbox in self._queues:
                inbox.put(event)

    def _finish(self, result: WorkflowResult | None, error: BaseException | None) -> None:
        self._result, self._error = result, error
        with self._lock:
            self._done.set()
            for inbox in self._queues:
                inbox.put(_END)
            self._queues.clear()
        if self._owns_runner:
            self.runner.close()

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        return f"RunHandle({self.run_id!r}, {self.workflow!r}, {state})"


def start_run(target: Target, params: Mapping[str, Any] | None = None, *,
              partition: Mapping[str, Any] | None = None, db: StoreLike | Any = None,
              started_by: str = "script", run_id: str | None = None,
              source: SourceRef | str | None = None,
              concurrency: ConcurrencyPolicy | None = None,
              listeners: Iterable[Listener] = (),
              runner: TrackedWorkflowRunner | None = None) -> RunHandle:
    """Start a persisted run of ``target`` and return once its row is stored.

    ``target`` is a ``Workflow``, a ``ManagedWorkflow``, a discovered workflow (its file is
    the run's source) or the name of a registered workflow. ``db`` is the store (path,
    ``RunStore``...; default ``$SPINE_DB``), or pass a ``runner`` to share one. ``listeners``
    see every event of the run from its first. ``started_by``: ``cli``, ``tui``, ``api``,
    ``script``, ``schedule:NAME`` or ``trigger:NAME``.
    """
    workflow, ref = _resolve(target)
    ref = SourceRef.parse(str(source)) if source is not None else ref
    new_id = run_id or new_run_id()
    return _start(db, runner, workflow.name, new_id, listeners, lambda r, cancel: r.execute(
        workflow, params, partition=partition, run_id=new_id, cancel=cancel,
        source=str(ref) if ref else None, concurrency=concurrency, started_by=started_by))


def start_retry(run_id: str, workflow: Target | None = None, *, db: StoreLike | Any = None,
                started_by: str = "script", as_run_id: str | None = None,
                paths: Iterable[str | Path] | None = None, listeners: Iterable[Listener] = (),
                runner: TrackedWorkflowRunner | None = None) -> RunHandle:
    """Retry a stopped run from its failed step as a new, linked run (see
    ``TrackedWorkflowRunner.retry``); the definition is rebuilt from the run when not given."""
    owner = runner or TrackedWorkflowRunner(db)
    record, wf = _stored(owner, run_id, workflow, paths, owned=runner is None)
    new_id = as_run_id or new_run_id()
    return _start(db, owner, wf.name, new_id, listeners, lambda r, cancel: r.retry(
        record.run_id, wf, cancel=cancel, as_run_id=new_id, started_by=started_by),
        owns_runner=runner is None)


def start_resume(run_id: str, workflow: Target | None = None, *, db: StoreLike | Any = None,
                 started_by: str = "script", paths: Iterable[str | Path] | None = None,
                 listeners: Iterable[Listener] = (),
                 runner: TrackedWorkflowRunner | None = None) -> RunHandle:
    """Continue a stopped run under its own id from the steps that completed (see
    ``TrackedWorkflowRunner.resume``)."""
    owner = runner or TrackedWorkflowRunner(db)
    record, wf = _stored(owner, run_id, workflow, paths, owned=runner is None)
    return _start(db, owner, wf.name, record.run_id, listeners, lambda r, cancel: r.resume(
        record.run_id, wf, cancel=cancel, started_by=started_by), owns_runner=runner is None)


def start_replay(run_id: str, step: str, workflow: Target | None = None, *,
                 db: StoreLike | Any = None, started_by: str = "script",
                 as_run_id: str | None = None, paths: Iterable[str | Path] | None = None,
                 listeners: Iterable[Listener] = (),
                 runner: TrackedWorkflowRunner | None = None) -> RunHandle:
    """Run one step of a stored run again as a new one-step run (see
    ``TrackedWorkflowRunner.replay_step``)."""
    owner = runner or TrackedWorkflowRunner(db)
    record, wf = _stored(owner, run_id, workflow, paths, owned=runner is None)
    new_id = as_run_id or new_run_id()
    return _start(db, owner, wf.name, new_id, listeners, lambda r, cancel: r.replay_step(
        record.run_id, step, wf, cancel=cancel, as_run_id=new_id, started_by=started_by),
        owns_runner=runner is None)


def _resolve(target: Target) -> tuple[Workflow, SourceRef | None]:
    """The workflow to run and the source a later resume rebuilds it from."""
    if isinstance(target, DiscoveredWorkflow):
        return target.workflow, target.source_ref
    if isinstance(target, ManagedWorkflow):
        return target.workflow, SourceRef.managed(target.name)
    if isinstance(target, str):
        return get_workflow(target), SourceRef.registry(target)
    if isinstance(target, Workflow):
        registered = target.name in list_workflows() and get_workflow(target.name) is target
        return target, SourceRef.registry(target.name) if registered else None
    raise TypeError(f"start_run needs a Workflow, ManagedWorkflow, discovered workflow or a "
                    f"registered workflow's name, got {type(target).__name__}")


def _stored(runner: TrackedWorkflowRunner, run_id: str, workflow: Target | None,
            paths: Iterable[str | Path] | None, *, owned: bool) -> tuple[RunRecord, Workflow]:
    """The stored run and its definition (given, else rebuilt); an unknown run or a definition
    that cannot be rebuilt raises, closing ``runner`` when it was opened for this call."""
    try:
        record = runner.store.get_run(run_id)
        if workflow is None:
            return record, workflow_for_run(runner.store, record, paths)
        return record, _resolve(workflow)[0]
    except BaseException:
        if owned:
            runner.close()
            runner.store.close()
        raise


def _start(db: StoreLike | Any, runner: TrackedWorkflowRunner | None, workflow: str,
           run_id: str, listeners: Iterable[Listener],
           go: Callable[[TrackedWorkflowRunner, threading.Event], WorkflowResult],
           owns_runner: bool | None = None) -> RunHandle:
    """Run ``go`` on a thread and return its handle once the run's row is stored."""
    owner = runner or TrackedWorkflowRunner(db)
    cancel = threading.Event()
    handle = RunHandle(run_id, workflow, owner, cancel,
                       owns_runner=runner is None if owns_runner is None else owns_runner)
    created = threading.Event()
    stored: list[bool] = []  # set once the run's RunPending went by: it exists from then on
    extra = list(listeners)

    def listen(event: Event) -> None:
        if event.run_id in handle._runs or getattr(event, "parent_run_id", None) in handle._runs:
            for listener in extra:
                listener(event)
        handle._relay(event)
        if isinstance(event, RunPending) and event.run_id == run_id:
            stored.append(True)
            created.set()  # the recorder (subscribed first) has written the row

    unsubscribe = owner.subscribe(listen)

    def body() -> None:
        result: WorkflowResult | None = None
        error: BaseException | None = None
        try:
            result = go(owner, cancel)
        except BaseException as exc:  # handed to whoever waits on the handle
            error = exc
        finally:
            unsubscribe()
            handle._finish(result, error)
            created.set()  # after the handle is finished: a refusal is seen as one

    # not a daemon: a script that starts a run and returns still gets its run to the end
    threading.Thread(target=body, name=f"spine-run-{run_id}").start()
    created.wait()
    if not stored and handle._error is not None:
        raise handle._error  # refused before the run was created (bad state, unknown step...)
    return handle
