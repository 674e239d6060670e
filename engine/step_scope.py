"""Which run, workflow and step the calling thread is executing, so library calls made inside
a handler (an anomaly, a dead letter) are attributed to it without being passed the context.

The runner enters a step's scope on the thread that runs its handler (the helper thread of a
timed step too) and restores the previous scope afterwards, so nested sub-workflow and map
steps report the innermost step. A timed step's scope also carries its ``StepStop``: the
runner's word that it gave up waiting, so work the handler started outside this process (a
job's process tree) can be stopped instead of running on unseen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .events import Event


@dataclass(frozen=True, slots=True)
class StepScope:
    """The step a thread is running, and where events it reports go (the runner's ``emit``;
    None outside a runner, e.g. a hand-made call)."""

    run_id: str
    workflow: str
    step: str
    emit: Callable[[Event], None] | None = None
    #: set when the runner abandons the step (its timeout passed); None: nothing abandons it
    stop: StepStop | None = None


class StepStop:
    """The runner's request that a timed-out step stop what it started, and the handler's
    answer that it will (``honour``): the runner then waits for it to wind down, so the
    step's error can say what was stopped."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason = ""
        self.honoured = False

    def honour(self) -> threading.Event:
        """Say this step stops what it started when asked; the event is set when it must."""
        self.honoured = True
        return self.event

    def request(self, reason: str) -> None:
        """Ask the step to stop, saying why (the runner's timeout message)."""
        self.reason = reason
        self.event.set()


_local = threading.local()


def current_step() -> StepScope | None:
    """The step this thread is running, or None outside any step."""
    scope: tuple[str, str, str, Callable[[Event], None] | None, StepStop | None] | None = \
        getattr(_local, "scope", None)
    return None if scope is None else StepScope(*scope)


def enter_step(run_id: str, workflow: str, step: str,
               emit: Callable[[Event], None] | None = None,
               stop: StepStop | None = None) -> object:
    """Mark this thread as running ``step`` (a plain tuple: this is on every step's path);
    ``emit`` receives events the step reports (lineage), ``stop`` is the timed step's stop
    request; returns what to hand to ``leave_step``."""
    previous = getattr(_local, "scope", None)
    _local.scope = (run_id, workflow, step, emit, stop)
    return previous


def leave_step(previous: object) -> None:
    _local.scope = previous
