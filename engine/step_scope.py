"""Which run, workflow and step the calling thread is executing, so library calls made inside
a handler (an anomaly, a dead letter) are attributed to it without being passed the context.

The runner enters a step's scope on the thread that runs its handler (the helper thread of a
timed step too) and restores the previous scope afterwards, so nested sub-workflow and map
steps report the innermost step.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StepScope:
    """The step a thread is running."""

    run_id: str
    workflow: str
    step: str


_local = threading.local()


def current_step() -> StepScope | None:
    """The step this thread is running, or None outside any step."""
    scope: tuple[str, str, str] | None = getattr(_local, "scope", None)
    return None if scope is None else StepScope(*scope)


def enter_step(run_id: str, workflow: str, step: str) -> object:
    """Mark this thread as running ``step`` (a plain tuple: this is on every step's path);
    returns what to hand to ``leave_step``."""
    previous = getattr(_local, "scope", None)
    _local.scope = (run_id, workflow, step)
    return previous


def leave_step(previous: object) -> None:
    _local.scope = previous
