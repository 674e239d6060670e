"""What a data step is told: its incremental cursor, its errors, the formats it speaks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import WorkflowError
from ..policies import ErrorCategory

#: how a table travels between data steps, as an artifact
ARTIFACT_FORMATS = ("parquet", "csv")
#: where a cursor may live: the run store (the spec's ``workflow_state``)
CURSOR_STORAGES = ("workflow_state",)
#: sink write modes: add rows, replace the table's rows, or insert-or-update by key
WRITE_MODES = ("append", "replace", "upsert")


class DataStepError(WorkflowError):
    """A data step cannot read or write its data (bad settings, a missing table, a handler
    that returned no table); its category says whether retrying could help."""

    def __init__(self, message: str, category: ErrorCategory = ErrorCategory.CONFIGURATION
                 ) -> None:
        super().__init__(message)
        self.category = category


@dataclass(frozen=True, slots=True)
class IncrementalConfig:
    """Read only rows newer than the last completed run's (spec §3 "Incremental Processing").

    ``cursor_field`` is the column that grows (an id, an ``updated_at``); the high-water mark
    is kept in the run store (``cursor_storage="workflow_state"``) under ``name`` (default
    ``<workflow>.<step>``) and moves only when the run completes, so a failed run is read
    again in full by the next one. ``initial_value``: where the first run starts (None: every
    row). ``store``: the run-store file holding the cursor (default ``$SPINE_DB``, the same
    default runs are recorded in; pass the store you run against when it is another file).
    """

    cursor_field: str
    cursor_storage: str = "workflow_state"
    name: str | None = None
    initial_value: Any = None
    store: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.cursor_field, str) or not self.cursor_field.strip():
            raise ValueError("IncrementalConfig needs cursor_field, the column that grows "
                             "(e.g. cursor_field='updated_at')")
        if self.cursor_storage not in CURSOR_STORAGES:
            raise ValueError(f"IncrementalConfig: cursor_storage {self.cursor_storage!r} is not "
                             f"supported; use {', '.join(CURSOR_STORAGES)} (the run store)")
        if self.name is not None and not str(self.name).strip():
            raise ValueError("IncrementalConfig: name must not be empty (or leave it None)")

    def cursor_name(self, workflow: str, step: str) -> str:
        return self.name or f"{workflow}.{step}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"cursor_field": self.cursor_field,
                                "cursor_storage": self.cursor_storage}
        if self.name:
            data["name"] = self.name
        if self.initial_value is not None:
            data["initial_value"] = self.initial_value
        return data
