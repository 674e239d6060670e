"""``AlertListener``: the run-event subscriber that queues a workflow's alerts in the outbox.

The tracked runner tells it which runs to watch and with which ``AlertPolicy`` when it
launches them (``watch``); events of other runs cost one dict lookup. On a failed
``RunFinished``, a run passing its slow threshold (a timer, so a run that hangs still alerts)
or a ``RunWaiting`` approval step, it writes one outbox row per channel in one small
transaction and wakes the ``AlertSender``: sending never happens on the run's path.

A process that dies cannot say its run failed, so the failure channels' alert is written
ahead, ``armed``, when the run is watched, and dropped when the run ends in its process; the
sweep (any process that launches runs, and ``serve``) marks dead runs interrupted and sends
their armed alerts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ..events import Event, RunFinished, RunStarted, RunWaiting
from ..steps import ApprovalGate, Step
from ..store.alerts import AlertOutbox, NewAlert
from ..store.db import Database
from .channels import AlertChannel
from .messages import approval_alert, failure_alert, interrupted_alert, slow_alert
from .policy import AlertPolicy
from .sender import AlertSender, release_interrupted

logger = logging.getLogger("engine.alerts")

SWEEP_SECONDS = 60.0
ENDED_PARENTS_KEPT = 256  # ended runs whose detached sub-workflow runs may still start  # how often launching runs looks for alerts other processes left


class SubWorkflow(Protocol):
    """What the listener reads of a sub-workflow's definition (a ``Workflow``)."""

    @property
    def alerts(self) -> AlertPolicy | None: ...

    @property
    def steps(self) -> tuple[Step, ...]: ...


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
    armed: bool = False
    parent: str | None = None
    """The parent run of a sub-workflow run (watched from its ``RunStarted``)."""
    inherited: bool = False
    """A sub-workflow run watched under its parent's policy: only its approvals notify (the
    parent's own failure alert covers a failing child)."""
    subworkflows: Mapping[str, SubWorkflow] = field(default_factory=dict)
    approvals_sent: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class AlertListener:
    """Queue alerts for the runs it watches; ``close()`` lets due alerts go out first."""

    def __init__(self, db: Database, *, sender: AlertSender | None = None) -> None:
        self.outbox = AlertOutbox(db)
        self.sender = sender or AlertSender(self.outbox)
        self._runs: dict[str, _Watch] = {}
        self._ended: OrderedDict[str, _Watch] = OrderedDict()
        self._last_sweep = float("-inf")
        self.sweep()

    def sweep(self) -> None:
        """Wake the sender when pending alerts are due (left by a process that died, or
        waiting out a retry) or a run of a dead process has an armed alert; at most once a
        minute, a few indexed queries."""
        if time.monotonic() - self._last_sweep < SWEEP_SECONDS:
            return
        self._last_sweep = time.monotonic()
        if release_interrupted(self.outbox) or self.outbox.due_ids(limit=1):
            self.sender.wake()

    def watch(self, run_id: str, workflow: str, policy: AlertPolicy | None,
              steps: Iterable[Step] = (),
              subworkflows: Mapping[str, SubWorkflow] | None = None) -> None:
        """Alert for ``run_id`` as ``policy`` says (None: only sweep for leftovers). Runs of
        ``subworkflows`` it starts are watched too: under their own policy if they declare
        one, else for approvals under this one."""
        self.sweep()
        children = dict(subworkflows or {})
        if policy is None and not any(child.alerts for child in children.values()):
            return
        # a waited sub-workflow waits through its parent's signals: its gates are the parent's
        gates = {s.name: s.gate for child in children.values() for s in child.steps
                 if s.gate is not None}
        gates.update((s.name, s.gate) for s in steps if s.gate is not None)
        watch = _Watch(workflow, policy or AlertPolicy(), gates, subworkflows=children)
        self._runs[run_id] = watch
        if policy is not None and policy.on_failure:
            payload = interrupted_alert(run_id=run_id, workflow=workflow, at=datetime.now(UTC))
            self.outbox.arm([self._alert(run_id, watch, "interrupted", channel, payload)
                             for channel in policy.on_failure])
            watch.armed = True

    def unwatch(self, run_id: str) -> None:
        """Stop watching ``run_id``: it ended (or was skipped) in this process."""
        watch = self._runs.pop(run_id, None)
        if watch is None:
            return
        if watch.timer is not None:
            watch.timer.cancel()
        if watch.armed:
            self.outbox.disarm(run_id)
        if watch.subworkflows:  # a detached sub-workflow run may start after its parent ended
            self._ended[run_id] = watch
            while len(self._ended) > ENDED_PARENTS_KEPT:
                self._ended.popitem(last=False)

    def __call__(self, event: Event) -> None:
        watch = self._runs.get(event.run_id)
        if watch is None:
            if isinstance(event, RunStarted) and event.parent_run_id is not None:
                parent = self._runs.get(event.parent_run_id) or self._ended.get(
                    event.parent_run_id)
                if parent is not None:
                    self._child_started(parent, event)
            return
        if isinstance(event, RunFinished):
            if watch.parent is not None:
                self.unwatch(event.run_id)  # nobody else unwatches a sub-workflow run
            self._finished(watch, event)
        elif isinstance(event, RunStarted):
            self._started(watch, event)
        elif isinstance(event, RunWaiting):
            self._waiting(watch, event)

    # ------------------------------------------------------------------ events
    def _child_started(self, parent: _Watch, event: RunStarted) -> None:
        """A sub-workflow run of a watched run started: watch it as its own policy says, or
        for its approvals under the parent's."""
        child = parent.subworkflows.get(event.workflow)
        if child is None:
            return
        gates = {s.name: s.gate for s in child.steps if s.gate is not None}
        own = child.alerts
        self._runs[event.run_id] = _Watch(
            event.workflow, own or parent.policy, gates, parent=event.parent_run_id,
            inherited=own is None,
            subworkflows={**parent.subworkflows, event.workflow: child})
        self._started(self._runs[event.run_id], event)

    def _started(self, watch: _Watch, event: RunStarted) -> None:
        if watch.inherited:
            return
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
        if watch.inherited:
            return
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
            run_id, workflow = self._approval_owner(event, step)
            self._queue(run_id, watch, "approval", channels, approval_alert(
                run_id=run_id, workflow=workflow, at=event.at, step=step,
                gate=watch.gates.get(step)))

    def _approval_owner(self, event: RunWaiting, step: str) -> tuple[str, str]:
        """The run whose approval ``step`` is: a waited sub-workflow waits through its
        parent's signals, but its approval is decided on its own run."""
        for run_id, child in list(self._runs.items()):
            if child.parent == event.run_id and not child.finished and step in child.gates:
                return run_id, child.workflow
        return event.run_id, event.workflow

    def _queue(self, run_id: str, watch: _Watch, kind: str,
               channels: Iterable[AlertChannel], payload: dict[str, Any]) -> None:
        """One outbox row per channel, in one transaction, then wake the sender."""
        self.outbox.enqueue([self._alert(run_id, watch, kind, channel, payload)
                             for channel in channels])
        self.sender.wake()

    @staticmethod
    def _alert(run_id: str, watch: _Watch, kind: str, channel: AlertChannel,
               payload: dict[str, Any]) -> NewAlert:
        return NewAlert(kind=kind, run_id=run_id, workflow=watch.workflow,
                        channel={**channel.to_config(), "delivery": watch.policy.delivery},
                        payload=payload)

    def close(self, timeout: float | None = None) -> None:
        """Stop slow timers, and let the sender finish what is due now (bounded)."""
        for run_id in list(self._runs):
            self.unwatch(run_id)
        if timeout is None:
            self.sender.close()
        else:
            self.sender.close(timeout)
