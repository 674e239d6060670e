"""``ThreadExecutor``: the default. The runner calls handlers in the coordinating process on
its own threads (the run loop's pool, map items' pools), exactly as without executors;
``submit`` exists so the same ``WorkTask`` can also be run here directly."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures

from ..executor_names import THREADS
from .base import Executor, TaskOutcome, WorkTask
from .worker import run_task, worker_label


class ThreadExecutor(Executor):
    """Handlers run on threads of this process (no pickling, shared memory, the GIL)."""

    name = THREADS
    remote = False

    def __init__(self, max_workers: int = 8) -> None:
        super().__init__()
        self.max_workers = max_workers
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    @property
    def slots(self) -> int:
        return self.max_workers

    def describe(self) -> str:
        return "threads (in this process)"

    def start(self) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers,
                                                thread_name_prefix="spine-task")

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, task: WorkTask) -> _ThreadHandle:
        self.start()
        assert self._pool is not None
        return _ThreadHandle(self._pool.submit(_run, task))


def _run(task: WorkTask) -> TaskOutcome:
    return run_task(task, worker_label("thread", threading.current_thread().name))


class _ThreadHandle:
    __slots__ = ("_future",)

    def __init__(self, future: Future[TaskOutcome]) -> None:
        self._future = future

    def wait(self, timeout: float) -> bool:
        wait_futures((self._future,), timeout)
        return self._future.done()

    def outcome(self) -> TaskOutcome:
        return self._future.result()

    def cancel(self) -> None:
        self._future.cancel()
