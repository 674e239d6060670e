"""``DaskExecutor``: handlers run on a Dask ``distributed`` cluster.

Given a scheduler address (``tcp://HOST:PORT``) it connects a ``Client`` there; without one
it starts a ``LocalCluster`` for the run (worker processes, 127.0.0.1, no dashboard) and
stops it at the end. That cluster's scheduler has ``allowed_failures=0``: a task whose
worker dies fails at once (``KilledWorker``) and the *step's* retry policy decides whether
it runs again, on another worker. Captured lines travel live as Dask log events on the
``spine-logs`` topic. ``distributed`` is imported only when this executor starts.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable
from typing import Any

from ..executor_names import DASK, check_scheduler_address
from .base import Executor, ExecutorUnavailableError, TaskOutcome, WorkerLostError, WorkTask
from .worker import run_task, set_thread_sink, worker_label

TOPIC = "spine-logs"


def _run_on_dask(task: WorkTask) -> TaskOutcome:
    """The function Dask runs: the task, with live lines sent as this worker's log events."""
    from distributed import get_worker  # deliberate lazy load: runs only on a Dask worker

    worker = get_worker()
    set_thread_sink(lambda task_id, index, line: worker.log_event(
        TOPIC, [task_id, index, list(line)]))
    try:
        return run_task(task, worker_label("dask", worker.address))
    finally:
        set_thread_sink(None)


class DaskExecutor(Executor):
    """Run tasks on the Dask cluster at ``scheduler``, or on a ``LocalCluster`` of
    ``n_workers`` worker processes started for the run."""

    name = DASK

    def __init__(self, scheduler: str | None = None, *, n_workers: int = 2,
                 threads_per_worker: int = 1, connect_timeout: float = 10.0,
                 client: Any = None) -> None:
        super().__init__()
        self.scheduler = None if scheduler is None else check_scheduler_address(scheduler)
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.connect_timeout = connect_timeout
        self._given_client = client
        self.client: Any = client
        self.cluster: Any = None
        self._lock = threading.Lock()
        self._started = False
        self._shipped: set[str] = set()

    @property
    def slots(self) -> int:
        if self.client is None:
            return self.n_workers * self.threads_per_worker
        info = self.client.scheduler_info(n_workers=-1)
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def describe(self) -> str:
        where = self.scheduler or (self.client.scheduler.address if self.client else "local")
        return f"dask {where}"

    @property
    def address(self) -> str | None:
        """The scheduler's address once started (a ``LocalCluster``'s too)."""
        return None if self.client is None else str(self.client.scheduler.address)

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            if self.client is None:
                self.client = self._connect() if self.scheduler else self._local()
            self.client.subscribe_topic(TOPIC, self._on_line)
            self._started = True

    def _connect(self) -> Any:
        from distributed import (
            Client,  # deliberate lazy load: dask is heavy, only for --executor dask
        )

        try:
            return Client(self.scheduler, timeout=self.connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ExecutorUnavailableError(
                f"cannot reach the Dask scheduler at {self.scheduler} within "
                f"{self.connect_timeout:g}s ({type(exc).__name__}: {exc}); start one with "
                "`dask scheduler` (and `dask worker ADDRESS`), check the host and port, or "
                "run without --scheduler to use a local cluster") from None

    def _local(self) -> Any:
        from distributed import Client, LocalCluster  # deliberate lazy load: dask is heavy

        try:
            self.cluster = LocalCluster(
                n_workers=self.n_workers, threads_per_worker=self.threads_per_worker,
                processes=True, host="127.0.0.1", dashboard_address=None,
                scheduler_kwargs={"allowed_failures": 0}, silence_logs=logging.ERROR)
        except (OSError, TimeoutError) as exc:
            raise ExecutorUnavailableError(f"cannot start a local Dask cluster: {exc}") from exc
        return Client(self.cluster, set_as_default=False)

    def ship(self, handlers: Iterable[Any]) -> None:
        """Upload the stand-alone module file of each handler (a workflow file discovered
        from a folder, imported by a top-level name) to the scheduler and workers; modules
        inside packages must be installed on the cluster. A ``LocalCluster`` of ours needs
        nothing: its workers were spawned with this process's ``sys.path``."""
        self.start()
        if self.cluster is not None:
            return
        for fn in handlers:
            module = sys.modules.get(getattr(fn, "__module__", "") or "")
            path = getattr(module, "__file__", None)
            if module is None or not path or "." in module.__name__ \
                    or not path.endswith(".py") or path in self._shipped:
                continue
            self.client.upload_file(path, load=True)
            self._shipped.add(path)

    def _on_line(self, event: Any) -> None:
        _, message = event
        task_id, index, line = message
        self.relay.live(str(task_id), int(index), tuple(line))  # type: ignore[arg-type]

    def close(self) -> None:
        with self._lock:
            client, cluster = self.client, self.cluster
            self._started = False
            self.cluster = None
            if self._given_client is None:
                self.client = None
        if client is not None:
            try:
                client.unsubscribe_topic(TOPIC)
            except (KeyError, OSError, RuntimeError):  # already gone with its scheduler
                logging.getLogger(__name__).debug("topic already unsubscribed")
            if self._given_client is None:
                client.close()
        if cluster is not None:
            cluster.close()

    def submit(self, task: WorkTask) -> _DaskHandle:
        self.start()
        future = self.client.submit(_run_on_dask, task, key=f"spine-{task.task_id}",
                                    pure=False, retries=0)
        return _DaskHandle(future, task.step)


class _DaskHandle:
    __slots__ = ("_future", "_done", "_step")

    def __init__(self, future: Any, step: str) -> None:
        self._future = future
        self._step = step
        self._done = threading.Event()
        future.add_done_callback(lambda _f: self._done.set())

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def outcome(self) -> TaskOutcome:
        from distributed import KilledWorker  # deliberate lazy load: dask is heavy

        try:
            outcome: TaskOutcome = self._future.result()
        except KilledWorker as exc:
            raise WorkerLostError(f"the Dask worker running step {self._step!r} died "
                                  f"({exc})") from None
        return outcome

    def cancel(self) -> None:
        self._future.cancel()
