"""Data lineage (spec §3): data steps report what they read and wrote as ``LineageRecorded``
events on the run's stream (the recorder stores them, like every other run fact), and
``run_data_lineage`` reads a run's lineage back in the spec's ``DataLineage`` shape."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..artifacts.refs import ArtifactRef
from ..events import LineageRecorded
from ..ids import now
from ..secrets.masking import mask
from ..step_scope import current_step
from ..store.lazy import LazyStore
from ..store.lineage import LineageRecord, run_lineage


def report(direction: str, kind: str, name: str, detail: dict[str, Any]) -> bool:
    """Put one lineage fact on the stream of the run this thread's step belongs to; False
    when the step runs outside a runner (nothing to tell)."""
    scope = current_step()
    if scope is None or scope.emit is None:
        return False
    scope.emit(LineageRecorded(run_id=scope.run_id, workflow=scope.workflow, at=now(),
                               step=scope.step, direction=direction, kind=kind,
                               name=mask(name), detail=detail))
    return True


def transform_hash(fn: Callable[..., Any]) -> str:
    """SHA-256 of a handler's source (its bytecode and constants when the source is not
    available), so lineage shows when the code that made a dataset changed."""
    target = getattr(fn, "__wrapped__", fn)
    try:
        text = inspect.getsource(target).encode()
    except (OSError, TypeError):
        code = getattr(target, "__code__", None)
        text = repr(target).encode() if code is None else \
            code.co_code + repr(code.co_consts).encode()
    return hashlib.sha256(text).hexdigest()


@dataclass(frozen=True, slots=True)
class DataLineage:
    """How one dataset of a run was made (the spec's shape): the step that wrote it, the
    artifacts it read (``source_refs``) and everything else it read (``inputs``: tables,
    files, functions), the hash of its code, its rows and columns. ``target`` names what was
    written (an artifact key, ``/path/db#table``, a file); ``artifact_ref`` is its ref when
    it is an artifact."""

    artifact_ref: ArtifactRef | None
    source_step: str
    source_refs: list[ArtifactRef]
    transform_hash: str
    row_count: int
    schema: dict[str, str]
    created_at: datetime | None
    target: str = ""
    target_kind: str = "artifact"
    inputs: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"artifact_ref": None if self.artifact_ref is None else self.artifact_ref.to_dict(),
                "source_step": self.source_step,
                "source_refs": [ref.to_dict() for ref in self.source_refs],
                "transform_hash": self.transform_hash, "row_count": self.row_count,
                "schema": dict(self.schema),
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "target": self.target, "target_kind": self.target_kind,
                "inputs": list(self.inputs)}


def run_data_lineage(run_id: str, store: Any = None) -> list[DataLineage]:
    """Each dataset ``run_id`` wrote, with what it was made from (``store``: the run store,
    default ``$SPINE_DB``)."""
    return data_lineage(run_lineage(LazyStore(store).db, run_id))


def data_lineage(records: list[LineageRecord]) -> list[DataLineage]:
    """``DataLineage`` per write fact, joined with the same step's read facts."""
    reads: dict[str, list[LineageRecord]] = {}
    for record in records:
        if record.direction == "read":
            reads.setdefault(record.step, []).append(record)
    made: list[DataLineage] = []
    for record in records:
        if record.direction != "write":
            continue
        inputs = reads.get(record.step, [])
        made.append(DataLineage(
            artifact_ref=_ref(record.details.get("ref")), source_step=record.step,
            source_refs=[ref for ref in (_ref(r.details.get("ref")) for r in inputs) if ref],
            transform_hash=str(record.details.get("transform_hash", "")),
            row_count=record.rows or 0, schema=record.schema, created_at=record.recorded_at,
            target=record.name, target_kind=record.kind,
            inputs=tuple(r.name for r in inputs)))
    return made


def _ref(value: Any) -> ArtifactRef | None:
    if not ArtifactRef.is_ref_dict(value):
        return None
    try:
        return ArtifactRef.from_dict(value)
    except ValueError:
        return None
