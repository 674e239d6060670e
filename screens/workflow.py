"""One workflow: its DAG drawn in layers, the step list and the selected step's details."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from spine_tui.widgets.catalog import WorkflowRow
from spine_tui.widgets.dag import DagCanvas, compute_layout
from spine_tui.widgets.steps import StepDetails, StepList, step_fields


class WorkflowScreen(Screen[None]):
    """Look at a workflow's shape: ↑/↓ move through steps, the DAG follows the selection."""

    AUTO_FOCUS = "#steps"
    HELP = ("↑/↓ select a step: its box is highlighted in the DAG and its type, handler, "
            "config, dependencies and error policy are listed. Tab moves to the DAG, where "
            "the arrow keys scroll. Escape goes back to the catalog.")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("g", "focus_dag", "DAG"),
        Binding("s", "focus_steps", "Steps"),
    ]

    def __init__(self, row: WorkflowRow) -> None:
        super().__init__()
        if row.item is None:
            raise ValueError(f"catalog row {row.name!r} carries no workflow to show")
        self.row = row
        self.workflow = row.item.workflow
        self.sub_title = row.name

    def compose(self) -> ComposeResult:
        wf = self.workflow
        yield Header()
        yield Static(self._summary(), id="summary")
        canvas = DagCanvas(compute_layout(wf.plan, wf.steps), id="dag")
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

    def on_mount(self) -> None:
        if self.workflow.steps:
            self.step_list.highlighted = 0

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

    @on(StepList.StepSelected)
    def _select_step(self, event: StepList.StepSelected) -> None:
        step = self.workflow.get_step(event.name)
        details = self.query_one(StepDetails)
        details.fields = tuple(step_fields(step, self.workflow.dependencies(event.name)))
        self.query_one("#step-details-pane").border_title = f"Step {event.name}"
        self.dag.selected = event.name

    def action_back(self) -> None:
        """Return to the catalog."""
        self.dismiss()

    def action_focus_dag(self) -> None:
        """Focus the DAG so the arrow keys scroll it."""
        self.dag.focus()

    def action_focus_steps(self) -> None:
        """Focus the step list."""
        self.step_list.focus()
