"""The thread side of the Operations screen: read circuit breakers, dead letters and alerts,
purge items, reset breakers, send a failed alert again.

Every function here blocks (SQLite) and runs in the screen's workers; each returns frozen
values and touches no widget. Breakers are shown as stored, with the state a caller would
meet now: an open breaker past its recovery timeout lets the next request through, so it
reads half-open here (``BreakerRow.effective``) though nothing has asked it yet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine import (
    AlertSender,
    BreakerRecord,
    CircuitBreaker,
    CircuitState,
    DeadLetter,
    DLQManager,
    RunStore,
    list_breakers,
)
from engine.store import AlertOutbox, AlertRecord

#: how many pending dead letters the screen lists (oldest first)
LETTER_LIMIT = 500
#: how many alerts the screen lists (newest first)
ALERT_LIMIT = 200


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
    alerts: tuple[AlertRecord, ...] = ()
    alert_counts: tuple[tuple[str, int], ...] = ()


def load(store: RunStore, clock: Callable[[], float]) -> OperationsView:
    """Every breaker, the oldest pending dead letters with the pending count per queue, and
    the newest alerts with the count per status."""
    now = clock()
    breakers = tuple(BreakerRow(r, effective_state(r, now)) for r in list_breakers(store))
    dlq = DLQManager(store, clock=clock)
    outbox = AlertOutbox(store.db)
    return OperationsView(breakers, tuple(dlq.list(limit=LETTER_LIMIT)),
                          tuple(dlq.queues().items()), now,
                          tuple(outbox.list_alerts(limit=ALERT_LIMIT)),
                          tuple(outbox.counts().items()))


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


def retry_alert(store: RunStore, alert_id: int) -> AlertRecord:
    """Queue a failed alert again with fresh attempts and send it now, as
    ``spine-engine alerts retry`` does; the row as stored afterwards (``UnknownAlertError``
    when it is delivered or in flight)."""
    outbox = AlertOutbox(store.db)
    outbox.requeue(alert_id)
    AlertSender(outbox).send_one(alert_id)
    return outbox.get(alert_id)
