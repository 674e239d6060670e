"""The run detail's lineage section: what each data step read and wrote (spec §3)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from engine.store import LineageRecord

_ARROWS = {"read": Text("← read", style="cyan"), "write": Text("→ wrote", style="green")}


class LineageView(Static):
    """Per data step, the tables, files and artifacts it read and wrote, with rows, the
    cursor window of an incremental source and a transform's code hash."""

    facts: reactive[tuple[LineageRecord, ...]] = reactive((), layout=True)

    def show(self, facts: Sequence[LineageRecord]) -> None:
        """Take a run's lineage as read from the store; hidden while it has none."""
        self.facts = tuple(facts)
        self.border_title = f"Lineage ({len(self.facts)})"
        self.display = bool(self.facts)

    def render(self) -> Table | Text:
        if not self.facts:
            return Text("no lineage: only data steps (source, transform, sink) record it",
                        style="italic")
        table = Table(box=None, padding=(0, 1), header_style="dim", show_edge=False,
                      expand=False)
        table.add_column("step", style="bold", no_wrap=True)
        table.add_column("", no_wrap=True)
        table.add_column("kind", no_wrap=True)
        table.add_column("name", overflow="fold")
        table.add_column("rows", justify="right", no_wrap=True)
        table.add_column("details", style="dim", overflow="fold")
        previous = None
        for fact in self.facts:
            step = "" if fact.step == previous else fact.step  # one label per step
            previous = fact.step
            table.add_row(step, _ARROWS.get(fact.direction, Text(fact.direction)), fact.kind,
                          fact.name, "—" if fact.rows is None else str(fact.rows),
                          fact.summary())
        return table
