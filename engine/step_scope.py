"""Which run, workflow and step the calling thread is executing, so library calls made inside
a handler (an anomaly, a dead letter) are attributed to it without being passed the context.

The runner enters a step's scope on the thread that runs its handler (the helper thread of a
timed step too) and restores the previous scope afterwards, so nested sub-workflow and map
steps report the innermost step.
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


_local = threading.local()


def current_step() -> StepScope | None:
    """The step this thread is running, or None outside any step."""
    scope: tuple[str, str, str, Callable[[Event], None] | None] | None = \
        getattr(_local, "scope", None)
    return None if scope is None else StepScope(*scope)


def enter_step(run_id: str, workflow: str, step: str,
               emit: Callable[[Event], None] | None = None) -> object:
    """Mark this thread as running ``step`` (a plain tuple: this is on every step's path);
    ``emit`` receives events the step reports (lineage); returns what to hand to
    ``leave_step``."""
    previous = getattr(_local, "scope", None)
    _local.scope = (run_id, workflow, step, emit)
    return previous


def leave_step(previous: object) -> None:
    _local.scope = previous
