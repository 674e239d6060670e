"""One workflow: its DAG in layers (sub-workflow and map boxes open in place), the step list,
the selected step's details, and the progress of a run started from here; follows the file as
it is edited on disk."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, ProgressBar, Static

from engine import Catalog, StepOutput, StoreError
from spine_tui.services.launcher import RunRequest, param_fields
from spine_tui.widgets.catalog import WorkflowRow, format_load_errors, rows_from_catalog
from spine_tui.widgets.dag import (
    DagCanvas,
    DagLayout,
    DagNode,
    ExpandableDagCanvas,
    ExpandedDag,
    compute_layout,
    expand,
    node_statuses,
)
from spine_tui.widgets.run_detail import truncate_json
from spine_tui.widgets.status import format_duration, format_time, status_text
from spine_tui.widgets.steps import StepDetails, StepList, step_fields
from spine_tui.workbench import workbench

from .playground import PlaygroundScreen
from .run_detail import RunDetailScreen
from .run_params import RunParamsScreen
from .runs import RunsScreen
from .versions import VersionsScreen
from .workflow_yaml import YamlScreen, workflow_yaml

if TYPE_CHECKING:
    from textual.timer import Timer

    from spine_tui.messages import LiveRun

LIVE_REDRAW_SECONDS = 0.1
LAST_OUTPUT = "last output"


def last_output_text(found: StepOutput | str | None) -> str:
    """The details pane's "last output" row: the value (truncated) and which run made it."""
    if found is None:
        return "— (no stored run of this workflow has an output for it)"
    if isinstance(found, str):
        return found
    when = f", {format_time(found.created_at)}" if found.created_at else ""
    return (f"{truncate_json(found.value)}\n(run {found.run_id}, "
            f"{found.run_status.value}{when})")


