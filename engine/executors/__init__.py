"""Where steps run: ``threads`` (default, in this process), ``processes`` (a process pool
reused for the run) or ``dask`` (a Dask ``distributed`` cluster), chosen per run and per step.

The coordinating process always owns the run: it emits the events, records outputs and
checkpoints, applies retries and timeouts, and relays the workers' log lines. See
``engine.executors.choice`` for which executor a step gets.
"""

from __future__ import annotations

from ..executor_names import DASK, EXECUTOR_NAMES, PROCESSES, THREADS
from .base import (
    Executor,
    ExecutorError,
    ExecutorUnavailableError,
    HandlerNotPortableError,
    TaskOutcome,
    WorkerLostError,
    WorkTask,
)
from .checks import check_portable
from .choice import ExecutorLike, RunExecutors, make_executor
from .dask_executor import DaskExecutor, check_scheduler_address
from .processes import ProcessExecutor
from .threads import ThreadExecutor

__all__ = [
    "DASK",
    "EXECUTOR_NAMES",
    "PROCESSES",
    "THREADS",
    "DaskExecutor",
    "Executor",
    "ExecutorError",
    "ExecutorLike",
    "ExecutorUnavailableError",
    "HandlerNotPortableError",
    "ProcessExecutor",
    "RunExecutors",
    "TaskOutcome",
    "ThreadExecutor",
    "WorkTask",
    "WorkerLostError",
    "check_portable",
    "check_scheduler_address",
    "make_executor",
]
