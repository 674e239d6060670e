"""The runs list: a virtual table over any number of stored runs, loaded a page at a time.

Only the row count and the pages near the screen are held (an LRU of ``PAGE_SIZE``-row
pages); ``render_line`` draws the rows on screen and asks for a missing page with a
``PageWanted`` message, which the screen's worker answers with ``show_page``. A table of
100,000 runs therefore costs what a table of a few hundred does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from engine import RunRecord

from .status import format_duration, format_time, status_text

PAGE_SIZE = 200
CACHED_PAGES = 16
COLUMNS: tuple[tuple[str, int], ...] = (
    ("Run", 16), ("Workflow", 26), ("Status", 13), ("Started", 19), ("Duration", 9),
    ("Steps", 5), ("By", 8), ("Error", 0),
)


def run_cells(run: RunRecord) -> list[Text]:
    """The table cells of one run, styled (status in its colour, errors in red)."""
    error = (run.error or "").replace("\n", " ")
    return [
        Text(run.run_id, style="bold"), Text(run.workflow), status_text(str(run.status)),
        Text(format_time(run.created_at)), Text(format_duration(run.duration_seconds)),
        Text(str(run.step_count) if run.step_count is not None else "—"),
        Text(run.started_by or "—", style="dim"),
        Text(error, style="red"),
    ]


def layout_row(cells: Sequence[Text], width: int) -> Text:
    """Cells padded or cut to the column widths; the last column takes what is left."""
    line = Text(no_wrap=True, end="")
    used = 0
    for (_, column_width), cell in zip(COLUMNS, cells, strict=True):
        size = column_width or max(0, width - used - 1)
        piece = cell.copy()
        piece.truncate(size, overflow="ellipsis", pad=True)
        line.append(" ")
        line.append_text(piece)
        used += size + 1
    return line


class RunsHeader(Static):
    """The column titles above a ``RunsTable`` (kept out of the scrolled area)."""

    DEFAULT_CSS = "RunsHeader { height: 1; text-style: bold; background: $panel; }"

    def render(self) -> Text:
        return layout_row([Text(title) for title, _ in COLUMNS], self.size.width)


class RunsTable(ScrollView, can_focus=True):
    """Runs newest first; ↑/↓/PgUp/PgDn/Home/End move the cursor, Enter opens a run."""

    DEFAULT_CSS = """
    RunsTable { height: 1fr; overflow-x: hidden; }
    RunsTable > .runs-table--cursor { background: $block-cursor-blurred-background; }
    RunsTable:focus > .runs-table--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground;
        text-style: bold;
    }
    RunsTable > .runs-table--placeholder { color: $text-muted; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"runs-table--cursor", "runs-table--placeholder"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Open run"),
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    cursor: reactive[int] = reactive(0)
    total: reactive[int] = reactive(0)

    @dataclass
    class PageWanted(Message):
        """Rows ``page * PAGE_SIZE`` onwards are on screen but not loaded."""

        table: RunsTable
        page: int

    @dataclass
    class RunHighlighted(Message):
        run: RunRecord | None

    @dataclass
    class RunChosen(Message):
        run: RunRecord

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._pages: LRUCache[int, tuple[RunRecord, ...]] = LRUCache(CACHED_PAGES)
        self._wanted: set[int] = set()

    # ------------------------------------------------------------------ data in
    def reset(self, total: int) -> None:
        """Forget every loaded page (the filter changed) and start at the top."""
        self._pages.clear()
        self._wanted.clear()
        self.total = total
        self.cursor = 0
        self.scroll_to(y=0, animate=False, force=True)
        self.refresh()

    def show_page(self, page: int, runs: Sequence[RunRecord], total: int | None = None) -> None:
        """Rows for ``page``; a new ``total`` from a live refresh shifts the rest down."""
        if total is not None and total != self.total:
            delta = total - self.total
            self._pages.clear()  # newer runs pushed every loaded page down by ``delta``
            self._wanted.clear()
            if self.cursor > 0 and delta > 0:  # keep the cursor on the run it was on
                self.cursor += delta
                self.scroll_to(y=self.scroll_offset.y + delta, animate=False, force=True)
            self.total = total
        self._pages.set(page, tuple(runs))
        self._wanted.discard(page)
        self.refresh()
        if page == self.cursor // PAGE_SIZE:
            self.post_message(self.RunHighlighted(self.highlighted_run))

    def watch_total(self, total: int) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, total)
        self.cursor = min(self.cursor, max(0, total - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        height = self.scrollable_content_region.height
        top = round(self.scroll_offset.y)
        if new < top:
            self.scroll_to(y=new, animate=False, force=True)
        elif height and new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False, force=True)
        self.refresh()
        self.post_message(self.RunHighlighted(self.highlighted_run))

    @property
    def highlighted_run(self) -> RunRecord | None:
        return self.run_at(self.cursor)

    def run_at(self, row: int) -> RunRecord | None:
        """The run on ``row`` if its page is loaded."""
        if not 0 <= row < self.total:
            return None
        page, offset = divmod(row, PAGE_SIZE)
        runs = self._pages.get(page)
        return runs[offset] if runs is not None and offset < len(runs) else None

    @property
    def loaded_rows(self) -> int:
        return sum(len(self._pages.get(k) or ()) for k in self._pages.keys())

    # ------------------------------------------------------------------ actions
    def action_move(self, delta: int) -> None:
        self.cursor = max(0, min(self.total - 1, self.cursor + delta))

    def action_page(self, pages: int) -> None:
        self.action_move(pages * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, row: int) -> None:
        self.cursor = max(0, self.total - 1) if row < 0 else row

    def action_choose(self) -> None:
        """Open the highlighted run."""
        run = self.highlighted_run
        if run is not None:
            self.post_message(self.RunChosen(run))

    def on_click(self, event: events.Click) -> None:
        row = round(self.scroll_offset.y) + event.y
        if 0 <= row < self.total:
            if row == self.cursor and event.chain > 1:
                self.action_choose()
            self.cursor = row

    # ------------------------------------------------------------------ rendering
    def render_line(self, y: int) -> Strip:
        row = round(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if row >= self.total:
            return Strip.blank(width, base)
        run = self.run_at(row)
        if run is None:
            self._want(row // PAGE_SIZE)
            style = self.get_component_rich_style("runs-table--placeholder")
            return Strip([Segment(" …", style)]).extend_cell_length(width, base)
        line = layout_row(run_cells(run), width)
        if row == self.cursor:
            base = base + self.get_component_rich_style("runs-table--cursor")
        strip = Strip(line.render(self.app.console), line.cell_len)
        return strip.crop_extend(0, width, base).apply_style(base)

    def _want(self, page: int) -> None:
        if page not in self._wanted:
            self._wanted.add(page)
            self.post_message(self.PageWanted(self, page))
