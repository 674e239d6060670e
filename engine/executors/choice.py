"""Which executor runs which step of a run, and the executors' lifetime around the run.

Precedence: a step's own ``executor`` (a map's inner step: its own, else the map's), then the
run's (``WorkflowRunner(executor=)``, ``--executor``), then the workflow's, then ``threads``.
Executors named by a string are created for the run and closed when it ends (a ``dask`` one
on the workflow's ``scheduler`` when it names one, else a local cluster); an ``Executor``
instance handed in is the caller's to close (reuse one across runs that way).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from ..errors import UnknownPipelineError
from ..executor_names import DASK, PROCESSES, THREADS, check_executor_name
from ..registry import get_pipeline
from ..steps import Step, StepType
from ..workflow import Workflow
from .base import Executor
from .checks import check_portable, runs_in_coordinator, shipped_handler
from .dask_executor import DaskExecutor
from .processes import ProcessExecutor
from .threads import ThreadExecutor

ExecutorLike = Executor | str | None


def make_executor(name: str, *, scheduler: str | None = None,
                  max_workers: int | None = None) -> Executor:
    """An executor by name: ``threads``, ``processes`` (``max_workers`` processes) or ``dask``
    (the cluster at ``scheduler``, or a local one of ``max_workers`` worker processes)."""
    check_executor_name("executor", name)
    if scheduler is not None and name != DASK:
        raise ValueError(f"a scheduler address is for the dask executor, not {name!r}; "
                         "add --executor dask or drop --scheduler")
    if name == PROCESSES:
        return ProcessExecutor(max_workers)
    if name == DASK:
        return DaskExecutor(scheduler, n_workers=max_workers or 2)
    return ThreadExecutor()


class RunExecutors:
    """The executors one run uses, created on first need and closed with the run."""

    def __init__(self, run_choice: ExecutorLike, workflow: Workflow) -> None:
        self._given: dict[str, Executor] = {}
        if isinstance(run_choice, Executor):
            self._given[run_choice.name] = run_choice
            self.default = run_choice.name
        else:
            self.default = run_choice or workflow.executor or THREADS
        #: where dask steps go when the run made its own dask executor (the workflow's
        #: ``scheduler``; None: a local cluster)
        self._scheduler = workflow.scheduler
        self._made: dict[str, Executor] = {}
        self._lock = threading.Lock()
        #: handlers each remote executor will be sent (filled by ``check``), shipped once
        self._handlers: dict[str, list[Any]] = {}
        self._shipped: set[str] = set()

    def name_for(self, step: Step, parent: Step | None = None) -> str:
        return step.executor or (parent.executor if parent is not None else None) \
            or self.default

    def get(self, name: str) -> Executor | None:
        """The started executor called ``name``; None for threads (run in this process)."""
        given = self._given.get(name)
        if given is not None:
            if not given.remote:
                return None
            return self._ready(name, given)
        if name == THREADS:
            return None
        with self._lock:
            made = self._made.get(name)
            if made is None:
                made = self._made[name] = make_executor(
                    name, scheduler=self._scheduler if name == DASK else None)
        return self._ready(name, made)

    def _ready(self, name: str, executor: Executor) -> Executor:
        executor.start()
        if name not in self._shipped:
            with self._lock:
                if name not in self._shipped:
                    executor.ship(self._handlers.get(name, ()))
                    self._shipped.add(name)
        return executor

    def for_step(self, step: Step, parent: Step | None = None) -> Executor | None:
        return self.get(self.name_for(step, parent))

    def check(self, workflow: Workflow) -> None:
        """Refuse handlers that cannot run where they are sent (before the run starts)."""
        for step, parent in _walk(workflow.steps):
            name = self.name_for(step, parent)
            if name == THREADS or not self._remote(name) or runs_in_coordinator(step):
                continue
            fn = shipped_handler(step)
            if fn is None and step.step_type is StepType.PIPELINE:
                fn = _pipeline(step)
            if fn is not None:
                check_portable(fn, step.name, name)
                self._handlers.setdefault(name, []).append(fn)

    def _remote(self, name: str) -> bool:
        given = self._given.get(name)
        return True if given is None else given.remote

    def start(self) -> None:
        """Start the run's default executor now, so an unreachable scheduler fails the run
        before any step runs."""
        self.get(self.default)

    def close(self) -> None:
        with self._lock:
            made, self._made = list(self._made.values()), {}
        for executor in made:
            executor.close()


def _pipeline(step: Step) -> Any:
    try:
        return get_pipeline(step.pipeline_name or "")
    except UnknownPipelineError:  # the run's definition error, reported when it runs
        return None


def _walk(steps: tuple[Step, ...], parent: Step | None = None
          ) -> Iterator[tuple[Step, Step | None]]:
    for step in steps:
        yield step, parent
        if step.iterator_steps:
            yield from _walk(step.iterator_steps, step)
