"""Rebuilding a stored run's definition and history: what ``resume``, the ``debug`` CLI, the
TUI and ``WorkflowPlayground.load_run`` need to continue or inspect a persisted run.

The definition comes from, in order: the file the run recorded as its ``source`` (loaded
fresh, so handlers are real code), a registered workflow of that name, then the version
stored for the run when it is replayable.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import WorkflowError
from ..results import StepRun
from .records import RunRecord
from .schema import StoreError

if TYPE_CHECKING:
    from ..playground.recorded import RecordedRun
    from ..workflow import Workflow
    from .runs import RunStore


class DefinitionNotFoundError(StoreError, LookupError):
    """No usable definition for a stored run (its file is gone and no version is stored)."""


def workflow_for_run(store: RunStore, record: RunRecord,
                     paths: Iterable[str | Path] | None = None) -> Workflow:
    """The workflow definition ``record`` ran, rebuilt as described in the module docstring.

    ``paths`` are workflow folders to load first (pipelines and sub-workflows the definition
    names); without them, a run of a registered workflow searches the default paths.
    """
    from .. import registry
    from ..discovery import load_file

    load_references(record, paths)
    tried: list[str] = []
    source = record.source or ""
    if source and not source.startswith(("registry:", "managed:")):
        path = Path(source)
        if path.is_file():
            workflows, errors = load_file(path)
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
        from .versions import WorkflowVersionStore

        if record.version is not None:
            return WorkflowVersionStore(store.db).get(record.workflow, record.version).to_workflow()
    except (WorkflowError, LookupError) as exc:  # not stored, or its handlers are gone
        tried.append(f"stored version v{record.version}: {exc}")
    raise DefinitionNotFoundError(
        f"cannot rebuild workflow {record.workflow!r} for run {record.run_id}: "
        + "; ".join(tried) + ". Pass the workflow (or its file) explicitly")


def load_references(record: RunRecord, paths: Iterable[str | Path] | None = None) -> None:
    """Register what the recorded definition may need: ``paths``, the ``.py`` files beside a
    recorded YAML file (its pipelines), or the default paths for a registered workflow."""
    from .. import registry
    from ..discovery import PYTHON_SUFFIXES, YAML_SUFFIXES, discover, load_file

    path_list = list(paths or ())
    if path_list:
        discover(path_list)
    source = record.source or ""
    if source.startswith(("registry:", "managed:")):
        if not path_list and record.workflow not in registry.list_workflows():
            discover(None)  # ./workflows or the bundled samples, where `run NAME` found it
        return
    file = Path(source)
    if file.suffix in YAML_SUFFIXES and file.is_file():
        for sibling in sorted(file.parent.glob("*")):
            if sibling.suffix in PYTHON_SUFFIXES and not sibling.name.startswith(("_", ".")):
                load_file(sibling)  # its own load errors are not the YAML's


def recorded_run(store: RunStore, run_id: str, workflow: Workflow | None = None) -> RecordedRun:
    """A stored run as the playground loads it: definition, params, step records with outputs."""
    from ..playground.recorded import RecordedRun

    record = store.get_run(run_id)
    wf = workflow or workflow_for_run(store, record)
    outputs = store.outputs(record.run_id)
    steps = sorted(store.step_runs(record.run_id),
                   key=lambda s: (s.finished_at is None, s.finished_at or 0))
    runs = tuple(StepRun(s.step, s.status, s.attempts, outputs.get(s.step), s.error,
                         s.error_category, s.error_type, None, s.started_at, s.finished_at,
                         s.duration_seconds or 0.0, s.child_run_id) for s in steps)
    return RecordedRun(record.run_id, wf, dict(record.params), runs)