class WorkflowScreen(Screen[None]):
    """Look at a workflow's shape and run it: ↑/↓ move through steps, r runs."""

    AUTO_FOCUS = "#steps"
    HELP = ("↑/↓ select a step: its box is highlighted in the DAG and its type, handler, "
            "config, dependencies, error policy and its last stored output are listed. g (or Tab) moves to the DAG, "
            "where the arrow keys go from box to box (shift+←/→ scroll) and a click selects "
            "a box; s returns to the step list. In the DAG, Enter (or +) opens a sub-workflow "
            "or map box (marked ▸) in place: its steps are drawn as parent/step, a map's "
            "marked ×item as they run once per item, and selecting one shows its details "
            "(during a run it takes its own status where the run reports one, else its "
            "parent's). - (or Enter on an inner step that does not open) closes the step it "
            "belongs to; c closes them all. d opens the playground (step-by-step "
            "debugger), y shows the workflow as YAML, V lists its published versions with a "
            "diff of any two. r asks for params and where the steps run (threads, a pool of "
            "processes, or Dask: a scheduler address or a local cluster) and runs the workflow "
            "in the background: each box takes its step's status colour and the bar shows how many "
            "steps are done; v opens the run (timeline, outputs, live logs), x cancels it, h "
            "lists this workflow's stored runs. "
            "Saving the file reloads this view; if the new version is broken its error is "
            "shown here and this (last good) version stays usable. Escape goes back.")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("r", "run", "Run"),
        Binding("d", "debug", "Debug"),
        Binding("y", "show_yaml", "YAML"),
        Binding("V", "versions", "Versions"),
        Binding("v", "view_run", "View run"),
        Binding("x", "cancel_run", "Cancel run"),
        Binding("h", "history", "History"),
        Binding("g", "focus_dag", "DAG"),
        Binding("s", "focus_steps", "Steps"),
        Binding("c", "collapse_all", "Collapse all", show=False),
    ]

    def __init__(self, row: WorkflowRow) -> None:
        super().__init__()
        if row.item is None:
            raise ValueError(f"catalog row {row.name!r} carries no workflow to show")
        self.row = row
        self.item = row.item
        self.workflow = row.item.workflow
        self.sub_title = row.name
        self.run_id: str | None = None
        self._live_timer: Timer | None = None
        self._outputs_read: set[str] = set()  # finished runs whose outputs were re-read
        self.graph: ExpandedDag = expand(self.workflow)

    def compose(self) -> ComposeResult:
        wf = self.workflow
        yield Header()
        yield Static(self._summary(), id="summary")
        yield Static(id="reload-problem")
        with Horizontal(id="run-bar"):
            yield Static(id="run-status")
            yield ProgressBar(total=len(wf.steps), show_eta=False, id="run-progress")
        canvas = ExpandableDagCanvas(self._layout(), id="dag")
        canvas.border_title = "DAG"
        yield canvas
        with Horizontal(id="step-panes"):
            steps = StepList(wf.steps, id="steps")
            steps.border_title = f"Steps ({len(wf.steps)})"
            yield steps
            with VerticalScroll(id="step-details-pane") as pane:
                pane.border_title = "Step"
                yield StepDetails(id="step-details")
        yield Footer()

    @property
    def dag(self) -> DagCanvas:
        return self.query_one(DagCanvas)

    @property
    def step_list(self) -> StepList:
        return self.query_one(StepList)

    @property
    def progress(self) -> ProgressBar:
        return self.query_one("#run-progress", ProgressBar)

    @property
    def problem_banner(self) -> Static:
        return self.query_one("#reload-problem", Static)

    def on_mount(self) -> None:
        self.query_one("#run-bar").display = False
        self.problem_banner.display = False
        if self.workflow.steps:
            self.step_list.highlighted = 0
        self.watch(self.app, "catalog", self._catalog_changed, init=False)
        self.watch(self.app, "live_runs", self._live_changed, init=False)

    def _summary(self) -> Text:
        row = self.row
        text = Text()
        text.append(row.name, style="bold")
        parts = [f"v{row.version}", row.mode, f"{row.steps} steps", f"source {row.source}"]
        if row.domain:
            parts.insert(2, f"domain {row.domain}")
        text.append("  " + " · ".join(parts), style="dim")
        if row.description:
            text.append("\n" + row.description)
        return text

    # ------------------------------------------------------------------ hot reload
    def _catalog_changed(self, catalog: Catalog | None) -> None:
        if catalog is None:
            return
        item = catalog.get(self.row.name)
        banner = self.problem_banner
        if item is None:
            banner.update(f"⚠ {self.row.name} is no longer defined in {self.row.source}; "
                          "this is the last version that loaded")
            banner.display = True
            return
        mine = [e for e in catalog.errors if _same(e.path, item.source)]
        banner.display = bool(mine)
        if mine:
            where = format_load_errors(mine[:1], catalog.paths)[0]
            banner.update(Text.assemble(("⚠ the saved file did not load; still showing the "
                                         "last good version:\n", "bold"), where))
        if item.workflow is not self.workflow:
            self._show_workflow(item, catalog)

    def _show_workflow(self, item: Any, catalog: Catalog) -> None:
        self.item, self.workflow = item, item.workflow
        only = Catalog((item,), (), catalog.paths)
        self.row = rows_from_catalog(only)[0]
        wf = self.workflow
        self.query_one("#summary", Static).update(self._summary())
        self._relayout(self.graph.opened)
        self.step_list.show(wf.steps, self._statuses())
        self.step_list.border_title = f"Steps ({len(wf.steps)})"
        self.notify(f"{wf.name} reloaded from {self.row.source}", timeout=2)

    # ------------------------------------------------------------------ runs
    def action_run(self) -> None:
        """Ask for params, then run this workflow in the background."""
        def start(request: RunRequest | None) -> None:
            if request is not None:
                self.run_id = workbench(self.app).start_run(self.item, request.params,
                                                            request.executor)
                self._show_live()

        self.app.push_screen(RunParamsScreen(self.workflow), start)

    def action_debug(self) -> None:
        """Step through this workflow in the playground (asks for required params first)."""
        workflow = self.workflow

        def open_playground(request: RunRequest | None) -> None:
            if request is not None:
                self.app.push_screen(PlaygroundScreen(workflow, params=request.params))

        if any(value is ... for value in param_fields(workflow).values()):
            self.app.push_screen(RunParamsScreen(workflow, verb="Debug", choose_executor=False),
                                 open_playground)
        else:
            open_playground(RunRequest({}))

    def action_show_yaml(self) -> None:
        """Show this workflow as a spine.io/v1 YAML document (or why it has none)."""
        workflow = self.workflow
        self.app.push_screen(YamlScreen(f"{workflow.name} as YAML",
                                        lambda: workflow_yaml(workflow)))

    def action_versions(self) -> None:
        """List this workflow's published versions and diff any two of them."""
        self.app.push_screen(VersionsScreen(self.workflow.name))

    def action_view_run(self) -> None:
        """Open the run started from here: timeline, outputs and live logs."""
        if self.run_id is None:
            self.notify("No run yet: press r to start one", timeout=3)
            return
        self.app.push_screen(RunDetailScreen(self.run_id))

    async def action_history(self) -> None:
        """Show this workflow's stored runs on the runs screen."""
        await self.app.switch_mode("runs")
        screen = self.app.screen
        if isinstance(screen, RunsScreen):
            screen.show_workflow(self.workflow.name)

    def action_cancel_run(self) -> None:
        """Stop the run started from here after its current steps."""
        if self.run_id and workbench(self.app).cancel_run(self.run_id):
            self.notify(f"Cancelling run {self.run_id}…", timeout=3)

    def _live_run(self) -> LiveRun | None:
        runs = workbench(self.app).live_runs
        return runs.get(self.run_id) if self.run_id else None

    def _statuses(self) -> Mapping[str, str]:
        run = self._live_run()
        return run.statuses if run is not None else {}

    def _live_changed(self) -> None:
        if self.run_id is not None and self._live_timer is None:
            self._live_timer = self.set_timer(LIVE_REDRAW_SECONDS, self._show_live)

    def _show_live(self) -> None:
        """Status colours, the step marks and the progress bar (at most ten times a second)."""
        self._live_timer = None
        run = self._live_run()
        if run is None:
            return
        self.query_one("#run-bar").display = True
        self.dag.statuses = node_statuses(self.graph, run.statuses)
        self.step_list.show(self.workflow.steps, run.statuses)
        self.progress.update(total=len(run.steps), progress=run.done)
        label = Text.assemble(f"run {run.run_id} ", status_text(run.status),
                              f"  {run.done}/{len(run.steps)} steps")
        if run.finished and run.run_id not in self._outputs_read:
            self._outputs_read.add(run.run_id)
            node = self.graph.nodes.get(self.dag.selected or "")
            if node is not None and node.parent is None:
                self._read_last_output(node.key)
        if run.finished:
            label.append(f" in {format_duration(run.duration_seconds)}")
            if run.error:
                label.append(f"  {run.error}", style="red")
        self.query_one("#run-status", Static).update(label)

    # ------------------------------------------------------------------ steps
    @on(StepList.StepSelected)
    def _select_step(self, event: StepList.StepSelected) -> None:
        if all(s.name != event.name for s in self.workflow.steps):
            return  # an option of the version before a reload
        highlighted = self.step_list.highlighted_option
        if highlighted is not None and highlighted.id != event.name:
            return  # overtaken by a later highlight
        current = self.graph.nodes.get(self.dag.selected or "")
        if current is not None and current.top == event.name and current.key != event.name:
            return  # a box inside this (opened) step is selected: keep it
        key = self.graph.nearest(event.name)
        if key is not None:
            self._show_node(key)

    @on(DagCanvas.StepClicked)
    def _clicked_box(self, event: DagCanvas.StepClicked) -> None:
        node = self.graph.nodes.get(event.name)
        if node is None:
            return
        self._show_node(node.key)
        names = [s.name for s in self.workflow.steps]
        if node.top in names and self.step_list.highlighted != names.index(node.top):
            self.step_list.highlighted = names.index(node.top)

    def _show_node(self, key: str) -> None:
        """Select box ``key`` in the DAG and describe its step in the details pane."""
        node = self.graph.nodes[key]
        rows = step_fields(node.step, node.dependencies, within=node.scope)
        if node.composite:
            problem = self.graph.problems.get(key)
            rows.insert(1, ("open", f"cannot: {problem}" if problem else
                            "Enter in the DAG (g) shows its steps"))
        self.query_one(StepDetails).fields = tuple(rows)
        self.query_one("#step-details-pane").border_title = f"Step {key}"
        self.dag.selected = key
        if node.parent is None:  # inner steps are stored per item (fan[3].x): no one output
            self._read_last_output(key)

    @work(thread=True, exclusive=True, exit_on_error=False, group="last-output")
    def _read_last_output(self, step: str) -> None:
        """Look up the step's newest stored output off the UI thread (the store may be big)."""
        store = workbench(self.app).store
        if store is None:
            return
        try:
            found: StepOutput | str | None = store.last_output(self.workflow.name, step)
        except StoreError as exc:
            found = f"unavailable: {exc}"
        self.app.call_from_thread(self._show_last_output, step, found)

    def _show_last_output(self, step: str, found: StepOutput | str | None) -> None:
        if self.dag.selected != step:
            return  # the user moved on while it was read
        details = self.query_one(StepDetails)
        rows = [row for row in details.fields if row[0] != LAST_OUTPUT]
        rows.append((LAST_OUTPUT, last_output_text(found)))
        details.fields = tuple(rows)

    # ------------------------------------------------------------------ opening boxes
    def _layout(self) -> DagLayout:
        return compute_layout(self.graph, labels=self.graph.labels())

    def _relayout(self, opened: frozenset[str], select: str | None = None) -> None:
        """Redraw with ``opened`` steps open; select ``select`` (or what stands for the old
        selection) and refresh its details, since the step behind a key may have changed."""
        previous = self.dag.selected
        self.graph = expand(self.workflow, opened)
        self.dag.dag_layout = self._layout()
        self.dag.statuses = node_statuses(self.graph, self._statuses())
        key = self.graph.nearest(select or previous or "")
        if key is None and self.graph.nodes:
            key = next(iter(self.graph.nodes))
        if key is not None:
            self._show_node(key)

    @on(ExpandableDagCanvas.ToggleRequested)
    def _toggle(self, event: ExpandableDagCanvas.ToggleRequested) -> None:
        node = self.graph.nodes.get(event.name)
        if node is None:
            return
        if node.composite and event.action != "close":
            self._open_box(node)
        elif node.parent is not None and event.action != "open":
            self._relayout(self.graph.closing(node.parent), select=node.parent)
        elif event.action != "close":
            self.notify(f"{node.key} is not a sub-workflow or map step: nothing to open",
                        timeout=3)

    def _open_box(self, node: DagNode) -> None:
        problem = self.graph.problems.get(node.key)
        if problem:
            self.notify(f"{node.key} cannot be opened: {problem}", severity="warning",
                        timeout=5)
            return
        self._relayout(self.graph.opened | {node.key}, select=node.key)

    def action_collapse_all(self) -> None:
        """Close every opened sub-workflow and map box."""
        if self.graph.opened:
            self._relayout(frozenset())

    def action_back(self) -> None:
        """Return to the catalog."""
        self.dismiss()

    def action_focus_dag(self) -> None:
        """Focus the DAG so the arrow keys scroll it."""
        self.dag.focus()

    def action_focus_steps(self) -> None:
        """Focus the step list."""
        self.step_list.focus()


def _same(a: str, b: str) -> bool:
    return Path(a).resolve() == Path(b).resolve()
