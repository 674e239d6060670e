"""The workflow a stored run ran, rebuilt for ``resume`` and ``debug --run``.

The library's ``workflow_for_run`` does the rebuilding (the recorded file, a registered
workflow, then the stored version) and loads what the definition needs (``--paths``, the
``.py`` files beside a recorded YAML file, the default paths for registered workflows), the
same code the TUI uses. An explicit override (``--from`` / a NAME_OR_FILE) replaces the
recorded source.
"""

from __future__ import annotations

from engine import DefinitionNotFoundError, RunRecord, RunStore, Workflow, workflow_for_run

from ..locations import workflow_paths
from ._io import CliError, check_paths_exist, display_path
from .catalog import resolve_target


def recorded_workflow(store: RunStore, record: RunRecord, override: str | None,
                      paths: list[str] | None, *, override_hint: str) -> tuple[Workflow, str]:
    """The workflow of ``record`` and where it came from (a file or a name, for messages).

    ``override_hint`` tells the user how to name the workflow themselves when it cannot be
    rebuilt (e.g. "give the workflow with --from NAME_OR_FILE").
    """
    check_paths_exist(paths)
    if override:
        item = resolve_target(override, paths)
        if item.name != record.workflow:
            raise CliError(f"{display_path(item.source)} defines {item.name}, but run "
                           f"{record.run_id} ran {record.workflow}",
                           hint=f"{override_hint} that defines {record.workflow}")
        return item.workflow, item.source
    try:
        workflow = workflow_for_run(store, record, paths, search=workflow_paths())
    except DefinitionNotFoundError as exc:
        raise CliError(str(exc), hint=override_hint) from None
    return workflow, record.source or record.workflow
