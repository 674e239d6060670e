"""The executor abstraction: where the handler of a step runs, behind one small interface.

The coordinating process keeps the run (events, outputs, checkpoints, retries, timeouts);
an executor only runs a ``WorkTask`` somewhere and hands back a ``TaskOutcome``. ``threads``
runs handlers in the coordinating process as before; ``processes`` and ``dask`` are *remote*:
the task is pickled; a function handler travels by its ``module:qualname`` reference and is
imported on the worker, a callable instance travels by value.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from ..errors import WorkflowError
from ..policies import ErrorCategory
from ..results import StepResult
from .relay import LogRelay


class ExecutorError(WorkflowError):
    """Something about the executor itself (not a step) went wrong."""


class ExecutorUnavailableError(ExecutorError):
    """The executor cannot start: an unreachable Dask scheduler, a pool that does not start."""


class HandlerNotPortableError(ExecutorError):
    """A handler cannot run on a worker process (a lambda, a closure, ``__main__``...);
    raised before the run starts."""


class WorkerLostError(ExecutorError):
    """The worker running a task died (killed, crashed); retried as a TRANSIENT failure."""

    category = ErrorCategory.TRANSIENT.value


@dataclass(frozen=True, slots=True)
class WorkTask:
    """One handler call, as shipped to a worker: the handler (a plain function as a
    ``FunctionRef`` the worker imports, a callable instance by value; see
    ``engine.executors.shipping``), its config, and the part of the run's context it can read.

    ``outputs`` holds the run's earlier outputs only for handlers that take the context;
    plain functions get ``latest`` cut down to the argument names they declare, so a large
    earlier output does not travel with every map item.
    """

    task_id: str
    run_id: str
    workflow: str
    step: str
    fn: Any
    context_style: bool
    config: dict[str, Any]
    params: dict[str, Any]
    outputs: dict[str, Any]
    latest: dict[str, Any]
    call_chain: tuple[str, ...] = ()
    started_by: str = "script"
    artifact_store: Any = None
    capture_logs: bool = True
    #: outputs larger than this (pickled bytes) come back through the artifact store
    inline_limit: int = 1 << 20
    #: the run takes adaptive changes: the step's requests are kept and shipped back
    adaptive: bool = False


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """What a worker sends back: the step's result (or the error a handler raised, as text),
    its captured log lines, where it ran, a large output's artifact ref, and the events the
    step reported through its scope (``LineageRecorded`` from data steps), which the
    coordinator emits on the run's stream as if the step had run there."""

    result: StepResult | None
    worker: str
    lines: tuple[tuple[float, str, str, str], ...] = ()
    error: str | None = None
    error_type: str | None = None
    category: str | None = None
    traceback: str | None = None
    output_ref: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    events: tuple[Any, ...] = ()
    #: adaptive change requests (``skip_steps``, ``insert_step_*``, ``replace_step``,
    #: ``retry_step``), validated and applied by the coordinator in the order made
    requests: tuple[Any, ...] = ()


class TaskHandle(Protocol):
    """A submitted task: wait for it, read its outcome, or cancel it."""

    def wait(self, timeout: float) -> bool:
        """True once the task has finished (or failed); False after ``timeout`` seconds."""

    def outcome(self) -> TaskOutcome:
        """The finished task's outcome; raises ``WorkerLostError`` when its worker died."""

    def cancel(self) -> None:
        """Drop the task: a queued one never starts; a running one's result is discarded."""


class Executor(ABC):
    """Where handlers run. Start it once (pools and clients are reused for every task of the
    run), submit tasks, close it at the end; use it as a context manager."""

    name: ClassVar[str]
    #: tasks leave this process: handlers must pickle and import on the worker
    remote: ClassVar[bool] = True

    def __init__(self) -> None:
        self.relay = LogRelay()

    @abstractmethod
    def start(self) -> None:
        """Acquire the pool or cluster (idempotent); ``ExecutorUnavailableError`` if it
        cannot."""

    @abstractmethod
    def close(self) -> None:
        """Release what ``start`` acquired (idempotent)."""

    @abstractmethod
    def submit(self, task: WorkTask) -> TaskHandle:
        """Send ``task`` to a worker."""

    def ship(self, handlers: Iterable[Any]) -> None:
        """Make the modules of ``handlers`` importable on the workers, where the executor
        can (a Dask cluster gets stand-alone module files uploaded); default: nothing, the
        workers share this machine's files and ``sys.path``."""
        del handlers  # pools on this machine import what this process imports

    @property
    @abstractmethod
    def slots(self) -> int:
        """How many tasks run at once."""

    @abstractmethod
    def describe(self) -> str:
        """One line for people: the executor and where it runs (address, workers)."""

    def __enter__(self) -> Executor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
