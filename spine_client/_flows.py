"""The multi-request helpers' logic, shared by both clients: only their I/O loops differ.

``Waiter`` paces polling a run until it ends, ``LogFollow`` keeps the place in a log stream
across reconnects, and ``DownloadSink`` hashes an artifact while it is written and refuses
to keep bytes whose SHA-256 differs from the server's.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spine_client._core import ENDED_STATUSES
from spine_client._sse import ServerSentEvent
from spine_client.errors import ChecksumMismatchError, LogStreamError, RunWaitTimeout
from spine_client.models import LogEntry, RunAccepted, RunStatusResponse

__all__ = ["DownloadSink", "LogFollow", "RunResult", "Waiter"]


@dataclass(frozen=True)
class RunResult:
    """What ``run_workflow`` returns: the run's id and status, and its outputs once it ended."""

    run_id: str
    workflow_name: str
    status: str
    outputs: dict[str, Any] = field(default_factory=dict)
    """Step name to output of every completed step (empty until the run was waited for)."""
    error: str | None = None
    run: RunStatusResponse | None = None
    """The run's final status with its steps, when it was waited for."""

    @property
    def ended(self) -> bool:
        """Whether the run had ended when this result was made."""
        return self.status in ENDED_STATUSES

    @property
    def ok(self) -> bool:
        """Whether the run completed."""
        return self.status == "completed"

    @classmethod
    def accepted(cls, run: RunAccepted) -> RunResult:
        """The result of a run that was started and not waited for."""
        return cls(run_id=run.run_id, workflow_name=run.workflow_name, status=run.status)

    @classmethod
    def ended_with(cls, run: RunStatusResponse, outputs: dict[str, Any]) -> RunResult:
        """The result of a run that was waited for until it ended."""
        return cls(run_id=run.run_id, workflow_name=run.workflow_name, status=run.status,
                   outputs=outputs, error=run.error, run=run)


class Waiter:
    """Paces the polls of a run and raises ``RunWaitTimeout`` once the deadline passed."""

    def __init__(self, run_id: str, timeout: float, poll: float) -> None:
        if poll <= 0:
            raise ValueError(f"poll must be positive, not {poll}")
        self.run_id, self.timeout, self.poll = run_id, timeout, poll
        self.deadline = time.monotonic() + timeout
        self.status = "unknown"

    def ended(self, run: RunStatusResponse) -> bool:
        """Whether this poll found the run ended."""
        self.status = run.status
        return run.status in ENDED_STATUSES

    def pause(self) -> float:
        """How long to sleep before the next poll (raises if no time is left)."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise RunWaitTimeout(self.run_id, self.status, self.timeout)
        return min(self.poll, remaining)


class LogFollow:
    """The place in a followed log stream: which line came last and whether the run ended.

    When the stream closes without ``event: end`` (a proxy's idle cut, a restart) the
    caller reconnects after ``after_seq``; lines seen before are skipped. Three connections
    in a row that bring nothing raise ``LogStreamError`` rather than loop forever.
    """

    MAX_IDLE_CONNECTIONS = 3

    def __init__(self, run_id: str, step: str | None) -> None:
        self.run_id, self.step = run_id, step
        self.after_seq = 0
        self.final_status: str | None = None
        self._idle = 0
        self._progressed = False

    @property
    def ended(self) -> bool:
        """Whether the ``end`` event came: every line was sent and the run is over."""
        return self.final_status is not None

    def params(self) -> dict[str, int]:
        """The query of the next connection."""
        self._progressed = False
        return {"after_seq": self.after_seq}

    def handle(self, event: ServerSentEvent) -> LogEntry | None:
        """The log line an event carries (``None`` for ``end``, repeats and unknown events)."""
        if event.event == "log":
            entry = LogEntry.model_validate_json(event.data)
            if entry.seq <= self.after_seq:
                return None
            self.after_seq, self._progressed = entry.seq, True
            return entry
        if event.event == "end":
            try:
                status = json.loads(event.data).get("status")
            except (ValueError, AttributeError):
                status = None
            self.final_status = str(status or "ended")
        return None

    def closed_early(self) -> float:
        """Note a stream that closed before ``end``; how long to wait before reconnecting."""
        self._idle = 0 if self._progressed else self._idle + 1
        if self._idle >= self.MAX_IDLE_CONNECTIONS:
            target = f"step {self.step!r} of run {self.run_id}" if self.step else \
                f"run {self.run_id}"
            raise LogStreamError(f"the log stream of {target} closed {self._idle} times "
                                 f"without an end event (last line seq {self.after_seq})")
        return 0.2 * self._idle


class DownloadSink:
    """Receives an artifact's bytes into memory or a file, hashing them on the way.

    A file is written next to its target and renamed into place only once its checksum
    matched, so a corrupt or cut-off download never leaves a file that looks complete.
    """

    def __init__(self, key: str, expected: str | None, target: str | os.PathLike[str] | None):
        self.key, self.expected = key, expected.strip().lower() if expected else None
        self._hash = hashlib.sha256()
        self.target: Path | None = None
        self._file: Any
        if target is None:
            self._file = io.BytesIO()
            return
        self.target = Path(target)
        if self.target.is_dir():
            self.target = self.target / (key.rsplit("/", 1)[-1] or "artifact")
        self._file = tempfile.NamedTemporaryFile(  # closed by finish or abort
            dir=self.target.parent, prefix=f".{self.target.name}.", suffix=".part",
            delete=False)

    def write(self, chunk: bytes) -> None:
        """Hash and keep one chunk."""
        self._hash.update(chunk)
        self._file.write(chunk)

    def finish(self) -> bytes | Path:
        """The bytes, or the file's path, once the checksum matched."""
        actual = self._hash.hexdigest()
        if self.expected != actual:
            self.abort()
            raise ChecksumMismatchError(self.key, self.expected, actual)
        if self.target is None:
            data: bytes = self._file.getvalue()
            return data
        self._file.close()
        os.replace(self._file.name, self.target)
        return self.target

    def abort(self) -> None:
        """Drop what was received (a half-written file is removed)."""
        self._file.close()
        if self.target is not None:
            Path(self._file.name).unlink(missing_ok=True)
