"""Run-detail graph pane: the DAG a run actually ran beside the list of its runtime changes.

The drawing is ``compute_layout`` + ``DagCanvas`` over an ``engine.store.run_graph.RunGraph``;
steps added at runtime carry ``+ inserted`` on their box's top edge (replaced ones
``replaced``), boxes take their steps' status colours, and the layout is only recomputed
when the graph's shape changes, so live status updates stay cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from engine import RunChange, RunGraph

from .dag import DagCanvas, DagLayout, compute_layout
from .status import format_time

INSERTED_LABEL = "+ inserted"
REPLACED_LABEL = "replaced"


@dataclass(frozen=True, slots=True)
class BoxLabel:
    """What ``compute_layout`` reads of a step: its name and the label on its box."""

    name: str
    step_type: str


def box_labels(graph: RunGraph) -> list[BoxLabel]:
    """Each step's box label: ``+ inserted``, ``replaced``, else its type when known."""
    def label(name: str) -> str:
        if name in graph.inserted:
            return INSERTED_LABEL
        if name in graph.replaced:
            return REPLACED_LABEL
        return graph.kinds.get(name, "")

    return [BoxLabel(name, label(name)) for name in graph.steps]


def graph_layout(graph: RunGraph) -> DagLayout:
    """The drawing of ``graph`` with its box labels."""
    return compute_layout(graph, box_labels(graph))


def _shape(graph: RunGraph) -> tuple[Any, ...]:
    return (graph.steps, graph.edge_pairs, graph.inserted, graph.replaced,
            tuple(sorted(graph.kinds.items())))


class RunChangesView(Static):
    """The run's adaptive changes, oldest first: when, what kind, who asked, what changed."""

    changes: reactive[tuple[RunChange, ...]] = reactive((), layout=True)

    def render(self) -> Table | Text:
        if not self.changes:
            return Text("no runtime changes: the run ran its definition as declared",
                        style="italic dim")
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        for change in self.changes:
            who = change.step or "the engine"
            grid.add_row(format_time(change.at, date=False), Text.assemble(
                (change.kind, "bold cyan"), (f" by {who}", "dim"), "\n", change.describe()))
        return grid


class RunGraphPane(Horizontal):
    """The graph as it ran (left) and its changes (right); ``show`` and ``statuses`` feed it."""

    DEFAULT_CSS = """
    RunGraphPane { height: 1fr; }
    RunGraphPane > #run-dag { width: 1fr; height: 1fr; }
    RunGraphPane > #run-changes-pane { width: 36; height: 1fr; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.graph: RunGraph | None = None
        self._recorded: Mapping[str, str] = {}

    def compose(self) -> ComposeResult:
        yield DagCanvas(DagLayout(("reading the run's graph…",)), id="run-dag")
        with VerticalScroll(id="run-changes-pane") as changes:
            changes.border_title = "Changes"
            yield RunChangesView(id="run-changes")

    @property
    def canvas(self) -> DagCanvas:
        return self.query_one(DagCanvas)

    def show(self, graph: RunGraph) -> None:
        """Draw ``graph`` (re-laid out only if its shape changed) and list its changes."""
        if self.graph is None or _shape(self.graph) != _shape(graph):
            self.canvas.dag_layout = graph_layout(graph)
        self.graph = graph
        self.canvas.statuses = {**graph.statuses, **self._recorded}
        self.query_one(RunChangesView).changes = graph.changes
        added = f", {len(graph.inserted)} inserted at runtime" if graph.inserted else ""
        self.canvas.border_title = f"Graph as it ran · {len(graph.steps)} steps{added}"
        self.canvas.border_subtitle = f"from the {graph.origin}"
        self.query_one("#run-changes-pane").border_title = f"Changes ({len(graph.changes)})"

    def show_statuses(self, recorded: Mapping[str, str]) -> None:
        """Colour the boxes with the steps' latest recorded statuses."""
        self._recorded = dict(recorded)
        base = self.graph.statuses if self.graph is not None else {}
        self.canvas.statuses = {**base, **self._recorded}
