"""Concurrency admission: a tracked run starts only while its workflow has a free slot.

The slot itself is claimed by the recorder in one write transaction (``RunRecorder.claim_slot``),
so two processes can never both take the last one. Here is the policy around it: a run that
finds no free slot is skipped, queued (first come, first served, re-checking every
``poll_interval``; the recorder's heartbeat keeps its row alive meanwhile) or asks the runs in
its way to cancel, and a queued run leaves the queue on a cancel command or its timeout. Every
outcome is a lifecycle event (``RunQueued``, ``RunSkipped``, ``RunFinished``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..events import Event, RunFinished, RunQueued, RunSkipped
from ..ids import now
from ..results import RunStatus
from ..store.control_inbox import CANCEL, POLL_SECONDS, mark_handled, pending_commands
from ..store.recorder import RunRecorder
from ..workflow import ConcurrencyPolicy, OnConflict


@dataclass(frozen=True, slots=True)
class Admission:
    """How the slot request ended: ``admitted``, else the status the run ended with and why."""

    status: RunStatus | None = None
    reason: str | None = None
    waited_seconds: float = 0.0

    @property
    def admitted(self) -> bool:
        return self.status is None


def admit(recorder: RunRecorder, emit: Callable[[Event], None], run_id: str, workflow: str,
          policy: ConcurrencyPolicy, cancel: threading.Event,
          reap: Callable[[], object] = lambda: None,
          poll_interval: float = POLL_SECONDS) -> Admission:
    """Claim a slot for the pending run ``run_id`` under ``policy``.

    ``reap`` marks runs of dead processes interrupted, so their slots free up.
    """
    limit, action = policy.max_concurrent_runs, OnConflict(policy.on_conflict)
    start = time.monotonic()
    reap()
    claim = recorder.claim_slot(run_id, workflow, limit,
                                cancel_holders=action is OnConflict.CANCEL_EXISTING)
    if claim.admitted:
        return Admission()
    if action is OnConflict.SKIP:
        reason = (f"skipped: workflow {workflow!r} already has {len(claim.holders)} run(s) in "
                  f"flight (max_concurrent_runs={limit}): "
                  f"{', '.join(claim.holders + claim.ahead)}")
        emit(RunSkipped(run_id=run_id, workflow=workflow, at=now(), reason=reason))
        return Admission(RunStatus.SKIPPED, reason)
    emit(RunQueued(run_id=run_id, workflow=workflow, at=now(), holders=claim.holders,
                   ahead=claim.ahead, max_concurrent_runs=limit, on_conflict=action.value,
                   cancelled=claim.cancelled))
    deadline = (None if policy.queue_timeout_seconds is None
                else start + policy.queue_timeout_seconds)
    while True:
        commands = pending_commands(recorder.db, run_id, CANCEL)
        if commands or cancel.is_set():
            mark_handled(recorder.db, commands)
            return _leave(emit, run_id, workflow, RunStatus.CANCELLED,
                          "cancelled while queued for a concurrency slot", start)
        reap()
        claim = recorder.claim_slot(run_id, workflow, limit)
        if claim.admitted:
            return Admission(waited_seconds=time.monotonic() - start)
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            reason = (f"waited {policy.queue_timeout_seconds:g}s in the queue for a free slot "
                      f"of workflow {workflow!r} (max_concurrent_runs={limit}); still in "
                      f"flight: {', '.join(claim.holders) or 'none'} [TIMEOUT]")
            return _leave(emit, run_id, workflow, RunStatus.FAILED, reason, start)
        cancel.wait(poll_interval if left is None else min(poll_interval, max(0.0, left)))


def _leave(emit: Callable[[Event], None], run_id: str, workflow: str, status: RunStatus,
           reason: str, start: float) -> Admission:
    """End a queued run as ``status`` (cancelled, or failed on its timeout) with ``reason``."""
    waited = time.monotonic() - start
    category = "TIMEOUT" if status is RunStatus.FAILED else "CANCELLED"
    emit(RunFinished(run_id=run_id, workflow=workflow, at=now(), status=status.value,
                     error=reason, duration_seconds=waited, category=category))
    return Admission(status, reason, waited)
