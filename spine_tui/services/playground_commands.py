"""What the playground screen asks of a ``WorkflowPlayground``, run in its worker thread.

Each command drives the playground and returns one sentence on what happened, for the
screen's status line; ``PlaygroundError`` propagates, so the screen shows the engine's
own message and the playground stays as it was. Most commands act on the innermost
stepped-into playground; the stack commands (into, out, back, reset) and edit and continue
(reload, continue from the first stale step, retry the stored run) take the root.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import SourceRef, recorded_run, workflow_for_run
from engine import hot_reload as reload
from engine.playground import PlaygroundError, SavedFiles, expression_condition

from ..locations import workflow_paths

if TYPE_CHECKING:
    from engine import RunHandle, RunStore, Workflow, WorkflowPlayground
    from engine.playground import RecordedRun, ReloadReport, Snapshot


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
             paths: tuple[str, ...] | None) -> tuple[str, str | None]:
    """Open a stored run, by default just before the step that failed it; returns what
    happened and the workflow file the run recorded (None when it has none on disk), the
    file whose saves are then reloaded into the session."""
    record = store.get_run(run_id)
    with reload.LOAD_LOCK:  # the definition may be loaded from its file again
        workflow = workflow_for_run(store, record, paths, search=workflow_paths())
    recorded = recorded_run(store, record.run_id, workflow)
    if at is None and record.error_step and record.error_step in workflow.plan.index:
        at = record.error_step
    pg.load_run(record.run_id, OneRun(recorded), at=at)
    where = f"before {at!r}" if isinstance(at, str) else f"at snapshot {pg.position}"
    ref = SourceRef.parse(record.source)
    source = ref.path if ref is not None else None
    return (f"opened run {record.run_id} {where}; later steps stay on the timeline",
            str(source) if source is not None and source.is_file() else None)


def ran(pg: WorkflowPlayground, go: Callable[[], list[Any]]) -> tuple[Any, int]:
    """What ``go`` did: why it stopped (at whichever level it paused) and how many snapshots."""
    done = go()
    return pg.innermost.last_stop, len(done)


def run_note(snapshot: Snapshot) -> str:
    """What one snapshot's step did: ``ran extract: completed in 0.01s`` or its error."""
    run = snapshot.run
    if run is None:
        return snapshot.note or str(snapshot.kind)
    verb = "re-ran" if str(snapshot.kind) == "rerun" else "ran"
    text = f"{verb} {run.name}: {run.status.value}"
    if run.error:
        category = f" [{run.error_category}]" if run.error_category else ""
        text += f"{category} {run.error}"
    return text


def toggle_breakpoint(pg: WorkflowPlayground, step: str) -> str:
    """Set a breakpoint before ``step``, or remove every one it has (conditions included)."""
    found = [bp for bp in pg.breakpoints if bp.step == step]
    for bp in found:
        pg.remove_breakpoint(bp)
    if len(found) == 1:
        return f"breakpoint before {step!r} removed"
    if found:
        return f"{len(found)} breakpoints before {step!r} removed"
    pg.add_breakpoint(step)
    return f"breakpoint before {step!r} set"


def add_condition(pg: WorkflowPlayground, step: str | None, text: str) -> str:
    """A breakpoint before ``step`` when ``text`` holds, or a watch on it when ``step`` is None."""
    bp = pg.add_breakpoint(step, when=expression_condition(text))
    return f"breakpoint #{bp.id} set: pause {bp.describe()}"


def remove_breakpoint(pg: WorkflowPlayground, breakpoint_id: int) -> str:
    found = next((bp for bp in pg.breakpoints if bp.id == breakpoint_id), None)
    pg.remove_breakpoint(breakpoint_id)
    return f"breakpoint #{breakpoint_id} removed" + (f" ({found.describe()})" if found else "")


# ---------------------------------------------------------------------- the stepped-into stack
def step_into(root: WorkflowPlayground, name: str | None) -> str:
    """Open ``name`` (or the next step) of the innermost playground as a child playground."""
    pg = root.innermost
    target = name
    if target is None:
        nxt = pg.peek()
        target = nxt.name if nxt is not None else None
    if target is not None and target not in pg.composite_steps:
        kind = next((s.step_type.value for s in pg.workflow.steps if s.name == target),
                    "plain") if pg.workflow is not None else "plain"
        raise PlaygroundError(f"{target} is a {kind} step: only sub-workflow and map steps "
                              "(and a map's items) can be stepped into; n runs it")
    child = pg.step_into(name)
    entered = pg.stepped_into
    inside = len(child.remaining_steps)
    what = entered.describe() if entered is not None else "the step"
    return (f"stepped into {what}: {inside} step{'s' if inside != 1 else ''} inside; "
            "O steps out")


