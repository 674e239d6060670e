"""Read-only views of stored rows, handed to the CLI, the TUI and scripts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from ..artifacts.base import OCTET_STREAM, BaseArtifactStore
from ..artifacts.refs import ArtifactChecksumError, ArtifactNotFoundError, ArtifactRef
from ..results import RunStatus
from ..step_names import is_map_item

ArtifactState = Literal["ok", "missing", "corrupt", "other store"]


def to_datetime(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: str
    workflow: str
    status: RunStatus
    version: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    partition_key: str | None = None
    parent_run_id: str | None = None
    source: str | None = None
    error: str | None = None
    error_step: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = None
    heartbeat_at: datetime | None = None
    pid: int | None = None
    host: str | None = None
    step_count: int | None = None
    started_by: str | None = None
    """``cli``, ``tui``, ``api``, ``script``, ``schedule:NAME`` or ``trigger:NAME``."""
    parent_step: str | None = None
    """The parent run's step a sub-workflow run is for (``fan[2].each`` inside a map)."""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RunRecord:
        return cls(
            run_id=row["run_id"], workflow=row["workflow"], status=RunStatus(row["status"]),
            version=row.get("version"), params=json.loads(row.get("params") or "{}"),
            partition_key=row.get("partition_key"), parent_run_id=row.get("parent_run_id"),
            source=row.get("source"), error=row.get("error"), error_step=row.get("error_step"),
            created_at=to_datetime(row.get("created_at")),
            started_at=to_datetime(row.get("started_at")),
            finished_at=to_datetime(row.get("finished_at")),
            duration_seconds=row.get("duration_seconds"),
            heartbeat_at=to_datetime(row.get("heartbeat_at")), pid=row.get("pid"),
            host=row.get("host"), step_count=row.get("step_count"),
            started_by=row.get("started_by"), parent_step=row.get("parent_step"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "workflow": self.workflow, "status": self.status.value,
            "version": self.version, "params": self.params, "partition_key": self.partition_key,
            "parent_run_id": self.parent_run_id, "source": self.source, "error": self.error,
            "error_step": self.error_step, "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at), "finished_at": _iso(self.finished_at),
            "duration_seconds": self.duration_seconds, "pid": self.pid, "host": self.host,
            "step_count": self.step_count, "started_by": self.started_by,
            "parent_step": self.parent_step,
        }


@dataclass(frozen=True, slots=True)
class StepRecord:
    run_id: str
    step: str
    status: RunStatus
    attempts: int = 0
    error: str | None = None
    error_category: str | None = None
    error_type: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = None
    child_run_id: str | None = None
    #: where the last attempt ran (``process:HOST:PID``, ``dask:ADDRESS``); None: in the
    #: coordinating process, on a thread
    worker: str | None = None

    @property
    def is_map_item(self) -> bool:
        """A map's per-item run of an inner step (``fan[3].clean``), not a step of the run."""
        return is_map_item(self.step)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StepRecord:
        return cls(run_id=row["run_id"], step=row["step"], status=RunStatus(row["status"]),
                   attempts=row.get("attempts") or 0, error=row.get("error"),
                   error_category=row.get("error_category"), error_type=row.get("error_type"),
                   started_at=to_datetime(row.get("started_at")),
                   finished_at=to_datetime(row.get("finished_at")),
                   duration_seconds=row.get("duration_seconds"),
                   child_run_id=row.get("child_run_id"), worker=row.get("worker"))

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "status": self.status.value, "attempts": self.attempts,
                "error": self.error, "error_category": self.error_category,
                "error_type": self.error_type, "started_at": _iso(self.started_at),
                "finished_at": _iso(self.finished_at),
                "duration_seconds": self.duration_seconds, "child_run_id": self.child_run_id,
                **({"worker": self.worker} if self.worker else {})}


