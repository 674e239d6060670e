"""``AlertSender``: delivers the outbox's due alerts, on a background thread or in one pass.

The thread starts when woken (an alert was queued, or pending ones were found) and ends once
nothing is pending; between attempts it sleeps until the next row is due. Each row is claimed
before it is sent (``AlertOutbox.claim``), so several senders on one store — a run's process,
``serve``, ``spine-engine alerts send`` — share the work and never send a row twice, unless a
sender dies mid-send and the row's lease runs out (delivery is at-least-once).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from ..store.alerts import AlertOutbox, AlertRecord
from ..store.db import Database
from ..store.runs import reap_dead_runs
from .channels import channel_from_config
from .errors import AlertConfigError, AlertDeliveryError
from .policy import DEFAULT_BACKOFF_SECONDS, DEFAULT_MAX_ATTEMPTS
from .references import RecordingResolver, Resolver, resolve_reference

logger = logging.getLogger("engine.alerts")

MAX_BACKOFF_SECONDS = 600.0
MAX_SLEEP_SECONDS = 30.0  # a sleeping sender looks again at least this often
STALE_SWEEP_SECONDS = 30.0  # how often a running sender re-queues rows of dead senders
CLOSE_TIMEOUT_SECONDS = 10.0  # how long closing waits for alerts that are due now
DEFAULT_LEASE_SECONDS = 60.0


#: senders with a thread, drained when the interpreter exits (a script whose run failed ends
#: right after it: its alert still leaves, or stays pending for the next sender)
_ACTIVE: weakref.WeakSet[AlertSender] = weakref.WeakSet()


@atexit.register
def _drain_at_exit() -> None:
    for sender in list(_ACTIVE):
        sender.close()


@dataclass
class SendReport:
    """What one pass did, by row id."""

    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return len(self.delivered) + len(self.retrying) + len(self.failed)


class AlertSender:
    """Send due alerts of one store; ``wake()`` from any thread, ``send_due()`` inline."""

    def __init__(self, db: Database | AlertOutbox, *, resolve: Resolver = resolve_reference,
                 clock: Callable[[], float] = time.time) -> None:
        self.outbox = db if isinstance(db, AlertOutbox) else AlertOutbox(db)
        self._resolve = resolve
        self._clock = clock
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._last_sweep = float("-inf")

    # ------------------------------------------------------------------ one pass
    def send_due(self, *, limit: int = 100) -> SendReport:
        """Re-queue rows of dead senders and release the armed alerts of interrupted runs,
        then claim and send every row due now (up to ``limit``), one attempt each."""
        report = SendReport()
        now = self._clock()
        if now - self._last_sweep >= STALE_SWEEP_SECONDS:
            self._last_sweep = now
            self.outbox.requeue_stale(now=now)
            release_interrupted(self.outbox, now=now)
        for alert_id in self.outbox.due_ids(now=now, limit=limit):
            self.send_one(alert_id, report)
        return report

    def send_one(self, alert_id: int, report: SendReport | None = None) -> str | None:
        """Claim and send one row if it is due: ``delivered``, ``retrying`` or ``failed``,
        or None when another sender has it (or it is not due)."""
        record = self.outbox.get(alert_id)
        try:
            lease = channel_from_config(record.channel).lease_seconds
        except AlertConfigError:  # claimed all the same, and failed with the reason below
            lease = DEFAULT_LEASE_SECONDS
        claimed = self.outbox.claim(alert_id, lease_seconds=lease, now=self._clock())
        if claimed is None:
            return None
        outcome = self._attempt(claimed)
        if report is not None:
            getattr(report, outcome).append(alert_id)
        return outcome

    def _attempt(self, record: AlertRecord) -> str:
        resolver = RecordingResolver(self._resolve)
        try:
            channel = channel_from_config(record.channel)
            channel.send(record.payload, resolver)
        except (AlertDeliveryError, AlertConfigError) as exc:
            permanent = isinstance(exc, AlertConfigError) or exc.permanent
            return self._settle_failure(record, resolver.redact(str(exc)), permanent)
        except Exception as exc:  # a custom channel's bug: recorded on the row, retried
            logger.exception("alert %s: channel %s raised", record.id, record.channel_type)
            message = resolver.redact(f"{type(exc).__name__}: {exc}")
            return self._settle_failure(record, message, False)
        self.outbox.mark_delivered(record.id, now=self._clock())
        return "delivered"

    def _settle_failure(self, record: AlertRecord, error: str, permanent: bool) -> str:
        delivery = record.channel.get("delivery") or {}
        max_attempts = int(delivery.get("max_attempts", DEFAULT_MAX_ATTEMPTS))
        if permanent or record.attempts >= max_attempts:
            tried = f"after {record.attempts} attempt{'s' * (record.attempts != 1)}"
            self.outbox.mark_failed(record.id, f"{error} ({tried})")
            logger.warning("alert %s to %s failed %s: %s", record.id, record.channel_type,
                           tried, error)
            return "failed"
        backoff = float(delivery.get("backoff_seconds", DEFAULT_BACKOFF_SECONDS))
        delay = min(backoff * 2 ** (record.attempts - 1), MAX_BACKOFF_SECONDS)
        self.outbox.retry_later(record.id, error, self._clock() + delay)
        return "retrying"

    # ------------------------------------------------------------------ background thread
    def wake(self) -> None:
        """Have the background thread look at the outbox now (starting it if needed)."""
        with self._lock:
            if self._closing:
                return
            self._wanted.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="spine-alert-sender",
                                                daemon=True)
                self._thread.start()
                _ACTIVE.add(self)

    def _loop(self) -> None:
        while True:
            with self._lock:
                self._wanted.clear()
                closing = self._closing  # this pass sees every alert queued before close()
            try:
                self.send_due()
                next_due = self.outbox.next_due_at()
            except Exception:  # the store went away or is locked for long: try again later
                logger.exception("the alert sender could not read the outbox")
                next_due = self._clock() + MAX_SLEEP_SECONDS
            with self._lock:
                if closing or (next_due is None and not self._wanted.is_set()):
                    self._thread = None
                    return
            wait = MAX_SLEEP_SECONDS if next_due is None else next_due - self._clock()
            if wait > 0:
                self._wanted.wait(min(wait, MAX_SLEEP_SECONDS))

    def close(self, timeout: float = CLOSE_TIMEOUT_SECONDS) -> None:
        """Stop the thread after the pass under way, which sends what is due now (for at most
        ``timeout`` seconds); later retries stay pending for the next sender."""
        with self._lock:
            thread, self._closing = self._thread, True
            self._wanted.set()
        if thread is not None:
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None


def release_interrupted(outbox: AlertOutbox, *, now: float | None = None) -> int:
    """Mark runs whose process died ``interrupted``, then make their armed alerts due (at
    ``now``); how many alerts that released."""
    reap_dead_runs(outbox.db)
    return outbox.fire_interrupted(now=now)
