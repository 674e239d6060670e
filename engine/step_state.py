"""``StepState``: the mutable record of one step while its run is in flight.

The run loop, the runner, composite steps, adaptive changes and the playground all fill it;
it lives on its own so none of them has to import another for it. ``freeze()`` hands out the
immutable ``StepRun`` view; ``FrozenSteps`` does so for a finished run's steps only when they
are read, so a result costs nothing per step until someone looks (the per-step overhead of a
run is the engine's main benchmark).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .results import RunStatus, StepRun


class StepState:
    """Mutable bookkeeping for one step while a run is in flight.

    Start and end times are kept as epoch seconds (``started``, ``finished``: a float is
    ~5x cheaper to take than an aware ``datetime``); ``started_at``/``finished_at`` give them
    as UTC datetimes.
    """

    __slots__ = ("name", "status", "attempts", "output", "error", "category", "error_type",
                 "traceback", "started", "finished", "duration", "child_run_id", "worker")

    def __init__(self, name: str) -> None:
        self.name = name
        self.status = RunStatus.PENDING
        self.attempts = 0
        self.output: Any = None
        self.error: str | None = None
        self.category: str | None = None
        self.error_type: str | None = None
        self.traceback: str | None = None
        self.started: float | None = None
        self.finished: float | None = None
        self.duration = 0.0
        self.child_run_id: str | None = None
        #: where the last attempt ran (``thread:NAME``, ``process:HOST:PID``, ``dask:ADDRESS``)
        self.worker: str | None = None

    @property
    def started_at(self) -> datetime | None:
        return None if self.started is None else datetime.fromtimestamp(self.started, UTC)

    @property
    def finished_at(self) -> datetime | None:
        return None if self.finished is None else datetime.fromtimestamp(self.finished, UTC)

    def reset(self) -> None:
        """Back to "not run" (a ``retry_step``), keeping the object the scheduler tracks."""
        self.status = RunStatus.PENDING
        self.attempts = 0
        self.output = self.error = self.category = self.error_type = self.traceback = None
        self.started = self.finished = self.child_run_id = self.worker = None
        self.duration = 0.0

    def freeze(self) -> StepRun:
        return StepRun(self.name, self.status, self.attempts, self.output, self.error,
                       self.category, self.error_type, self.traceback, self.started_at,
                       self.finished_at, self.duration, self.child_run_id, self.worker)


class FrozenSteps(Mapping[str, StepRun]):
    """A finished run's steps by name, in plan order, each frozen into a ``StepRun`` when
    first read (the states must not change any more: the run has ended)."""

    __slots__ = ("_states", "_frozen")

    def __init__(self, states: Sequence[StepState]) -> None:
        self._states = {state.name: state for state in states}
        self._frozen: dict[str, StepRun] = {}

    def __getitem__(self, name: str) -> StepRun:
        run = self._frozen.get(name)
        if run is None:
            run = self._frozen[name] = self._states[name].freeze()
        return run

    def __iter__(self) -> Iterator[str]:
        return iter(self._states)

    def __len__(self) -> int:
        return len(self._states)

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self.items()),))

    def __repr__(self) -> str:
        return repr(dict(self.items()))
