"""``RunSignals``: pause, resume and cancel one in-flight run, and decide its approval steps.

The scheduler reads ``signals.paused`` before it starts each step (a single attribute read;
runs without signals skip even that) and calls ``hold()`` to wait while paused; steps already
running finish first. This in-memory version serves scripts and the playground; tracked runs
use a store-backed subclass (``engine.tracking.signals.TrackedRunSignals``) fed by commands that
other processes write into the run store.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .policies import ErrorCategory
from .results import StepResult
from .steps import APPROVAL_ENV_VAR

if TYPE_CHECKING:
    from .context import WorkflowContext
    from .steps import Step

#: How often a held run re-checks its cancel event when nobody notifies it.
HOLD_RECHECK_SECONDS = 0.25


class RunSignals:
    """Control flags of one run, safe to flip from any thread."""

    def __init__(self, cancel_event: threading.Event | None = None) -> None:
        self.cancel_event = cancel_event if cancel_event is not None else threading.Event()
        #: read by the scheduler before each step; flip it with ``pause()``/``resume()``
        self.paused = False
        self._cond = threading.Condition()

    # ------------------------------------------------------------------ control side
    def pause(self) -> None:
        """Start no new step until ``resume()``; running steps finish."""
        with self._cond:
            self.paused = True

    def resume(self) -> None:
        with self._cond:
            self.paused = False
            self._cond.notify_all()

    def cancel(self) -> None:
        """Cancel the run: nothing new starts, a paused or waiting run wakes up and ends."""
        self.cancel_event.set()
        with self._cond:
            self._cond.notify_all()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    # ------------------------------------------------------------------ run side
    def hold(self) -> None:
        """Block while paused; returns at once on resume or cancel."""
        with self._cond:
            if not self.paused or self.cancel_event.is_set():
                return
            self.on_hold()
            while self.paused and not self.cancel_event.is_set():
                self._cond.wait(HOLD_RECHECK_SECONDS)

    def on_hold(self) -> None:
        """Called (lock held) when the run actually stops to wait; the store marks it paused."""

    def await_approval(self, step: Step, ctx: WorkflowContext) -> StepResult:
        """Decide an approval step; without a store only ``$SPINE_ENV`` auto-approval works."""
        return approve_without_store(step)


def auto_approval(step: Step) -> StepResult | None:
    """The approved result when ``$SPINE_ENV`` is in the step's ``auto_approve_envs``."""
    env = step.gate.auto_approved_env() if step.gate is not None else None
    if env is None:
        return None
    return StepResult.ok(output={"approved": True, "by": "auto", "env": env})


def approve_without_store(step: Step) -> StepResult:
    """Auto-approve, or fail clearly: an untracked run has nowhere to wait for a person."""
    auto = auto_approval(step)
    if auto is not None:
        return auto
    envs = ", ".join(step.gate.auto_approve_envs) if step.gate else ""
    hint = f" or set {APPROVAL_ENV_VAR} to one of: {envs}" if envs else ""
    return StepResult.fail(
        f"approval step {step.name!r} needs a tracked run (TrackedWorkflowRunner, or "
        f"`spine-engine run` with a store) so someone can approve it from another "
        f"process{hint}", category=ErrorCategory.CONFIGURATION)
