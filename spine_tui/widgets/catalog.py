"""Catalog region widgets: the sortable workflow table, the details line and the load errors.

Rows are frozen ``WorkflowRow`` views built from discovery results, so filtering and sorting
are pure functions (``matches``, ``sort_rows``) that tests can call without a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Static

if TYPE_CHECKING:
    from engine.discovery import Catalog, DiscoveredWorkflow, LoadError

COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Name"), ("domain", "Domain"), ("tags", "Tags"), ("steps", "Steps"),
    ("version", "Version"), ("mode", "Mode"), ("source", "Source"),
)
SORT_KEYS = [key for key, _ in COLUMNS]
TAGS_WIDTH = 30


@dataclass(frozen=True, slots=True)
class WorkflowRow:
    """What the catalog shows for one discovered workflow."""

    name: str
    domain: str
    tags: tuple[str, ...]
    steps: int
    version: int
    mode: str
    source: str  # shown relative to the folder it was found in
    description: str = ""
    kind: str = "python"
    schedule: str | None = None
    defaults: dict[str, Any] = field(default_factory=dict, compare=False)
    item: DiscoveredWorkflow | None = field(default=None, compare=False, repr=False)

    def cells(self) -> tuple[str, ...]:
        tags = ", ".join(self.tags) or "—"
        if len(tags) > TAGS_WIDTH:  # long tag lists would push Mode and Source off screen
            tags = tags[:TAGS_WIDTH - 1] + "…"
        return (self.name, self.domain or "—", tags, str(self.steps), f"v{self.version}",
                self.mode, self.source)


def display_path(path: str, roots: Iterable[str] = ()) -> str:
    """``path`` relative to the scanned folder that holds it (deterministic, short), else its name."""
    target = Path(path)
    for root in roots:
        base = Path(root)
        if target == base:
            return target.name
        try:
            return target.relative_to(base).as_posix()
        except ValueError:
            continue
    return target.name


def rows_from_catalog(catalog: Catalog) -> list[WorkflowRow]:
    """One row per workflow of an ``engine`` catalog, in discovery order."""
    rows = []
    for item in catalog.workflows:
        wf = item.workflow
        policy = wf.execution_policy
        mode = policy.mode.value
        if mode == "parallel":
            mode = f"parallel ×{policy.max_concurrency}"
        rows.append(WorkflowRow(
            name=wf.name, domain=wf.domain, tags=tuple(wf.tags), steps=len(wf.steps),
            version=wf.version, mode=mode, source=display_path(item.source, catalog.paths),
            description=wf.description, kind=item.kind, schedule=wf.schedule,
            defaults=dict(wf.defaults), item=item,
        ))
    return rows


def is_subsequence(needle: str, haystack: str) -> bool:
    """True when every character of ``needle`` appears in ``haystack`` in order."""
    chars = iter(haystack)
    return all(c in chars for c in needle)


def matches(row: WorkflowRow, query: str) -> bool:
    """Case-insensitive: each word of ``query`` is a subsequence of the name, domain or a tag,
    or appears literally in the description (subsequences of prose match almost anything)."""
    fields = [f.lower() for f in (row.name, row.domain, *row.tags) if f]
    prose = row.description.lower()
    return all(any(is_subsequence(word, f) for f in fields) or word in prose
               for word in query.lower().split())


def sort_rows(rows: Iterable[WorkflowRow], column: str, reverse: bool = False
              ) -> list[WorkflowRow]:
    """Rows ordered by one column (numbers numerically, text case-insensitively), then name."""
    def key(row: WorkflowRow) -> tuple[Any, str]:
        value = getattr(row, column)
        if isinstance(value, tuple):
            value = ", ".join(value)
        if isinstance(value, str):
            value = value.lower()
        return value, row.name.lower()

    return sorted(rows, key=key, reverse=reverse)


class WorkflowTable(DataTable[str]):
    """The catalog table: owns its sort order; rows come down from the screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open"),
        Binding("s", "cycle_sort", "Sort"),
        *(Binding(str(i + 1), f"sort('{key}')", f"Sort by {label.lower()}", show=False)
          for i, (key, label) in enumerate(COLUMNS)),
    ]

    workflows: reactive[tuple[WorkflowRow, ...]] = reactive((), always_update=True)
    sort_column: reactive[str] = reactive("name")
    sort_reverse: reactive[bool] = reactive(False)

    @dataclass
    class WorkflowHighlighted(Message):
        """The cursor moved onto a workflow (``None`` when the table is empty)."""

        row: WorkflowRow | None

    @dataclass
    class WorkflowChosen(Message):
        """The user pressed Enter (or clicked) on a workflow."""

        row: WorkflowRow

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._shown: list[WorkflowRow] = []

    def validate_sort_column(self, column: str) -> str:
        return column if column in SORT_KEYS else "name"

    def watch_workflows(self) -> None:
        self._rebuild()

    def watch_sort_column(self) -> None:
        self._rebuild()

    def watch_sort_reverse(self) -> None:
        self._rebuild()

    def action_sort(self, column: str) -> None:
        """Sort by ``column``; choosing the current column again flips the direction."""
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False

    def action_cycle_sort(self) -> None:
        """Sort by the next column (press 1-7 to pick one directly)."""
        self.sort_column = SORT_KEYS[(SORT_KEYS.index(self.sort_column) + 1) % len(SORT_KEYS)]
        self.sort_reverse = False

    @property
    def highlighted_row(self) -> WorkflowRow | None:
        shown = self._shown
        return shown[self.cursor_row] if 0 <= self.cursor_row < len(shown) else None

    @property
    def shown_rows(self) -> list[WorkflowRow]:
        """The rows in the order they are displayed."""
        return list(self._shown)

    def _rebuild(self) -> None:
        if not self.is_mounted:
            return
        keep = self.highlighted_row.name if self.highlighted_row else None
        shown = self._shown = sort_rows(self.workflows, self.sort_column, self.sort_reverse)
        self.clear(columns=True)
        for key, label in COLUMNS:
            if key == self.sort_column:
                label += " ▼" if self.sort_reverse else " ▲"
            self.add_column(label, key=key)
        for row in shown:
            self.add_row(*row.cells(), key=row.name)
        names = [row.name for row in shown]
        self.move_cursor(row=names.index(keep) if keep in names else 0, animate=False)
        self.post_message(self.WorkflowHighlighted(self.highlighted_row))

    def on_mount(self) -> None:
        self._rebuild()

    @on(DataTable.RowHighlighted)
    def _announce_highlight(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.WorkflowHighlighted(self.highlighted_row))

    @on(DataTable.RowSelected)
    def _announce_choice(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = self.highlighted_row
        if row is not None:
            self.post_message(self.WorkflowChosen(row))

    @on(DataTable.HeaderSelected)
    def _sort_by_header(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.action_sort(str(event.column_key.value))


class WorkflowDetails(Static):
    """Description, source and defaults of the highlighted workflow (or a hint when none)."""

    row: reactive[WorkflowRow | None] = reactive(None, layout=True)
    hint: reactive[str] = reactive("", layout=True)

    def render(self) -> Text:
        row = self.row
        if row is None:
            return Text(self.hint, style="italic")
        text = Text()
        text.append(row.name, style="bold")
        text.append(f"  v{row.version}  {row.mode}\n", style="dim")
        text.append(row.description or "(no description)")
        text.append("\nsource: ", style="dim")
        text.append(f"{row.source} ({row.kind})")
        if row.schedule:
            text.append("   schedule: ", style="dim")
            text.append(row.schedule)
        if row.defaults:
            text.append("   defaults: ", style="dim")
            text.append(json.dumps(row.defaults, default=repr))
        return text


class LoadErrors(Static):
    """Files that failed to load, each as ``file:line: message``; hidden when there are none."""

    errors: reactive[tuple[str, ...]] = reactive((), layout=True)

    def watch_errors(self, errors: tuple[str, ...]) -> None:
        self.display = bool(errors)
        count = len(errors)
        self.border_title = f"⚠ {count} file{'s' if count != 1 else ''} could not be loaded"

    def render(self) -> Text:
        return Text("\n".join(self.errors))


def format_load_errors(errors: Sequence[LoadError], roots: Iterable[str] = ()
                       ) -> tuple[str, ...]:
    """``file:line: message`` lines for ``engine`` load errors, paths shown like table sources."""
    roots = list(roots)
    lines = []
    for error in errors:
        where = display_path(error.path, roots)
        if error.line:
            where += f":{error.line}"
        lines.append(f"{where}: {error.message}")
    return tuple(lines)
