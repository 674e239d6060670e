"""Typed run events: the one stream the store, the TUI, metrics and progress displays read.

Events are frozen, keyword-only dataclasses; subscribers should read the fields they need
and ignore the rest, so new fields never break them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

logger = logging.getLogger("engine.events")


#: who may start a run: these (``package``: a ``.pyz`` made by ``WorkflowPackager``), or
#: ``schedule:NAME`` / ``trigger:NAME``
STARTERS = ("cli", "tui", "api", "script", "package")


@dataclass(frozen=True, slots=True)
class Lineage:
    """The stored run a new run re-executes: ``kind`` is ``retry`` (from its failed step, the
    ``reused`` steps' outputs carried over) or ``replay`` (of one ``step``)."""

    kind: str
    run_id: str
    step: str | None = None
    reused: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunOrigin:
    """What a run is and who started it, decided once by whoever starts it and carried forward
    on the run's events (never pulled back): ``started_by`` is ``cli``, ``tui``, ``api``,
    ``script``, ``schedule:NAME`` or ``trigger:NAME``; ``source`` a ``SourceRef`` text."""

    started_by: str = "script"
    source: str | None = None
    partition_key: str | None = None
    version: int | None = None
    lineage: Lineage | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    run_id: str
    workflow: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RunPending(Event):
    """A run was created (its row exists) and has not started: it may still be skipped,
    queued for a concurrency slot or cancelled."""

    params: dict[str, Any] = field(default_factory=dict)
    step_names: tuple[str, ...] = ()
    origin: RunOrigin = field(default_factory=RunOrigin)
    parent_run_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunQueued(Event):
    """The run waits for a concurrency slot of its workflow (``holders`` have them, ``ahead``
    wait before it; ``cancelled`` are older runs the ``cancel_existing`` policy stops)."""

    holders: tuple[str, ...] = ()
    ahead: tuple[str, ...] = ()
    max_concurrent_runs: int = 1
    on_conflict: str = "queue"
    cancelled: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSkipped(Event):
    """The run ends without running a step (its partition already completed, or the
    concurrency policy skips it); ``reason`` says which."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(Event):
    params: dict[str, Any] = field(default_factory=dict)
    step_names: tuple[str, ...] = ()
    parent_run_id: str | None = None
    parent_step: str | None = None
    """The parent run's step this run is the sub-workflow of (``fan[2].each`` inside a map),
    so a live view can place the child's steps inside that step's box."""
    version: int = 1
    origin: RunOrigin = field(default_factory=RunOrigin)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunPaused(Event):
    """A pause was handled: steps already running finish, nothing new starts."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunWaiting(Event):
    """An approval step waits for a decision (``steps``: every step waiting now)."""

    steps: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResumed(Event):
    """The run runs again after a pause or an approval wait."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunInterrupted(Event):
    """The process running the run is gone (or its heartbeat lapsed); ``resume`` continues it."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StepStarted(Event):
    step: str
    attempt: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRetrying(Event):
    step: str
    attempt: int
    delay_seconds: float
    error: str | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepFinished(Event):
    step: str
    status: str
    attempt: int = 1
    duration_seconds: float = 0.0
    output: Any = None
    error: str | None = None
    category: str | None = None
    error_type: str | None = None
    child_run_id: str | None = None
    #: where the last attempt ran (``thread:NAME``, ``process:HOST:PID``, ``dask:ADDRESS``)
    worker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LogLine(Event):
    """One line a step printed (stream ``stdout``/``stderr``) or logged (stream ``log``)."""

    step: str | None
    message: str
    stream: str = "stdout"
    level: str = "INFO"


@dataclass(frozen=True, slots=True, kw_only=True)
class AdaptiveChange(Event):
    """A runtime change of the run's workflow (spec 4): ``change`` is an
    ``engine.adaptive.ChangeKind`` value, ``step`` the step that asked (None for the engine's
    own), ``detail`` JSON-ready data; graph-changing kinds carry ``detail["graph"]``."""

    step: str | None
    change: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class LineageRecorded(Event):
    """A data step (spec §3) read or wrote a dataset: ``direction`` is ``read`` or ``write``,
    ``kind`` what it touched (``artifact``, ``table``, ``query``, ``file``, ``callable``),
    ``name`` which one, ``detail`` JSON-ready facts (rows, schema, checksum, transform hash,
    and for an incremental source the cursor window it read, which moves the cursor when the
    run completes)."""

    step: str
    direction: str
    kind: str
    name: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFinished(Event):
    """The run ended ``completed``, ``failed`` or ``cancelled`` (also while still queued)."""

    status: str
    error: str | None = None
    error_step: str | None = None
    duration_seconds: float = 0.0
    category: str | None = None
    """The error category it ended with: its failed step's, or ``TIMEOUT``/``CANCELLED`` for
    a run that never left the queue."""


Listener = Callable[[Event], None]


def dispatch(listeners: Iterable[Listener], event: Event) -> None:
    """Deliver ``event`` to every listener; a failing listener is logged, never fatal to a run."""
    for listener in listeners:
        try:
            listener(event)
        except Exception:  # a broken subscriber must not break the run it observes
            logger.exception("event listener %r failed on %s", listener, type(event).__name__)
