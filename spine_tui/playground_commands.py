"""What the playground screen asks of a ``WorkflowPlayground``, run in its worker thread.

Each command drives the playground and returns one sentence on what happened, for the
screen's status line; ``PlaygroundError`` propagates, so the screen shows the engine's
own message and the playground stays as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from engine.store.replay import recorded_run, workflow_for_run

from . import reload

if TYPE_CHECKING:
    from engine import RunStore, Workflow, WorkflowPlayground
    from engine.playground import RecordedRun


class OneRun:
    """A ``RunSource`` over a run already read from the store."""

    def __init__(self, run: RecordedRun) -> None:
        self.run = run

    def recorded_run(self, run_id: str) -> RecordedRun:
        return self.run


class EmptyPlan:
    """The plan of nothing: what the DAG shows until the playground has loaded."""

    def layers(self) -> list[list[str]]:
        return []

    def edges(self) -> list[tuple[str, str]]:
        return []


def load(pg: WorkflowPlayground, workflow: Workflow, params: Mapping[str, Any]) -> str:
    pg.load(workflow, params)
    return f"loaded {workflow.name}: n runs the first step"


def open_run(pg: WorkflowPlayground, store: RunStore, run_id: str, at: int | str | None,
              paths: tuple[str, ...] | None) -> str:
    """Open a stored run; by default just before the step that failed it."""
    record = store.get_run(run_id)
    with reload.LOAD_LOCK:  # the definition may be loaded from its file again
        workflow = workflow_for_run(store, record, paths)
    recorded = recorded_run(store, record.run_id, workflow)
    if at is None and record.error_step and record.error_step in workflow.plan.index:
        at = record.error_step
    pg.load_run(record.run_id, OneRun(recorded), at=at)
    where = f"before {at!r}" if isinstance(at, str) else f"at snapshot {pg.position}"
    return f"opened run {record.run_id} {where}; later steps stay on the timeline"


def ran(pg: WorkflowPlayground, go: Callable[[], list[Any]]) -> tuple[Any, int]:
    done = go()
    return pg.last_stop, len(done)


def toggle_breakpoint(pg: WorkflowPlayground, step: str) -> str:
    found = next((bp for bp in pg.breakpoints if bp.step == step and bp.when is None), None)
    if found is not None:
        pg.remove_breakpoint(found)
        return f"breakpoint before {step!r} removed"
    pg.add_breakpoint(step)
    return f"breakpoint before {step!r} set"


def toggle_break_on_failure(pg: WorkflowPlayground) -> str:
    pg.break_on_failure = not pg.break_on_failure
    return f"break on failure {'on' if pg.break_on_failure else 'off'}"


def set_output(pg: WorkflowPlayground, step: str, value: Any) -> str:
    done = pg.set_output(step, value)
    reran = [s.step_name for s in done[1:] if s.step_name]
    return f"output of {step} edited" + (f"; re-ran {', '.join(reran)}" if reran else "")
