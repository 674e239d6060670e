"""Breakpoints and the reason a ``continue_``/``run_to`` stopped where it did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .state import ContextView

Condition = Callable[[ContextView], Any]


@dataclass(frozen=True, slots=True)
class Breakpoint:
    """Pause before ``step`` runs (only when ``when`` holds, if given); with no ``step``, pause
    as soon as ``when`` holds after any step, like a debugger's watchpoint."""

    id: int
    step: str | None = None
    when: Condition | None = None

    def describe(self) -> str:
        cond = getattr(self.when, "__name__", "condition") if self.when is not None else ""
        if self.step is None:
            return f"when {cond}"
        return f"before {self.step!r}" + (f" if {cond}" if cond else "")


class StopReason(StrEnum):
    """Why a run-until call stopped."""

    BREAKPOINT = "breakpoint"  # a step breakpoint on the next step
    CONDITION = "condition"  # a watch condition became true
    FAILURE = "failure"  # a step failed and break_on_failure is on
    TARGET = "target"  # run_to reached its step
    HALTED = "halted"  # a failed step stops the run
    END = "end"  # every step has run
    INTERRUPTED = "interrupted"  # interrupt() was called


@dataclass(frozen=True, slots=True)
class Pause:
    """Where and why the last ``continue_``/``run_to`` stopped.

    ``step`` is the next step for BREAKPOINT/TARGET/INTERRUPTED, the step just run for
    FAILURE/CONDITION, the failed step for HALTED, and None at the END.
    """

    reason: StopReason
    step: str | None = None
    breakpoint: Breakpoint | None = None
