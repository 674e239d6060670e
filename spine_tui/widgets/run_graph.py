"""Run-detail graph pane: the DAG a run actually ran beside the list of its runtime changes.

The drawing is ``compute_layout`` + ``ExpandableDagCanvas`` over an ``engine.RunGraph``;
steps added at runtime carry ``+ inserted`` on their box's top edge (replaced ones
``replaced``), boxes take their steps' status colours, and the layout is only recomputed
when the graph's shape changes or a box opens, so live status updates stay cheap. When the
graph carries the run's rebuilt definition, its map and sub-workflow boxes open in place
(``dag.expand`` over the graph's shape with the definition's steps) and their inner boxes
take the statuses recorded for them: ``fan[2].clean`` for a map's items, ``sub/inner`` for
a sub-workflow run's steps (``dag.node_statuses``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from engine import RunChange, RunGraph, Step, Workflow, WorkflowError

from .dag import DagLayout, ExpandableDagCanvas, ExpandedDag, compute_layout, expand, node_statuses
from .dag.expand import CLOSED, COMPOSITE
from .status import format_time

INSERTED_LABEL = "+ inserted"
REPLACED_LABEL = "replaced"
_COMPOSITE_KINDS = frozenset(kind.value for kind in COMPOSITE)


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


def openable_workflow(graph: RunGraph) -> Workflow | None:
    """The run's definition wired as ``graph`` ran (its steps, in its order, with its edges),
    for ``expand``; a step the definition lacks (e.g. an ``on_failure`` handler the engine
    added) is a plain box. None without a definition or when the shape does not validate."""
    definition = graph.workflow
    if definition is None:
        return None
    known = {step.name: step for step in definition.steps}
    ups: dict[str, list[str]] = {name: [] for name in graph.steps}
    for up, down in graph.edge_pairs:
        ups[down].append(up)
    steps = [(known.get(name) or Step.lambda_(name, _not_in_definition)).with_changes(
        depends_on=ups[name]) for name in graph.steps]
    try:
        return definition.with_steps(steps)
    except WorkflowError:  # a damaged record (a cycle): draw it, open nothing
        return None


def _not_in_definition(ctx: Any, config: Any) -> None:
    """Stands in for a step the rebuilt definition does not have (it is only drawn)."""


def expanded_labels(graph: RunGraph, dag: ExpandedDag) -> dict[str, str]:
    """``dag``'s box labels (``▸`` on boxes that open), with the top-level steps added or
    replaced at runtime marked as in ``box_labels``, and steps the definition lacks labelled
    with their recorded kind."""
    labels = dag.labels()
    defined = {step.name for step in graph.workflow.steps} if graph.workflow else set()
    for name in graph.steps:
        if name not in labels:
            continue  # opened: its inner boxes stand in for it
        if name in graph.inserted or name in graph.replaced:
            mark = INSERTED_LABEL if name in graph.inserted else REPLACED_LABEL
            labels[name] = f"{CLOSED} {mark}" if labels[name].startswith(CLOSED) else mark
        elif name not in defined:
            labels[name] = graph.kinds.get(name, "")
    return labels


def _shape(graph: RunGraph) -> tuple[Any, ...]:
    return (graph.steps, graph.edge_pairs, graph.inserted, graph.replaced,
            tuple(sorted(graph.kinds.items())), graph.workflow is None)


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
    """The graph as it ran (left) and its changes (right); ``show`` and ``show_statuses``
    feed it. With the run's definition, Enter (or +) opens a map or sub-workflow box in
    place, - closes the opened step a box belongs to, c closes them all."""

    DEFAULT_CSS = """
    RunGraphPane { height: 1fr; }
    RunGraphPane > #run-dag { width: 1fr; height: 1fr; }
    RunGraphPane > #run-changes-pane { width: 36; height: 1fr; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "collapse_all", "Close all boxes", show=False),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.graph: RunGraph | None = None
        self.dag: ExpandedDag | None = None
        """The drawn boxes when the definition lets them open (None: ``graph`` as it is)."""
        self._workflow: Workflow | None = None
        self._recorded: Mapping[str, str] = {}

    def compose(self) -> ComposeResult:
        yield ExpandableDagCanvas(DagLayout(("reading the run's graph…",)), id="run-dag")
        with VerticalScroll(id="run-changes-pane") as changes:
            changes.border_title = "Changes"
            yield RunChangesView(id="run-changes")

    @property
    def canvas(self) -> ExpandableDagCanvas:
        return self.query_one(ExpandableDagCanvas)

    @property
    def opened(self) -> frozenset[str]:
        """The keys of the boxes open now."""
        return self.dag.opened if self.dag is not None else frozenset()

    def show(self, graph: RunGraph, statuses: Mapping[str, str] | None = None) -> None:
        """Draw ``graph`` (re-laid out only if its shape changed, open boxes kept open) and
        list its changes; ``statuses`` as in ``show_statuses``."""
        reshaped = self.graph is None or _shape(self.graph) != _shape(graph)
        self.graph = graph
        if statuses is not None:
            self._recorded = dict(statuses)
        if reshaped:
            self._workflow = openable_workflow(graph)
            self._relayout(self.opened)
        else:
            self._paint()
        self.query_one(RunChangesView).changes = graph.changes
        added = f", {len(graph.inserted)} inserted at runtime" if graph.inserted else ""
        self.canvas.border_title = f"Graph as it ran · {len(graph.steps)} steps{added}"
        closed = self._workflow is None and not _COMPOSITE_KINDS.isdisjoint(graph.kinds.values())
        self.canvas.border_subtitle = f"from the {graph.origin}" + (
            " · no definition: boxes stay closed" if closed else "")
        self.query_one("#run-changes-pane").border_title = f"Changes ({len(graph.changes)})"

    def show_statuses(self, recorded: Mapping[str, str]) -> None:
        """Colour the boxes with the latest recorded statuses: the run's steps by name, its
        map items as ``fan[2].clean``, its sub-workflow runs' steps as ``sub/inner``."""
        self._recorded = dict(recorded)
        self._paint()

    def _paint(self) -> None:
        merged = {**(self.graph.statuses if self.graph is not None else {}), **self._recorded}
        self.canvas.statuses = node_statuses(self.dag, merged) if self.dag is not None else merged

    def _relayout(self, opened: frozenset[str], select: str | None = None) -> None:
        """Redraw with ``opened`` boxes open and select ``select`` (or what stands for the
        selected box now)."""
        graph, canvas = self.graph, self.canvas
        if graph is None:
            return
        previous = canvas.selected
        if self._workflow is None:
            self.dag = None
            canvas.dag_layout = graph_layout(graph)
            key = previous if previous in canvas.dag_layout.boxes else None
        else:
            self.dag = expand(self._workflow, opened)
            canvas.dag_layout = compute_layout(self.dag, labels=expanded_labels(graph, self.dag))
            key = self.dag.nearest(select or previous or "")
        if key is not None or previous is not None:
            canvas.selected = key
        self._paint()

    @on(ExpandableDagCanvas.ToggleRequested)
    def _toggle(self, event: ExpandableDagCanvas.ToggleRequested) -> None:
        event.stop()
        graph, dag = self.graph, self.dag
        if graph is None:
            return
        node = dag.nodes.get(event.name) if dag is not None else None
        if node is not None and node.composite and event.action != "close":
            problem = dag.problems.get(node.key) if dag is not None else None
            if problem:
                self.notify(f"{node.key} cannot be opened: {problem}", title="Run graph",
                            severity="warning", timeout=5)
            else:
                self._relayout(self.opened | {node.key}, select=node.key)
        elif node is not None and node.parent is not None and event.action != "open":
            assert dag is not None
            self._relayout(dag.closing(node.parent), select=node.parent)
        elif event.action != "close":
            self.notify(self._why_closed(event.name), title="Run graph", timeout=5,
                        severity="warning" if self._composite(event.name) else "information")

    def _composite(self, name: str) -> bool:
        return self.graph is not None and self.graph.kinds.get(name) in _COMPOSITE_KINDS

    def _why_closed(self, name: str) -> str:
        """Why box ``name`` does not open."""
        graph = self.graph
        if not self._composite(name) or graph is None:
            return f"{name} is not a sub-workflow or map step: nothing to open"
        if graph.workflow is None:
            reason = graph.definition_error or "no definition was rebuilt"
            return (f"{name} cannot be opened: the run's definition cannot be rebuilt, so "
                    f"its inner steps are unknown ({reason})")
        if self._workflow is None:
            return f"{name} cannot be opened: the recorded graph does not validate"
        return f"{name} cannot be opened: the run's definition has no step {name} now"

    def action_collapse_all(self) -> None:
        """Close every opened map and sub-workflow box."""
        if self.opened:
            self._relayout(frozenset())
