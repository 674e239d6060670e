"""The playground: the engine's ``WorkflowPlayground`` on screen, a step debugger with
step-back, step into/out of sub-workflows and maps, conditional breakpoints, edits, a
snapshot timeline, and edit and continue (``playground_hot_swap``).

The playground is not thread-safe and its handlers may be slow, so every command runs in
one worker at a time (``_drive``); the worker posts a frozen ``PlaygroundView`` of the
innermost stepped-into playground that the ``@on`` handlers draw. While a command runs the
screen stays live (select steps, read the context) and ``i``/Escape interrupts a long
continue before its next step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Footer, Header, OptionList, Static

from engine import PlaygroundError, WorkflowPlayground
from spine_tui.services.playground_commands import (
    EmptyPlan,
    add_condition,
    load,
    open_run,
    ran,
    remove_breakpoint,
    reset,
    run_note,
    step_back,
    step_into,
    step_out,
    toggle_break_on_failure,
    toggle_breakpoint,
)
from spine_tui.widgets.dag import DagCanvas, compute_layout
from spine_tui.widgets.inspector import JsonTree
from spine_tui.widgets.playground import (
    ConditionList,
    PlaygroundView,
    SnapshotTimeline,
    status_line,
    step_summary,
    stop_note,
    view_of,
)
from spine_tui.workbench import workbench

from .playground_dialogs import ConditionScreen, SnapshotDiffScreen
from .playground_edits import TimelineActions
from .playground_hot_swap import HotSwap

if TYPE_CHECKING:
    from engine import RunStore, Workflow

Command = Callable[[WorkflowPlayground], str]


class PlaygroundScreen(TimelineActions, HotSwap):
    """Step through a workflow: n steps, b goes back, c continues, space sets a breakpoint,
    s steps into a sub-workflow or map and O steps out again.

    Commands act on the innermost stepped-into playground; its parents wait, so a parent's
    timeline is never moved under an open child. Continue is the exception, as in pdb: a
    child that reaches its end is stepped out of and the parent goes on. Going back (b) at the start of a child
    undoes the step into: the child is abandoned and its step is pending again in the parent.
    """

    AUTO_FOCUS = "#pg-dag"
    HELP = ("A debugger for one workflow. The DAG marks the next step with ▶ and colours each "
            "step by its status; ←↑↓→ select a step (its record shows under the timeline). "
            "n (F10) runs the next step, b goes back one snapshot, c continues to a "
            "breakpoint, a failure or the end, u runs until the selected step is next, space "
            "(F9) toggles a breakpoint on it (●; on a step that has breakpoints it removes them "
            "all), B adds a conditional one: a Python expression over params, outputs and ctx "
            "such as outputs[\"load\"][\"rows\"] > 100, before the step or as a watch that "
            "pauses after any step once it holds (◆ in the Conditions list, where x removes "
            "one; an expression that raises pauses and shows the error). e re-runs the step "
            "with the current context, o edits its output (and re-runs what depends on it), p "
            "changes params, R resets the whole session. s steps into the selected (if ready) "
            "or the next sub-workflow or map step: the DAG, timeline and context become the "
            "child's, the status line shows the path (parent ▸ step (map) ▸ step[2] (map "
            "item)), and every key acts inside it; a map's items can be stepped into in turn. "
            "O runs the child to its end and records its step in the parent; c inside a child "
            "carries on into the parent when the child ends; b at the child's "
            "start leaves it without running it. Breakpoints belong to the level they are set "
            "on. "
            "The timeline lists every snapshot: Enter or g goes to one (later ones stay until "
            "the next change); d marks one end of a diff, d on another shows what changed. "
            "The inspector is the context's params and outputs: Enter opens a node or shows a "
            "long value whole. Steps run in the background: i or Esc interrupts a continue "
            "before its next step. Nothing here is written to the run store. "
            "Edit and continue: save the workflow file (or a module of yours its handlers "
            "import) and the session takes the new code in at once, keeping every record "
            "whose step did not change; a changed step and the steps after it that had run "
            "are marked stale (≈stale on the DAG box, ≈ stale in the timeline and the status "
            "line): e re-runs the selected step with the saved code, L re-runs the stale "
            "steps from the first one (pausing as c does); earlier snapshots stay, so b or g "
            "shows the record from before the save and d diffs it with the new one. A save "
            "that does not load is shown with file:line and the session stays on the last "
            "good definition. On a stored run (d on a failed run's detail) the failed step "
            "re-runs against the recorded outputs; once it passes, t retries the stored run "
            "for real with the saved code, as a new run linked to it.")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("n,f10", "step", "Step", key_display="n"),
        Binding("b", "step_back", "Step back"),
        Binding("c", "continue", "Continue"),
        Binding("u", "run_to", "Run to"),
        Binding("space,f9", "toggle_breakpoint", "Breakpoint", key_display="space"),
        # off the footer, which is full at 120 columns; ? and ctrl+p list them
        Binding("s", "step_into", "Step into", show=False),
        Binding("O", "step_out", "Step out", show=False),
        Binding("B", "add_condition", "Conditional breakpoint", show=False),
        Binding("e", "rerun", "Rerun"),
        Binding("o", "edit_output", "Output"),
        Binding("p", "edit_params", "Params"),
        Binding("g", "goto", "Go to snapshot", show=False),
        Binding("d", "diff", "Diff"),
        Binding("R", "reset", "Reset"),
        Binding("f", "toggle_break_on_failure", "Break on failure", show=False),
        Binding("i", "interrupt", "Interrupt", show=False),
        Binding("L", "continue_stale", "Continue stale", show=False),
        # only on a stored run (check_action); the status line names it there
        Binding("t", "retry_stored", "Retry run", show=False),
    ]

    busy: reactive[str] = reactive("")
    """What the worker is doing ("" when idle)."""
    note: reactive[str] = reactive("")
    """What the last command did."""

    @dataclass
    class Updated(Message):
        """A command finished (``error`` when the playground refused it; state unchanged)."""

        view: PlaygroundView | None
        what: str
        note: str = ""
        error: str | None = None

    def __init__(self, workflow: Workflow | None = None, *,
                 params: Mapping[str, Any] | None = None, run_id: str | None = None,
                 at: int | str | None = None, source: str | None = None) -> None:
        """``source`` is the workflow's file, whose saves are reloaded into the session
        (default: the catalog's file for ``workflow``; a stored run's recorded file)."""
        super().__init__()
        if (workflow is None) == (run_id is None):
            raise ValueError("open the playground on a workflow or on a stored run")
        self.playground = WorkflowPlayground()
        self.workflow = workflow
        self.params = dict(params or {})
        self.run_id = run_id
        self.at = at
        self.view: PlaygroundView | None = None
        self.sub_title = f"Playground · {workflow.name if workflow else 'run ' + str(run_id)}"
        self._shown: Workflow | None = None
        self._interrupting = False
        self._source = source
        self._init_hot_swap()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("Loading…", style="italic"), id="pg-status")
        yield Static(id="pg-reloaded")
        canvas = DagCanvas(compute_layout(EmptyPlan()), id="pg-dag")
        canvas.border_title = "DAG"
        yield canvas
        with Horizontal(id="pg-panes"):
            timeline = SnapshotTimeline(id="pg-timeline")
            timeline.border_title = "Timeline"
            yield timeline
            with Vertical(id="pg-inspect"):
                yield Static(id="pg-step")
                conditions = ConditionList(id="pg-conditions")
                conditions.border_title = "Conditions"
                conditions.border_subtitle = "x removes"
                yield conditions
                tree = JsonTree(id="pg-context")
                tree.border_title = "Context"
                yield tree
        yield Footer(compact=True)

    @property
    def dag(self) -> DagCanvas:
        return self.query_one(DagCanvas)

    @property
    def timeline(self) -> SnapshotTimeline:
        return self.query_one(SnapshotTimeline)

    @property
    def inspector(self) -> JsonTree:
        return self.query_one(JsonTree)

    @property
    def conditions(self) -> ConditionList:
        return self.query_one(ConditionList)

    @property
    def selected(self) -> str | None:
        return self.dag.selected

    def on_mount(self) -> None:
        self.query_one("#pg-reloaded").display = False
        self.conditions.display = False
        self.watch(self.app, "catalog", self._catalog_changed, init=False)
        if self.workflow is not None:
            source = self._source or self._catalog_source(self.workflow)
            if source is not None:
                self._follow_source(source)
            workflow, params = self.workflow, self.params
            self._submit("loading", lambda pg: load(pg, workflow, params))
        else:
            self.watch(self.app, "store", self._store_ready)

    def _catalog_source(self, workflow: Workflow) -> str | None:
        """The file the catalog loaded ``workflow`` from (None: registered, or not listed)."""
        catalog = workbench(self.app).catalog
        item = catalog.get(workflow.name) if catalog is not None else None
        if item is None or item.kind == "registry":
            return None
        return item.source

    def on_unmount(self) -> None:
        self.playground.interrupt()  # reaches every stepped-into level

    def _store_ready(self, store: RunStore | None) -> None:
        if store is not None and self.view is None and not self.busy:
            run_id, at = self.run_id or "", self.at
            paths = tuple(str(p) for p in workbench(self.app).settings.paths) or None
            self._submit("opening the run",
                         lambda pg: self._opened(*open_run(pg, store, run_id, at, paths)))

    def _opened(self, note: str, source: str | None) -> str:
        """In the worker: the stored run is open; its file's saves are reloaded from now on."""
        if source is not None:
            self.post_message(self.SourceFound(self._source or source))
        return note

    # ------------------------------------------------------------------ the worker
    def _submit(self, what: str, command: Command, *, root: bool = False) -> None:
        """Run ``command`` in the worker, unless one is running: on the innermost
        stepped-into playground, or with ``root`` on the session's own (stack commands)."""
        if self.busy:
            self.notify(f"Still {self.busy}: wait for it, or press i to interrupt",
                        severity="warning", timeout=3)
            return
        self.busy = what
        self._drive(what, command, root)

    @work(thread=True, exit_on_error=False, group="playground")
    def _drive(self, what: str, command: Command, root: bool) -> None:
        pg = self.playground
        note, error = "", None
        try:
            note = command(pg if root else pg.innermost)
        except PlaygroundError as exc:
            error = str(exc)
        except Exception as exc:  # a definition or store problem: shown, never a traceback
            error = f"{type(exc).__name__}: {exc}"
        try:
            view: PlaygroundView | None = view_of(pg)
        except PlaygroundError:
            view = None  # nothing loaded (the load itself failed)
        self.post_message(self.Updated(view, what, note, error))

    @on(Updated)
    def _updated(self, message: Updated) -> None:
        self.busy = ""
        self._interrupting = False
        if message.error:
            self.notify(message.error, title=f"Playground: {message.what} failed",
                        severity="error", timeout=8)
            if message.view is None:
                self.query_one("#pg-status", Static).update(
                    Text(f"Could not open the playground: {message.error}", style="bold red"))
        else:
            self.note = message.note
        if message.view is not None:
            self._show(message.view)
        self._after_command()

    def _show(self, view: PlaygroundView) -> None:
        previous = self.view
        self.view = view
        dag = self.dag
        if view.workflow is not self._shown:
            self._shown = view.workflow
            dag.dag_layout = compute_layout(view.workflow.plan, view.workflow.steps)
        dag.border_title = f"DAG · {view.workflow.name}" if view.depth else "DAG"
        watching = self._saves.name if self._saves is not None else None
        dag.border_subtitle = ("O steps out" if view.depth else
                               f"⟳ saves to {watching} are taken in" if watching else "")
        dag.statuses = view.statuses
        dag.breakpoints = view.marked
        dag.conditional = frozenset(view.conditions)
        dag.stale = frozenset(view.stale)
        old_cursor = previous.next_step if previous is not None else None
        dag.cursor = view.next_step
        names = [s.name for s in view.workflow.steps]
        if dag.selected not in names or (dag.selected == old_cursor and view.next_step):
            dag.selected = view.next_step or view.halted_by or (names[0] if names else None)
        self.timeline.show(view)
        self.conditions.show(view.conditional)
        self.inspector.show({"params": view.params, "outputs": view.outputs})
        self._show_step()
        self._show_status()
        if previous is None or previous.source_run_id != view.source_run_id:
            self.refresh_bindings()  # t (retry) is offered on stored runs only

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer the retry of a stored run (footer, palette and key) only on one."""
        if action == "retry_stored":
            return self.view is not None and self.view.source_run_id is not None
        return True

    def _show_status(self) -> None:
        if self.view is not None:
            names = [s.name for s in self.view.workflow.steps]
            self.query_one("#pg-status", Static).update(
                status_line(self.view, self.busy, self.note, names))

    def watch_busy(self) -> None:
        self._show_status()

    def watch_note(self) -> None:
        self._show_status()

    def _show_step(self) -> None:
        view, name = self.view, self.selected
        if view is None:
            return
        bp = view.conditions.get(name or "")
        self.query_one("#pg-step", Static).update(step_summary(
            name, view.runs.get(name or ""), next_step=view.next_step,
            breakpoint=name in view.breakpoints,
            condition=(bp.expression or bp.describe()) if bp is not None else None,
            composite=name in view.composite and name not in view.runs, stale=view.stale))

    @on(DagCanvas.StepClicked)
    def _step_selected(self) -> None:
        self._show_step()

    # ------------------------------------------------------------------ stepping
    def action_step(self) -> None:
        """Run the next step."""
        self._submit("stepping", lambda pg: run_note(pg.step()))

    def action_step_back(self) -> None:
        """Go back one snapshot (undo the last step or edit); at a child's start, leave it."""
        self._submit("going back", step_back, root=True)

    def action_step_into(self) -> None:
        """Step into the selected sub-workflow or map step if it has not run, else the next."""
        view, name = self.view, self.selected
        if view is None:
            return
        target = name if name is not None and name not in view.runs else None
        self._submit(f"stepping into {target or 'the next step'}",
                     lambda pg: step_into(pg, target), root=True)

    def action_step_out(self) -> None:
        """Run the stepped-into child to its end and record its step in the parent."""
        if self.view is not None and not self.view.depth:
            self.notify("Not inside a sub-workflow or map: s steps into one",
                        severity="warning", timeout=4)
            return
        self._submit("stepping out", step_out, root=True)

    def action_continue(self) -> None:
        """Run until a breakpoint, a failure or the end; a stepped-into child that ends is
        stepped out of and its parent goes on."""
        self._submit("continuing", lambda pg: stop_note(*ran(pg, pg.continue_)), root=True)

    def action_run_to(self) -> None:
        """Run until the selected step is next (it does not run)."""
        step = self._need_step()
        if step:
            self._submit(f"running to {step}", lambda pg: stop_note(
                *ran(pg, lambda: pg.run_to(step))))

    def action_rerun(self) -> None:
        """Run the selected step again with the current params and outputs."""
        step = self._need_step()
        if step:
            self._submit(f"re-running {step}", lambda pg: run_note(pg.rerun(step)))

    def action_reset(self) -> None:
        """Back to the start of the whole session, leaving any stepped-into child: an empty
        timeline and a fresh run id (the session's breakpoints stay)."""
        self._submit("resetting", reset, root=True)

    def action_toggle_breakpoint(self) -> None:
        """Set a breakpoint before the selected step, or clear every one it has."""
        step = self._need_step()
        if step:
            self._submit("toggling a breakpoint", lambda pg: toggle_breakpoint(pg, step))

    def action_add_condition(self) -> None:
        """Pause before the selected step when an expression holds, or watch the expression."""
        if self.view is None:
            return

        def apply(request: tuple[str | None, str] | None) -> None:
            if request is not None:
                step, text = request
                self._submit("adding a condition", lambda pg: add_condition(pg, step, text))

        self.app.push_screen(ConditionScreen(self.selected), apply)

    @on(ConditionList.RemoveRequested)
    def _remove_condition(self, message: ConditionList.RemoveRequested) -> None:
        breakpoint_id = message.breakpoint_id
        self._submit("removing a condition", lambda pg: remove_breakpoint(pg, breakpoint_id))

    def action_toggle_break_on_failure(self) -> None:
        """Pause a continue right after a step fails (on by default)."""
        self._submit("switching break on failure", toggle_break_on_failure)

    def action_interrupt(self) -> None:
        """Stop a running continue or run-to before its next step."""
        if not self.busy:
            return
        self.playground.interrupt()  # thread-safe; reaches whichever level is running
        self._interrupting = True
        self.notify("Interrupting before the next step (a running step finishes first)",
                    timeout=3)

    def action_back(self) -> None:
        """Interrupt what is running, or go back to where you came from."""
        if self.busy and not self._interrupting:
            self.action_interrupt()
            return
        self.dismiss()

    # ------------------------------------------------------------------ time travel
    @on(OptionList.OptionSelected, "#pg-timeline")
    def _timeline_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_goto()

    @on(TimelineActions.DiffReady)
    def _show_diff(self, message: TimelineActions.DiffReady) -> None:
        self.app.push_screen(SnapshotDiffScreen(message.before, message.after, message.diff))

    def _need_step(self) -> str | None:
        step = self.selected
        if step is None:
            self.notify("Select a step in the DAG first", severity="warning", timeout=3)
        return step
