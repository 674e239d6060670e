"""Where a run started from the workbench executes: the run form's executor choice, checked
and started *before* the run exists, as ``spine-engine run --executor`` does.

``open_executor`` runs in a worker thread of the form (starting a pool or reaching a Dask
scheduler can take seconds): a bad scheduler address, an unreachable cluster or a handler no
worker could import comes back as ``ExecutorChoiceError`` for the form to show, and nothing
is started. The started executor is handed to the run, which closes it when it ends.
"""

from __future__ import annotations

import socket
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
#: how long the form waits for a scheduler's TCP port before saying it is unreachable
CONNECT_SECONDS = 2.5
#: the port ``dask scheduler`` listens on when an address names none
DASK_PORT = 8786


class ExecutorChoiceError(ValueError):
    """The form's executor choice cannot be used; the message says why and what to change."""


def open_executor(workflow: Workflow, name: str, scheduler: str = "",
                  max_workers: int | None = None) -> Executor | None:
    """The started executor a run of ``workflow`` should use (None: threads, the default);
    raises ``ExecutorChoiceError`` before anything starts when the choice cannot work: an
    unknown executor, a scheduler address that is not a Dask one (or given without dask), a
    handler a worker could not import, a scheduler whose port does not answer within
    ``CONNECT_SECONDS``, a pool or cluster that does not start."""
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
    if address is not None:
        reach_scheduler(address)
    try:
        _start_resource_tracker()
        executor.start()
    except ExecutorUnavailableError as exc:
        executor.close()
        raise ExecutorChoiceError(str(exc)) from None
    return executor


def reach_scheduler(address: str, timeout: float = CONNECT_SECONDS) -> None:
    """Open (and close) a TCP connection to a ``tcp://``/``tls://`` scheduler address within
    ``timeout`` seconds, so an unreachable one is a message in the form in about that time
    rather than after a Dask client's 10 s connect timeout; other transports pass through."""
    scheme, _, rest = address.partition("://")
    if scheme not in ("tcp", "tls"):
        return
    host, _, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
    target = (host, int(port) if port else DASK_PORT)
    try:
        with socket.create_connection(target, timeout=timeout):
            return
    except OSError as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else \
            (exc.strerror or type(exc).__name__)
        raise ExecutorChoiceError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g}s ({reason}); "
            "start one with `dask scheduler` (and `dask worker ADDRESS`), check the host "
            "and port, or clear the field to use a local cluster") from None


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
