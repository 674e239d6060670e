"""Where a run started from the workbench executes: the run form's executor choice, checked
and started *before* the run exists, as ``spine-engine run --executor`` does.

``open_executor`` runs in a worker thread of the form (starting a pool or reaching a Dask
scheduler can take seconds): a bad scheduler address, an unreachable cluster or a handler no
worker could import comes back as ``ExecutorChoiceError`` for the form to show, and nothing
is started. The started executor is handed to the run, which closes it when it ends.
"""

from __future__ import annotations

import sys
import threading
from multiprocessing import resource_tracker

from engine import (
    Executor,
    ExecutorUnavailableError,
    HandlerNotPortableError,
    Workflow,
    WorkflowRunner,
    make_executor,
)

#: the choices the run form offers, in its order (``engine.executor_names``)
THREADS, PROCESSES, DASK = "threads", "processes", "dask"
EXECUTOR_CHOICES: tuple[str, ...] = (THREADS, PROCESSES, DASK)


class ExecutorChoiceError(ValueError):
    """The form's executor choice cannot be used; the message says why and what to change."""


def open_executor(workflow: Workflow, name: str, scheduler: str = "",
                  max_workers: int | None = None) -> Executor | None:
    """The started executor a run of ``workflow`` should use (None: threads, the default);
    raises ``ExecutorChoiceError`` before anything starts when the choice cannot work: an
    unknown executor, a scheduler address that is not a Dask one (or given without dask), a
    handler a worker could not import, a pool or cluster that does not start."""
    if name not in EXECUTOR_CHOICES:
        raise ExecutorChoiceError(f"executor {name!r} is not one of "
                                  f"{', '.join(EXECUTOR_CHOICES)}")
    address = scheduler.strip() or None
    if address is not None and name != DASK:
        raise ExecutorChoiceError(f"a scheduler address is for the dask executor, not {name}; "
                                  "pick dask or clear the scheduler field")
    try:  # the address is checked here, before anything connects
        executor = None if name == THREADS else \
            make_executor(name, scheduler=address, max_workers=max_workers)
    except ValueError as exc:
        raise ExecutorChoiceError(str(exc)) from None
    try:
        WorkflowRunner(executor=name).check_workflow(workflow)
    except HandlerNotPortableError as exc:
        raise ExecutorChoiceError(f"{exc} (or run it on threads)") from None
    if executor is None:
        return None
    try:
        _start_resource_tracker()
        executor.start()
    except ExecutorUnavailableError as exc:
        executor.close()
        raise ExecutorChoiceError(str(exc)) from None
    return executor


_TRACKER_LOCK = threading.Lock()


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with a real stderr: the workbench's stderr is
    Textual's capture, whose ``fileno()`` is -1, and spawning the tracker with it fails
    (``bad value(s) in fds_to_keep``), which would refuse every process pool and local Dask
    cluster started from the workbench. Once running, the tracker serves every later pool."""
    with _TRACKER_LOCK:
        try:
            usable = sys.stderr is not None and sys.stderr.fileno() >= 0
        except (AttributeError, OSError, ValueError):
            usable = False
        if usable or sys.__stderr__ is None:
            resource_tracker.ensure_running()
            return
        captured, sys.stderr = sys.stderr, sys.__stderr__
        try:
            resource_tracker.ensure_running()
        finally:
            sys.stderr = captured