@dataclass(frozen=True, slots=True)
class LogRecord:
    seq: int
    run_id: str
    step: str | None
    at: datetime
    stream: str
    level: str
    message: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LogRecord:
        return cls(seq=row["seq"], run_id=row["run_id"], step=row.get("step"),
                   at=to_datetime(row["at"]) or datetime.now(UTC), stream=row["stream"],
                   level=row["level"], message=row["message"])

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "run_id": self.run_id, "step": self.step,
                "at": self.at.isoformat(), "stream": self.stream, "level": self.level,
                "message": self.message}


@dataclass(frozen=True, slots=True)
class EventRecord:
    seq: int
    run_id: str
    kind: str
    step: str | None
    at: datetime
    data: dict[str, Any]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EventRecord:
        return cls(seq=row["seq"], run_id=row["run_id"], kind=row["kind"], step=row.get("step"),
                   at=to_datetime(row["at"]) or datetime.now(UTC),
                   data=json.loads(row.get("data") or "{}"))


@dataclass(frozen=True, slots=True)
class StepOutput:
    """A step's stored output and the run it came from (the workflow screen's "last output")."""

    run_id: str
    step: str
    value: Any
    run_status: RunStatus
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    """An ``ArtifactRef`` a step returned, as the store recorded it; the bytes live in an
    artifact store, so ``verify`` says whether they are still there and intact."""

    run_id: str
    key: str
    step: str | None
    store: str
    size_bytes: int
    content_type: str | None
    checksum: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ArtifactRecord:
        return cls(run_id=row["run_id"], key=row["key"], step=row.get("step"),
                   store=row.get("store") or "", size_bytes=int(row.get("size_bytes") or 0),
                   content_type=row.get("content_type"), checksum=row["checksum"],
                   created_at=to_datetime(row["created_at"]) or datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "step": self.step, "store": self.store,
                "size_bytes": self.size_bytes, "content_type": self.content_type,
                "checksum": self.checksum, "created_at": self.created_at.isoformat()}

    def to_ref(self) -> ArtifactRef:
        """The reference the step returned, to read or verify the artifact through."""
        return ArtifactRef(store=self.store, key=self.key, size_bytes=self.size_bytes,
                           content_type=self.content_type or OCTET_STREAM,
                           created_at=self.created_at, checksum=self.checksum)

    def verify(self, artifacts: BaseArtifactStore) -> tuple[ArtifactState, str | None]:
        """``ok`` when ``artifacts`` still holds the recorded bytes under the key and they hash
        to the checksum, else ``missing`` / ``corrupt`` / ``other store`` and why, so a broken
        artifact shows before a downstream step trips on it."""
        if self.store and self.store != artifacts.name:
            return "other store", f"recorded in store {self.store!r}, not {artifacts.name!r}"
        try:  # a blank recorded store (a hand-made ref) is taken to mean this one
            artifacts.verify(replace(self.to_ref(), store=artifacts.name))
        except ArtifactNotFoundError as exc:
            return "missing", exc.detail or "no such key in the store"
        except ArtifactChecksumError as exc:
            return "corrupt", str(exc)
        return "ok", None


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """One approval request of one run's approval step, and its decision if made."""

    run_id: str
    step: str
    status: str  # pending | approved | rejected | expired | cancelled
    message: str | None = None
    requested_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    comment: str | None = None
    workflow: str | None = None
    run_status: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ApprovalRecord:
        return cls(run_id=row["run_id"], step=row["step"], status=row["status"],
                   message=row.get("message"), requested_at=to_datetime(row.get("requested_at")),
                   decided_at=to_datetime(row.get("decided_at")),
                   decided_by=row.get("decided_by"), comment=row.get("comment"),
                   workflow=row.get("workflow"), run_status=row.get("run_status"))

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {"run_id": self.run_id, "step": self.step, "status": self.status,
                "message": self.message, "requested_at": iso(self.requested_at),
                "decided_at": iso(self.decided_at), "decided_by": self.decided_by,
                "comment": self.comment, "workflow": self.workflow,
                "run_status": self.run_status}
