"""Rebuilding a stored run's definition and history: what ``resume``, ``retry``, the debugger,
the TUI and ``WorkflowPlayground.load_run`` need to continue or inspect a persisted run.

The definition comes from, in order: the file the run recorded as its source (loaded fresh,
so handlers are real code), a registered workflow of that name, then the version stored for
the run when it is replayable. This sits above the store (which never loads code) and below
the front ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from . import registry
from .adaptive.history import as_ran
from .discovery import PYTHON_SUFFIXES, YAML_SUFFIXES, discover, load_file
from .errors import WorkflowError
from .recorded import RecordedRun
from .results import StepRun
from .sources import SourceRef
from .store.records import RunRecord
from .store.runs import RunStore
from .store.schema import StoreError
from .versions import WorkflowVersionStore
from .workflow import Workflow


class DefinitionNotFoundError(StoreError, LookupError):
    """No usable definition for a stored run (its file is gone and no version is stored)."""


def workflow_for_run(store: RunStore, record: RunRecord,
                     paths: Iterable[str | Path] | None = None, *,
                     search: Iterable[str | Path] | None = None) -> Workflow:
    """The workflow definition ``record`` ran, rebuilt as described in the module docstring,
    with the steps its adaptive changes inserted or replaced (``engine.adaptive.history``).

    ``paths`` are workflow folders to load first (pipelines and sub-workflows the definition
    names); without them, a run of a registered workflow that is not registered yet is
    looked for in ``search`` (default: ``./workflows``; the CLI adds its bundled samples).
    """
    base = _definition(store, record, paths, search)
    changes = [e.data for e in store.events(record.run_id) if e.kind == "adaptive_change"]
    return as_ran(base, changes) if changes else base


def _definition(store: RunStore, record: RunRecord, paths: Iterable[str | Path] | None,
                search: Iterable[str | Path] | None) -> Workflow:
    """The definition the run started with (before any adaptive change)."""
    load_references(record, paths, search=search)
    tried: list[str] = []
    source = SourceRef.parse(record.source)
    if source is not None and source.path is not None:
        if source.path.is_file():
            workflows, errors = load_file(source.path)
            match = next((w.workflow for w in workflows if w.name == record.workflow), None)
            if match is not None:
                return match
            tried.append(f"{source}: " + ("; ".join(str(e) for e in errors)
                                          or f"no workflow named {record.workflow!r}"))
        else:
            tried.append(f"{source}: file not found")
    if record.workflow in registry.list_workflows():
        return registry.get_workflow(record.workflow)
    tried.append(f"registry: no workflow {record.workflow!r}")
    try:
        if record.version is not None:
            return WorkflowVersionStore(store.db).get(record.workflow, record.version).to_workflow()
    except (WorkflowError, LookupError) as exc:  # not stored, or its handlers are gone
        tried.append(f"stored version v{record.version}: {exc}")
    raise DefinitionNotFoundError(
        f"cannot rebuild workflow {record.workflow!r} for run {record.run_id}: "
        + "; ".join(tried) + ". Pass the workflow (or its file) explicitly")


def load_references(record: RunRecord, paths: Iterable[str | Path] | None = None, *,
                    search: Iterable[str | Path] | None = None) -> None:
    """Register what the recorded definition may need: ``paths``, the ``.py`` files beside a
    recorded YAML file (its pipelines), or ``search`` for a registered workflow."""
    path_list = list(paths or ())
    if path_list:
        discover(path_list)
    source = SourceRef.parse(record.source)
    if source is None or source.path is None:
        if not path_list and record.workflow not in registry.list_workflows():
            discover(search)  # where `run NAME` would have found it
        return
    if source.path.suffix in YAML_SUFFIXES and source.path.is_file():
        for sibling in sorted(source.path.parent.glob("*")):
            if sibling.suffix in PYTHON_SUFFIXES and not sibling.name.startswith(("_", ".")):
                load_file(sibling)  # its own load errors are not the YAML's


def recorded_run(store: RunStore, run_id: str, workflow: Workflow | None = None) -> RecordedRun:
    """A stored run as the playground loads it: definition, params, step records with outputs."""
    record = store.get_run(run_id)
    wf = workflow or workflow_for_run(store, record)
    outputs = store.outputs(record.run_id)
    steps = sorted(store.step_runs(record.run_id),
                   key=lambda s: (s.finished_at is None, s.finished_at or 0))
    runs = tuple(StepRun(s.step, s.status, s.attempts, outputs.get(s.step), s.error,
                         s.error_category, s.error_type, None, s.started_at, s.finished_at,
                         s.duration_seconds or 0.0, s.child_run_id) for s in steps)
    return RecordedRun(record.run_id, wf, dict(record.params), runs)


class StoredRuns:
    """A run store as ``WorkflowPlayground.load_run`` reads it (``recorded_run(run_id)``)."""

    def __init__(self, store: RunStore, paths: Iterable[str | Path] | None = None) -> None:
        self.store = store
        self.paths = list(paths or ())

    def recorded_run(self, run_id: str) -> RecordedRun:
        record = self.store.get_run(run_id)
        return recorded_run(self.store, run_id, workflow_for_run(self.store, record, self.paths))
