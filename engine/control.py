"""``RunControl``: pause, resume, cancel, approve, reject, retry and replay stored runs from
any process — the library behind ``spine-engine pause|resume|cancel|retry|approve|reject``.

Commands are rows in the store's ``control`` table (``engine.store.control_requests``); the
process running the run applies them within ``POLL_SECONDS`` and announces the new state as
a lifecycle event. A request that does not fit the run's state is refused at once, naming it.
Retry and replay start a new run here, through ``TrackedWorkflowRunner``.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .lifecycle import LIVE, require
from .results import RunStatus, WorkflowResult
from .store.control_inbox import CANCEL, PAUSE, POLL_SECONDS, RESUME, pending_commands
from .store.control_requests import (
    RunControlError,
    approvals,
    decide_approval,
    origin_of,
    send_command,
)
from .store.db import Database
from .store.records import ApprovalRecord, RunRecord
from .store.runs import RunStore, reap_dead_runs
from .tracking import TrackedWorkflowRunner

__all__ = ["POLL_SECONDS", "ApprovalRecord", "RunControl", "RunControlError"]

_S = RunStatus


class RunControl:
    """Control stored runs from any process: the library behind ``spine-engine pause`` etc.

    Commands are requests: ``pause``/``cancel`` return the run as it was when asked, and the
    running process acts within ``POLL_SECONDS``; ``wait()`` blocks until a status shows.
    ``store`` is a path, a ``Database`` or a ``RunStore`` (default ``$SPINE_DB``).
    """

    def __init__(self, store: str | Path | Database | RunStore | None = None) -> None:
        self.store = store if isinstance(store, RunStore) else RunStore(store)
        self.db = self.store.db

    def status(self, run_id: str) -> RunRecord:
        """The run (id or unique prefix), after marking it interrupted if its process died."""
        record = self.store.get_run(run_id)
        if record.status in LIVE and reap_dead_runs(self.db, record.run_id):
            record = self.store.get_run(record.run_id)
        return record

    def pause(self, run_id: str) -> RunRecord:
        """Ask a run to start no new step until ``resume_paused``; running steps finish."""
        record = self.status(run_id)
        if record.status is _S.PAUSED:
            return record
        require(record.run_id, record.status, (_S.RUNNING, _S.WAITING, _S.QUEUED), "paused",
                error=RunControlError)
        send_command(self.db, record.run_id, PAUSE)
        return record

    def resume_paused(self, run_id: str) -> RunRecord:
        """Let a paused run start steps again (a crashed run continues with ``resume``)."""
        record = self.status(run_id)
        if record.status is not _S.PAUSED and not (
                record.status in LIVE and pending_commands(self.db, record.run_id, PAUSE)):
            hint = ("; `spine-engine resume` (TrackedWorkflowRunner.resume) continues a run "
                    "that stopped") if record.status in (_S.INTERRUPTED,
                                                         _S.FAILED) else ""
            raise RunControlError(f"run {record.run_id} is {record.status.value}, "
                                  f"not paused{hint}")
        send_command(self.db, record.run_id, RESUME)
        return record

    def cancel(self, run_id: str) -> RunRecord:
        """Ask a run to stop: nothing new starts, a paused, waiting or queued run ends now."""
        record = self.status(run_id)
        require(record.run_id, record.status, LIVE, "cancelled", error=RunControlError)
        send_command(self.db, record.run_id, CANCEL)
        return record

    def wait(self, run_id: str, statuses: Iterable[str] | None = None,
             timeout: float | None = None, poll: float = 0.05) -> RunRecord:
        """Block until the run reaches one of ``statuses`` (default: any final status)."""
        wanted = {RunStatus(s) for s in statuses} if statuses is not None else None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self.status(run_id)
            if (record.status in wanted) if wanted is not None else record.status.is_terminal:
                return record
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"run {record.run_id} is still {record.status.value} "
                                   f"after {timeout:g}s")
            time.sleep(poll)

    # ------------------------------------------------------------------ approvals
    def approve(self, run_id: str, step: str, by: str | None = None,
                comment: str | None = None) -> ApprovalRecord:
        """Approve a waiting approval step; the run continues within ``POLL_SECONDS``."""
        return self._decide(run_id, step, "approved", by, comment)

    def reject(self, run_id: str, step: str, by: str | None = None,
               comment: str | None = None) -> ApprovalRecord:
        """Reject a waiting approval step: it fails with category REJECTED."""
        return self._decide(run_id, step, "rejected", by, comment)

    def approvals(self, run_id: str | None = None,
                  status: str | None = "pending") -> list[ApprovalRecord]:
        """Approval requests, newest first, optionally of one run and/or one status."""
        full_id = self.store.get_run(run_id).run_id if run_id else None
        return approvals(self.db, full_id, status)

    def _decide(self, run_id: str, step: str, status: str, by: str | None,
                comment: str | None) -> ApprovalRecord:
        record = self.store.get_run(run_id)
        return decide_approval(self.db, record.run_id, step, status, by or _current_user(),
                               comment)

    # ------------------------------------------------------------------ re-execution
    def retry(self, run_id: str, workflow: Any, **options: Any) -> WorkflowResult:
        """Re-run a failed, cancelled or interrupted run from its failed step as a new run
        (see ``TrackedWorkflowRunner.retry``)."""
        with TrackedWorkflowRunner(self.store) as runner:
            return runner.retry(run_id, workflow, **options)

    def replay_step(self, run_id: str, step: str, workflow: Any) -> WorkflowResult:
        """Run one step of a stored run again as a new one-step run (see
        ``TrackedWorkflowRunner.replay_step``)."""
        with TrackedWorkflowRunner(self.store) as runner:
            return runner.replay_step(run_id, step, workflow)

    def origin(self, run_id: str) -> dict[str, Any] | None:
        """Where a retry or replay run came from: ``{"kind", "run_id", "step"}``, else None."""
        return origin_of(self.db, self.store.get_run(run_id).run_id)

    def close(self) -> None:
        self.store.close()


def _current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"