def step_out(root: WorkflowPlayground) -> str:
    """Run the innermost child to its end and record its step in the playground above it."""
    stack = root.stack
    if len(stack) < 2:
        raise PlaygroundError("not inside a sub-workflow or map: s steps into one")
    parent = stack[-2]
    entered = parent.stepped_into
    snapshot = parent.step_out()
    return f"stepped out of {entered.describe() if entered else 'the child'}; " \
           f"{run_note(snapshot)}"


def step_back(root: WorkflowPlayground) -> str:
    """Go back one snapshot in the innermost playground; at a child's start, leave the child.

    Going back over the step into undoes it: the child is abandoned and its step stays
    pending in the parent. The parent's own timeline is never moved while a child is open.
    """
    stack = root.stack
    pg = stack[-1]
    if pg.position == 0 and len(stack) > 1:
        parent = stack[-2]
        entered = parent.stepped_into
        parent.abandon()
        step = entered.step if entered is not None else "the step"
        return f"left {step} without running it; s steps into it again, n runs it whole"
    return f"back at snapshot {pg.step_back().index}"


def leave_children(root: WorkflowPlayground) -> None:
    """Abandon every open child, innermost first, so each one's started step is closed."""
    for pg in reversed(root.stack[:-1]):
        pg.abandon()


def reset(root: WorkflowPlayground) -> str:
    leave_children(root)
    root.reset()
    return "reset to the start"


def toggle_break_on_failure(pg: WorkflowPlayground) -> str:
    pg.break_on_failure = not pg.break_on_failure
    return f"break on failure {'on' if pg.break_on_failure else 'off'}"


def set_output(pg: WorkflowPlayground, step: str, value: Any) -> str:
    done = pg.set_output(step, value)
    reran = [s.step_name for s in done[1:] if s.step_name]
    return f"output of {step} edited" + (f"; re-ran {', '.join(reran)}" if reran else "")


# ---------------------------------------------------------------------- edit and continue
class SaveWatch:
    """The playground's workflow file and the user modules it imports, checked for saves by
    a few ``stat`` calls (``engine.playground.SavedFiles``), shared by the screen's poll
    loop and its command worker behind a lock."""

    def __init__(self, path: str, roots: Iterable[str] = ()) -> None:
        self.path = str(Path(path))
        self.roots = tuple(roots)
        self._lock = threading.Lock()
        self._saves: SavedFiles | None = None

    def changed(self) -> tuple[str, ...]:
        """Files saved since the last call (the first call only takes their stamps)."""
        with self._lock:
            if self._saves is None:
                self._saves = SavedFiles(self.path, self.roots)
                return ()
            return self._saves.changed()

    def watch(self, files: Iterable[str]) -> None:
        """Follow ``files`` from now on (a reload's ``files``); the stamps are kept while the
        set is the same, so a save made during the reload is still noticed."""
        files = tuple(files)
        with self._lock:
            if self._saves is None:
                self._saves = SavedFiles(self.path, self.roots)
            if set(self._saves.files) != {self.path, *files}:
                self._saves.watch(files)

    @property
    def name(self) -> str:
        return Path(self.path).name


def reload_saved(root: WorkflowPlayground, saves: SaveWatch, inspecting: str | None
                 ) -> ReloadReport:
    """Load the saved file again into the session (``reload_file``) and follow the files it
    now imports; raises ``ReloadError`` (session unchanged) when the save does not load."""
    report = root.reload_file(saves.path, roots=saves.roots, inspecting=inspecting)
    saves.watch(report.files)
    return report


def reload_note(report: ReloadReport, file: str) -> str:
    """``reloaded flow.py: changed: check (code (…)); stale: check · L re-runs from check``."""
    text = f"reloaded {file}: {report.describe()}"
    if report.first_stale is not None:
        return text + f" · L re-runs from {report.first_stale}, e the selected step"
    if report.changed:
        return text + " · the next step runs the new code"
    return text


def retry_stored(root: WorkflowPlayground, db: str | Path) -> RunHandle:
    """Start the real retry of the opened stored run with the saved code (a new run linked
    to it, in the store at ``db``); returns its handle at once, the run goes on by itself."""
    return root.retry_stored(db=Path(db), started_by="tui")
