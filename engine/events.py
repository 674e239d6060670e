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


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    run_id: str
    workflow: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(Event):
    params: dict[str, Any] = field(default_factory=dict)
    step_names: tuple[str, ...] = ()
    parent_run_id: str | None = None
    parent_step: str | None = None
    """The parent run's step this run is the sub-workflow of (``fan[2].each`` inside a map),
    so a live view can place the child's steps inside that step's box."""
    version: int = 1


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
class RunFinished(Event):
    status: str
    error: str | None = None
    error_step: str | None = None
    duration_seconds: float = 0.0


Listener = Callable[[Event], None]


def dispatch(listeners: Iterable[Listener], event: Event) -> None:
    """Deliver ``event`` to every listener; a failing listener is logged, never fatal to a run."""
    for listener in listeners:
        try:
            listener(event)
        except Exception:  # a broken subscriber must not break the run it observes
            logger.exception("event listener %r failed on %s", listener, type(event).__name__)
