"""Messages shared across screens, named for what happened, and the app state they carry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from engine import Catalog, DiscoveredWorkflow, LoadError, RunStore
    from engine.store import WorkflowStats


@dataclass
class CatalogLoaded(Message):
    """Discovery finished; ``catalog`` is the engine's ``Catalog`` (workflows and load errors)."""

    catalog: Catalog


@dataclass
class CatalogLoadFailed(Message):
    """Discovery itself failed (not one file: the whole scan), with a readable reason."""

    error: str


@dataclass
class WorkflowFileReloaded(Message):
    """A watched file changed and was loaded again (``removed`` when it was deleted)."""

    path: str
    workflows: list[DiscoveredWorkflow]
    errors: list[LoadError]
    removed: bool = False


@dataclass
class VersionsPublished(Message):
    """A reload published the changed definitions (``name vN`` now latest, or the error)."""

    path: str
    versions: list[str]
    error: str = ""


@dataclass
class WatchFailed(Message):
    """The file watcher stopped (a watched folder vanished, no inotify slots, ...)."""

    error: str


@dataclass
class StoreOpened(Message):
    store: RunStore


@dataclass
class StoreFailed(Message):
    """The run store could not be opened; ``error`` names the file and what to do."""

    error: str


@dataclass
class StatsLoaded(Message):
    stats: dict[str, WorkflowStats]


@dataclass(frozen=True, slots=True)
class LiveRun:
    """A run started from this workbench, as its events report it (for progress displays)."""

    run_id: str
    workflow: str
    steps: tuple[str, ...]
    statuses: Mapping[str, str] = field(default_factory=dict)
    status: str = "running"
    error: str | None = None
    duration_seconds: float | None = None

    @property
    def done(self) -> int:
        """Finished steps of the run itself; a map's per-item entries (``fan[2].inner``) are
        not counted, so the count never exceeds ``len(steps)``."""
        own = set(self.steps)
        return sum(status in ("completed", "failed", "skipped", "cancelled")
                   for name, status in self.statuses.items() if name in own)

    @property
    def finished(self) -> bool:
        return self.status != "running"


@dataclass
class RunLaunched(Message):
    """The workbench started ``run_id`` (its first event may still be on its way)."""

    run_id: str
    workflow: str
    steps: tuple[str, ...]


STEP_PATH_SEP = "/"
"""Joins a sub-workflow's step to the step that runs it (``load/extract``) in
``StepStatusChanged.step`` and ``LiveRun.statuses``: the keys of the DAG viewer's opened boxes."""


@dataclass
class StepStatusChanged(Message):
    """A step of a run started here started, retried or finished."""

    run_id: str
    step: str
    status: str
    attempt: int = 1
    error: str | None = None


@dataclass
class RunEnded(Message):
    """A run started here finished (``status`` completed, failed, cancelled, ...)."""

    run_id: str
    workflow: str
    status: str
    error: str | None = None
    duration_seconds: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
