"""``AlertListener``: the run-event subscriber that queues a workflow's alerts in the outbox.

The tracked runner tells it which runs to watch and with which ``AlertPolicy`` when it
launches them (``watch``); events of other runs cost one dict lookup. On a failed
``RunFinished``, a run passing its slow threshold (a timer, so a run that hangs still alerts)
or a ``RunWaiting`` approval step, it writes one outbox row per channel in one small
transaction and wakes the ``AlertSender``: sending never happens on the run's path.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..events import Event, RunFinished, RunStarted, RunWaiting
from ..steps import ApprovalGate, Step
from ..store.alerts import AlertOutbox, NewAlert
from ..store.db import Database
from .channels import AlertChannel
from .messages import approval_alert, failure_alert, slow_alert
from .policy import AlertPolicy
from .sender import AlertSender

logger = logging.getLogger("engine.alerts")

SWEEP_SECONDS = 60.0  # how often launching runs looks for alerts other processes left


@dataclass
class _Watch:
    """One watched run: its policy, approval gates and what has been alerted already."""

    workflow: str
    policy: AlertPolicy
    gates: dict[str, ApprovalGate]
    started: float | None = None
    timer: threading.Timer | None = None
    slow_sent: bool = False
    finished: bool = False
    approvals_sent: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class AlertListener:
    """Queue alerts for the runs it watches; ``close()`` lets due alerts go out first."""

    def __init__(self, db: Database, *, sender: AlertSender | None = None) -> None:
        self.outbox = AlertOutbox(db)
        self.sender = sender or AlertSender(self.outbox)
        self._runs: dict[str, _Watch] = {}
        self._last_sweep = float("-inf")
        self.sweep()

    def sweep(self) -> None:
        """Wake the sender when pending alerts are due (left by a process that died, or
        waiting out a retry); at most once a minute, one indexed query."""
        if time.monotonic() - self._last_sweep < SWEEP_SECONDS:
            return
        self._last_sweep = time.monotonic()
        if self.outbox.due_ids(limit=1):
            self.sender.wake()

    def watch(self, run_id: str, workflow: str, policy: AlertPolicy | None,
              steps: Iterable[Step] = ()) -> None:
        """Alert for ``run_id`` as ``policy`` says (None: only sweep for leftovers)."""
        self.sweep()
        if policy is None:
            return
        gates = {s.name: s.gate for s in steps if s.gate is not None}
        self._runs[run_id] = _Watch(workflow, policy, gates)

    def unwatch(self, run_id: str) -> None:
        watch = self._runs.pop(run_id, None)
        if watch is not None and watch.timer is not None:
            watch.timer.cancel()

    def __call__(self, event: Event) -> None:
        watch = self._runs.get(event.run_id)
        if watch is None:
            return
        if isinstance(event, RunFinished):
            self._finished(watch, event)
        elif isinstance(event, RunStarted):
            self._started(watch, event)
        elif isinstance(event, RunWaiting):
            self._waiting(watch, event)

    # ------------------------------------------------------------------ events
    def _started(self, watch: _Watch, event: RunStarted) -> None:
        with watch.lock:
            watch.started = time.monotonic()
            threshold = watch.policy.slow_threshold_seconds
            if watch.policy.on_slow and threshold is not None and watch.timer is None:
                watch.timer = threading.Timer(threshold, self._slow, args=(event.run_id, watch))
                watch.timer.daemon = True
                watch.timer.name = f"spine-slow-{event.run_id}"
                watch.timer.start()

    def _slow(self, run_id: str, watch: _Watch) -> None:
        """The slow timer fired: alert once, unless the run has ended meanwhile."""
        with watch.lock:
            if watch.finished or watch.slow_sent or watch.started is None:
                return
            watch.slow_sent = True
            elapsed = time.monotonic() - watch.started
        threshold = watch.policy.slow_threshold_seconds or 0.0
        payload = slow_alert(run_id=run_id, workflow=watch.workflow, at=datetime.now(UTC),
                             status="running", duration_seconds=elapsed,
                             threshold_seconds=threshold)
        try:
            self._queue(run_id, watch, "slow", watch.policy.on_slow, payload)
        except Exception:  # on the timer's thread: nobody else would see it
            logger.exception("queueing the slow-run alert of %s failed", run_id)

    def _finished(self, watch: _Watch, event: RunFinished) -> None:
        policy = watch.policy
        with watch.lock:
            watch.finished = True
            if watch.timer is not None:
                watch.timer.cancel()
            threshold = policy.slow_threshold_seconds
            slow = (bool(policy.on_slow) and not watch.slow_sent and threshold is not None
                    and event.duration_seconds > threshold)
            watch.slow_sent = watch.slow_sent or slow
        if event.status == "failed" and policy.on_failure:
            self._queue(event.run_id, watch, "failure", policy.on_failure, failure_alert(
                run_id=event.run_id, workflow=event.workflow, at=event.at, status=event.status,
                error=event.error, error_step=event.error_step, category=event.category,
                duration_seconds=event.duration_seconds))
        if slow and threshold is not None:
            self._queue(event.run_id, watch, "slow", policy.on_slow, slow_alert(
                run_id=event.run_id, workflow=event.workflow, at=event.at, status=event.status,
                duration_seconds=event.duration_seconds, threshold_seconds=threshold))

    def _waiting(self, watch: _Watch, event: RunWaiting) -> None:
        channels = watch.policy.approval_channels
        with watch.lock:
            new = [s for s in event.steps if s not in watch.approvals_sent]
            watch.approvals_sent.update(new)
        for step in new if channels else ():
            self._queue(event.run_id, watch, "approval", channels, approval_alert(
                run_id=event.run_id, workflow=event.workflow, at=event.at, step=step,
                gate=watch.gates.get(step)))

    def _queue(self, run_id: str, watch: _Watch, kind: str,
               channels: Iterable[AlertChannel], payload: dict[str, Any]) -> None:
        """One outbox row per channel, in one transaction, then wake the sender."""
        delivery = watch.policy.delivery
        self.outbox.enqueue([NewAlert(kind=kind, run_id=run_id, workflow=watch.workflow,
                                      channel={**channel.to_config(), "delivery": delivery},
                                      payload=payload) for channel in channels])
        self.sender.wake()

    def close(self, timeout: float | None = None) -> None:
        """Stop slow timers, and let the sender finish what is due now (bounded)."""
        for run_id in list(self._runs):
            self.unwatch(run_id)
        if timeout is None:
            self.sender.close()
        else:
            self.sender.close(timeout)
