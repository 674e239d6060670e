"""``ProcessExecutor``: handlers run in a pool of worker processes, reused for the run.

The pool uses the ``spawn`` start method: the coordinating process has threads (the run
store's writer, the control poller), and forking a process with threads can deadlock the
child. Each worker sends its captured lines live through one queue that a relay thread here
reads. A worker that dies breaks a ``ProcessPoolExecutor`` for good, so the pool is replaced
and every task it held fails as ``WorkerLostError`` (TRANSIENT): retried per the step's
policy on the new pool.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..executor_names import PROCESSES
from .base import Executor, ExecutorUnavailableError, TaskOutcome, WorkerLostError, WorkTask
from .worker import run_task, set_process_sink, worker_label

_label: str | None = None


def _init_worker(queue: Any) -> None:
    """Pool initializer: this process's live lines go to the coordinator's queue."""
    global _label
    _label = worker_label("process")
    set_process_sink(lambda task_id, index, line: queue.put((task_id, index, line)))


def _run(task: WorkTask) -> TaskOutcome:
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
                                   initializer=_init_worker, initargs=(self._queue,))

    def _read_lines(self, queue: Any) -> None:
        while True:
            item = queue.get()
            if item is None:
                return
            task_id, index, line = item
            self.relay.live(task_id, index, tuple(line))

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            queue, reader = self._queue, self._reader
            self._queue = self._reader = None
        if pool is None:
            return
        pool.shutdown(wait=True, cancel_futures=True)
        queue.put(None)
        if reader is not None:
            reader.join(5)
        queue.close()

    def submit(self, task: WorkTask) -> _ProcessHandle:
        self.start()
        for _ in range(2):
            pool = self._current()
            try:
                return _ProcessHandle(self, pool, pool.submit(_run, task), task.step)
            except BrokenProcessPool:
                self.replace(pool)
        raise ExecutorUnavailableError("the process pool broke twice in a row while "
                                       f"submitting step {task.step!r}")

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


class _ProcessHandle:
    __slots__ = ("_executor", "_pool", "_future", "_step")

    def __init__(self, executor: ProcessExecutor, pool: ProcessPoolExecutor,
                 future: Future[TaskOutcome], step: str) -> None:
        self._executor, self._pool, self._future, self._step = executor, pool, future, step

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
        self._future.cancel()
