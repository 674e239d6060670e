"""The thread side of the Operations screen: read circuit breakers and dead letters, purge
items, reset breakers.

Every function here blocks (SQLite) and runs in the screen's workers; each returns frozen
values and touches no widget. Breakers are shown as stored, with the state a caller would
meet now: an open breaker past its recovery timeout lets the next request through, so it
reads half-open here (``BreakerRow.effective``) though nothing has asked it yet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine import (
    BreakerRecord,
    CircuitBreaker,
    CircuitState,
    DeadLetter,
    DLQManager,
    RunStore,
    list_breakers,
)

#: how many pending dead letters the screen lists (oldest first)
LETTER_LIMIT = 500


@dataclass(frozen=True, slots=True)
class BreakerRow:
    """A stored breaker and the state a request would meet at the time of the read."""

    record: BreakerRecord
    effective: CircuitState


@dataclass(frozen=True, slots=True)
class OperationsView:
    """What the screen shows, read at ``read_at`` (unix seconds of the app's clock)."""

    breakers: tuple[BreakerRow, ...]
    letters: tuple[DeadLetter, ...]
    queues: tuple[tuple[str, int], ...]
    read_at: float


def load(store: RunStore, clock: Callable[[], float]) -> OperationsView:
    """Every breaker and the oldest pending dead letters, with the pending count per queue."""
    now = clock()
    breakers = tuple(BreakerRow(r, effective_state(r, now)) for r in list_breakers(store))
    dlq = DLQManager(store, clock=clock)
    return OperationsView(breakers, tuple(dlq.list(limit=LETTER_LIMIT)),
                          tuple(dlq.queues().items()), now)


def effective_state(record: BreakerRecord, now: float) -> CircuitState:
    """``half_open`` for an open breaker whose recovery timeout has passed, else its state."""
    until = record.open_until
    if record.state is CircuitState.OPEN and until is not None and now >= until:
        return CircuitState.HALF_OPEN
    return record.state


def purge(store: RunStore, ids: Sequence[int], clock: Callable[[], float]) -> int:
    """Purge the dead letters ``ids`` (soft delete); returns how many were still there."""
    return DLQManager(store, clock=clock).purge(ids=list(ids))


def reset_breaker(store: RunStore, record: BreakerRecord, clock: Callable[[], float]) -> None:
    """Close a breaker and clear its counts, keeping its stored thresholds."""
    CircuitBreaker(record.name, record.failure_threshold, record.recovery_timeout,
                   record.success_threshold, store=store, clock=clock).reset()
