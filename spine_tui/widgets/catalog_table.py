"""The catalog table: a Line API view over the filtered, sorted workflow rows.

Each row's cells are built once (``WorkflowRow.cells``); a filter keystroke only swaps the
list of rows and redraws the lines on screen, so it stays a few milliseconds however many
workflows there are (a ``DataTable`` re-measures every cell of every row instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .catalog import COLUMNS, SORT_KEY_NAMES, SORT_KEYS, WorkflowRow, sort_rows

GAP = 2


class WorkflowTable(ScrollView, can_focus=True):
    """Workflows with a fixed header; ↑/↓ move, Enter opens, s/1–9/0 or a header click sort."""

    DEFAULT_CSS = """
    WorkflowTable { height: 1fr; }
    WorkflowTable > .workflow-table--header { background: $panel; text-style: bold; }
    WorkflowTable > .workflow-table--cursor { background: $block-cursor-blurred-background; }
    WorkflowTable:focus > .workflow-table--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground;
        text-style: bold;
    }
    WorkflowTable > .workflow-table--stripe { background: $boost; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "workflow-table--header", "workflow-table--cursor", "workflow-table--stripe"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Open"),
        Binding("s", "cycle_sort", "Sort"),
        *(Binding(digit, f"sort('{key}')", f"Sort by {label.lower()}", show=False)
          for digit, (key, label) in zip(SORT_KEY_NAMES, COLUMNS, strict=True)),
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    workflows: reactive[tuple[WorkflowRow, ...]] = reactive((), always_update=True)
    sort_column: reactive[str] = reactive("name")
    sort_reverse: reactive[bool] = reactive(False)
    cursor_row: reactive[int] = reactive(0)

    @dataclass
    class WorkflowHighlighted(Message):
        """The cursor moved onto a workflow (``None`` when the table is empty)."""

        row: WorkflowRow | None

    @dataclass
    class WorkflowChosen(Message):
        """The user pressed Enter (or double-clicked) on a workflow."""

        row: WorkflowRow

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._shown: list[WorkflowRow] = []
        self._widths: list[int] = [len(label) for _, label in COLUMNS]

    # ------------------------------------------------------------------ state
    def validate_sort_column(self, column: str) -> str:
        return column if column in SORT_KEYS else "name"

    def watch_workflows(self) -> None:
        self._rebuild()

    def watch_sort_column(self) -> None:
        self._rebuild()

    def watch_sort_reverse(self) -> None:
        self._rebuild()

    def watch_cursor_row(self, old: int, new: int) -> None:
        height = self.scrollable_content_region.height - 1  # the header takes a line
        top = round(self.scroll_offset.y)
        if new < top:
            self.scroll_to(y=new, animate=False, force=True)
        elif height > 0 and new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False, force=True)
        self.refresh()
        if old != new:
            self.post_message(self.WorkflowHighlighted(self.highlighted_row))

    @property
    def highlighted_row(self) -> WorkflowRow | None:
        shown = self._shown
        return shown[self.cursor_row] if 0 <= self.cursor_row < len(shown) else None

    @property
    def shown_rows(self) -> list[WorkflowRow]:
        """The rows in the order they are displayed."""
        return list(self._shown)

    @property
    def row_count(self) -> int:
        return len(self._shown)

    def get_row(self, name: str) -> list[str]:
        """The text of the cells shown for workflow ``name`` (``KeyError`` if not shown)."""
        for row in self._shown:
            if row.name == name:
                return [cell.plain for cell in row.cells()]
        raise KeyError(name)

    def get_row_at(self, index: int) -> list[str]:
        return [cell.plain for cell in self._shown[index].cells()]

    def column_label(self, key: str) -> str:
        """A column title with the sort arrow when the table is sorted by it."""
        label = dict(COLUMNS)[key]
        if key == self.sort_column:
            label += " ▼" if self.sort_reverse else " ▲"
        return label

    def _rebuild(self) -> None:
        keep = self.highlighted_row.name if self.highlighted_row else None
        self._shown = sort_rows(self.workflows, self.sort_column, self.sort_reverse)
        widths = [len(self.column_label(key)) for key, _ in COLUMNS]
        for row in self._shown:
            for i, cell in enumerate(row.cells()):
                widths[i] = max(widths[i], cell.cell_len)
        self._widths = widths
        self.virtual_size = Size(sum(widths) + GAP * len(widths), len(self._shown) + 1)
        names = [row.name for row in self._shown]
        index = names.index(keep) if keep in names else 0
        previous = self.cursor_row
        self.cursor_row = index
        if previous == index:  # same index, maybe another row: say so anyway
            self.post_message(self.WorkflowHighlighted(self.highlighted_row))
        self.refresh()

    # ------------------------------------------------------------------ actions
    def action_sort(self, column: str) -> None:
        """Sort by ``column``; choosing the current column again flips the direction."""
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False

    def action_cycle_sort(self) -> None:
        """Sort by the next column (press 1-9, 0 to pick one directly)."""
        self.sort_column = SORT_KEYS[(SORT_KEYS.index(self.sort_column) + 1) % len(SORT_KEYS)]
        self.sort_reverse = False

    def action_move(self, delta: int) -> None:
        if self._shown:
            self.cursor_row = max(0, min(len(self._shown) - 1, self.cursor_row + delta))

    def action_page(self, pages: int) -> None:
        self.action_move(pages * max(1, self.scrollable_content_region.height - 2))

    def action_jump(self, row: int) -> None:
        if self._shown:
            self.cursor_row = len(self._shown) - 1 if row < 0 else row

    def action_choose(self) -> None:
        """Open the highlighted workflow."""
        row = self.highlighted_row
        if row is not None:
            self.post_message(self.WorkflowChosen(row))

    def column_at(self, x: int) -> str | None:
        """The column key under content column ``x`` (scroll included)."""
        left = 0
        for (key, _), width in zip(COLUMNS, self._widths, strict=True):
            if left <= x < left + width + GAP:
                return key
            left += width + GAP
        return None

    def column_region(self, key: str) -> Region:
        """Where column ``key``'s header is, in content coordinates."""
        left = 0
        for (name, _), width in zip(COLUMNS, self._widths, strict=True):
            if name == key:
                return Region(left, 0, width + GAP, 1)
            left += width + GAP
        raise KeyError(key)

    def on_click(self, event: events.Click) -> None:
        x = event.x + round(self.scroll_offset.x)
        if event.y == 0:
            column = self.column_at(x - 1)  # one cell of left padding
            if column is not None:
                self.action_sort(column)
            return
        row = round(self.scroll_offset.y) + event.y - 1
        if 0 <= row < len(self._shown):
            if row == self.cursor_row and event.chain > 1:
                self.action_choose()
            self.cursor_row = row

    # ------------------------------------------------------------------ rendering
    def _line(self, cells: list[Text]) -> Text:
        line = Text(" ", no_wrap=True, end="")
        for cell, width in zip(cells, self._widths, strict=True):
            piece = cell.copy()
            piece.truncate(width, overflow="ellipsis", pad=True)
            line.append_text(piece)
            line.append(" " * GAP)
        return line

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            header = self._line([Text(self.column_label(k)) for k, _ in COLUMNS])
            style = base + self.get_component_rich_style("workflow-table--header")
            strip = Strip(header.render(self.app.console), header.cell_len)
            return strip.crop_extend(scroll_x, scroll_x + width, style).apply_style(style)
        index = scroll_y + y - 1
        if index >= len(self._shown):
            return Strip.blank(width, base)
        line = self._line(list(self._shown[index].cells()))
        if index == self.cursor_row:
            base = base + self.get_component_rich_style("workflow-table--cursor")
        elif index % 2:
            base = base + self.get_component_rich_style("workflow-table--stripe")
        strip = Strip(line.render(self.app.console), line.cell_len)
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_style(base)

    def on_mount(self) -> None:
        self._rebuild()

