"""``ProcessExecutor``: handlers run in a pool of worker processes, reused for the run.

The pool uses the ``spawn`` start method: the coordinating process has threads (the run
store's writer, the control poller), and forking a process with threads can deadlock the
child. Each worker sends its captured lines live through one queue that a relay thread here
reads. A worker that dies breaks a ``ProcessPoolExecutor`` for good, so the pool is replaced
and every task it held fails as ``WorkerLostError`` (TRANSIENT): retried per the step's
policy on the new pool.

Cancel: a task still in the pool's queue is dropped there; one the pool already handed to
its call queue (it marks those running before a worker takes them) is recorded in a small
shared ring of cancelled task numbers that a worker checks before calling the handler, so
it never starts either. A call already running cannot be interrupted; its result is
discarded, and ``close`` terminates the workers that still run such abandoned calls instead
of waiting for them, so a cancelled run does not wait on work nobody will read.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..executor_names import PROCESSES
from ..policies import ErrorCategory
from .base import Executor, ExecutorUnavailableError, TaskOutcome, WorkerLostError, WorkTask
from .worker import run_task, set_process_sink, worker_label

#: how many cancelled task numbers the shared ring remembers (a cancel only lands there
#: for the few tasks between the pool's call queue and a worker, so this is ample)
CANCEL_RING = 1024
_label: str | None = None
_cancelled: Any = None


def _init_worker(queue: Any, cancelled: Any = None) -> None:
    """Pool initializer: this process's live lines go to the coordinator's queue; it reads
    cancelled task numbers from the shared ring."""
    global _label, _cancelled
    _label = worker_label("process")
    _cancelled = cancelled
    set_process_sink(lambda task_id, index, line: queue.put((task_id, index, line)))


def _run(task: WorkTask, number: int = 0) -> TaskOutcome:
    """Run the task unless it was cancelled after the pool queued it for a worker."""
    written = 0 if _cancelled is None else _cancelled[0]  # slot 0 counts the writes
    if number and written and number in _cancelled[1:1 + min(written, CANCEL_RING)]:
        return TaskOutcome(result=None, worker=_label or worker_label("process"),
                           error=f"step {task.step!r} was cancelled before it started",
                           category=ErrorCategory.CANCELLED.value)
    return run_task(task, _label or worker_label("process"))


class ProcessExecutor(Executor):
    """A process pool of ``max_workers`` (default: the CPU count) for one run or many."""

    name = PROCESSES

    def __init__(self, max_workers: int | None = None, *, start_method: str = "spawn") -> None:
        super().__init__()
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers}")
        self.max_workers = max_workers or os.cpu_count() or 1
        self.start_method = start_method
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._queue: Any = None
        self._reader: threading.Thread | None = None
        self._cancelled: Any = None  # the shared ring of cancelled task numbers
        self._numbers = itertools.count(1)
        self._next_slot = 0
        #: calls whose result was abandoned (cancel or timeout) while a worker ran them
        self._abandoned: set[Future[TaskOutcome]] = set()

    @property
    def slots(self) -> int:
        return self.max_workers

    def describe(self) -> str:
        return f"processes ({self.max_workers} worker processes, {self.start_method})"

    def start(self) -> None:
        with self._lock:
            if self._pool is not None:
                return
            context = multiprocessing.get_context(self.start_method)
            self._queue = context.SimpleQueue()
            self._cancelled = context.RawArray("q", CANCEL_RING + 1)
            try:
                self._pool = self._new_pool()
            except (OSError, ValueError) as exc:
                raise ExecutorUnavailableError(f"cannot start a pool of {self.max_workers} "
                                               f"worker processes: {exc}") from exc
            self._reader = threading.Thread(target=self._read_lines, args=(self._queue,),
                                            name="spine-process-logs", daemon=True)
            self._reader.start()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.max_workers,
                                   mp_context=multiprocessing.get_context(self.start_method),
                                   initializer=_init_worker,
                                   initargs=(self._queue, self._cancelled))

    def _read_lines(self, queue: Any) -> None:
        while True:
            item = queue.get()
            if item is None:
                return
            task_id, index, line = item
            self.relay.live(task_id, index, tuple(line))

    def close(self) -> None:
        """Shut the pool down; workers still running abandoned calls are terminated rather
        than waited for (nobody reads their results)."""
        with self._lock:
            pool, self._pool = self._pool, None
            queue, reader = self._queue, self._reader
            self._queue = self._reader = None
            abandoned = [f for f in self._abandoned if not f.done()]
            self._abandoned.clear()
        if pool is None:
            return
        if abandoned:
            _terminate_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)
        if abandoned:  # a terminated worker may have died holding the queue's write lock
            threading.Thread(target=queue.put, args=(None,), daemon=True).start()
        else:
            queue.put(None)
        if reader is not None:
            reader.join(5)
        if not abandoned:
            queue.close()

    def submit(self, task: WorkTask) -> _ProcessHandle:
        self.start()
        number = next(self._numbers)
        for _ in range(2):
            pool = self._current()
            try:
                return _ProcessHandle(self, pool, pool.submit(_run, task, number), task.step,
                                      number)
            except BrokenProcessPool:
                self.replace(pool)
        raise ExecutorUnavailableError("the process pool broke twice in a row while "
                                       f"submitting step {task.step!r}")

    def abandon(self, future: Future[TaskOutcome], number: int) -> None:
        """A cancelled task the pool no longer lets go: mark its number cancelled, so a
        worker that has not started it yet skips it, and remember it as abandoned."""
        with self._lock:
            ring = self._cancelled
            if ring is not None:  # the number first, then the count a worker reads first
                ring[1 + self._next_slot % CANCEL_RING] = number
                self._next_slot += 1
                ring[0] = self._next_slot
            self._abandoned = {f for f in self._abandoned if not f.done()}
            self._abandoned.add(future)

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                raise ExecutorUnavailableError("the process executor is closed")
            return self._pool

    def replace(self, broken: ProcessPoolExecutor) -> None:
        """Swap a broken pool for a fresh one (once, whoever notices first)."""
        with self._lock:
            if self._pool is not broken:
                return
            self._pool = self._new_pool()
        broken.shutdown(wait=False, cancel_futures=True)


def _terminate_workers(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's worker processes now (CPython keeps them in ``_processes``; 3.14 adds
    ``terminate_workers``)."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


class _ProcessHandle:
    __slots__ = ("_executor", "_pool", "_future", "_step", "_number")

    def __init__(self, executor: ProcessExecutor, pool: ProcessPoolExecutor,
                 future: Future[TaskOutcome], step: str, number: int) -> None:
        self._executor, self._pool, self._future, self._step = executor, pool, future, step
        self._number = number

    def wait(self, timeout: float) -> bool:
        wait_futures((self._future,), timeout)
        return self._future.done()

    def outcome(self) -> TaskOutcome:
        try:
            return self._future.result()
        except BrokenProcessPool as exc:
            self._executor.replace(self._pool)
            raise WorkerLostError(f"the worker process running step {self._step!r} died "
                                  f"({exc}); the pool was replaced") from None

    def cancel(self) -> None:
        if not self._future.cancel() and not self._future.done():
            self._executor.abandon(self._future, self._number)
