"""The DAG canvas: a scrollable, selectable view of a ``DagLayout`` drawn by ``layout.py``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..status import STATUS_STYLE, STEP_TYPE_STYLE
from .layout import LABEL_OFFSET, BoxPlacement, DagLayout

STALE_LABEL = "≈stale"
STALE_STYLE = "bold medium_purple1"
"""Not a status colour: a stale record keeps its status colour and gets this mark."""


class DagCanvas(ScrollView, can_focus=True):
    """Scrollable view of a workflow's DAG: arrow keys and clicks move the selection from box
    to box, each box takes its step's status colour, a debugger can mark the next step
    (``cursor``), its breakpoints and the steps whose record an edit made stale; only the
    rows on screen are drawn (a 500-step graph scrolls smoothly)."""

    DEFAULT_CSS = """
    DagCanvas { height: 1fr; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move('up')", "Box above", show=False),
        Binding("down", "move('down')", "Box below", show=False),
        Binding("left", "move('left')", "Box to the left", show=False),
        Binding("right", "move('right')", "Box to the right", show=False),
        Binding("shift+left", "scroll_left", "Scroll left", show=False),
        Binding("shift+right", "scroll_right", "Scroll right", show=False),
    ]

    selected: reactive[str | None] = reactive(None)
    statuses: reactive[Mapping[str, str]] = reactive(dict, always_update=True)
    cursor: reactive[str | None] = reactive(None)
    """The step a debugger runs next (drawn with a ▶ marker)."""
    breakpoints: reactive[frozenset[str]] = reactive(frozenset)
    """Steps with a breakpoint (drawn with a red ● on the box's top edge)."""
    conditional: reactive[frozenset[str]] = reactive(frozenset)
    """Steps whose breakpoint has a condition (a yellow ◆ in place of the ●)."""
    stale: reactive[frozenset[str]] = reactive(frozenset)
    """Steps whose record came from the code before an edit (italic, ``≈stale`` on the box's
    bottom edge)."""

    @dataclass
    class StepClicked(Message):
        """The user selected the box of step ``name`` (a click or an arrow key)."""

        name: str

    def __init__(self, layout: DagLayout, *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.dag_layout = layout

    @property
    def dag_layout(self) -> DagLayout:
        return self._layout

    @dag_layout.setter
    def dag_layout(self, layout: DagLayout) -> None:
        self._layout = layout
        rows: dict[int, list[BoxPlacement]] = {}
        for box in layout.boxes.values():
            for row in range(box.top, box.top + box.height):
                rows.setdefault(row, []).append(box)
        self._boxes_by_row = rows
        self.virtual_size = Size(layout.width, len(layout.lines))
        self.refresh()

    def watch_selected(self, name: str | None) -> None:
        self.refresh()
        box = self._layout.boxes.get(name or "")
        if box is not None and self.is_mounted:
            region = Region(box.left, box.top, box.width, box.height)
            self.scroll_to_region(region, animate=False, force=True)

    def watch_statuses(self) -> None:
        self.refresh()

    def watch_cursor(self) -> None:
        self.refresh()

    def watch_breakpoints(self) -> None:
        self.refresh()

    def watch_conditional(self) -> None:
        self.refresh()

    def watch_stale(self) -> None:
        self.refresh()

    def on_mount(self) -> None:
        self.call_after_refresh(self.watch_selected, self.selected)

    def on_click(self, event: events.Click) -> None:
        x, y = event.x + round(self.scroll_offset.x), event.y + round(self.scroll_offset.y)
        for box in self._boxes_by_row.get(y, ()):
            if box.left <= x < box.left + box.width:
                self._choose(box.name)
                return

    def action_move(self, direction: str) -> None:
        """Select the nearest box in ``direction`` (up, down, left or right)."""
        target = neighbour(self._layout, self.selected, direction)
        if target is not None:
            self._choose(target)

    def _choose(self, name: str) -> None:
        self.selected = name
        self.post_message(self.StepClicked(name))

    def line_text(self, row: int) -> Text:
        """Row ``row`` of the drawing with status colours, markers and the selection applied."""
        line = self._layout.lines[row]
        marks: list[tuple[int, str, str]] = []
        for box in self._boxes_by_row.get(row, ()):
            if row == box.top and box.name in self.conditional:
                marks.append((box.left + box.width - 3, "◆", "bold yellow"))
            elif row == box.top and box.name in self.breakpoints:
                marks.append((box.left + box.width - 3, "●", "bold red"))
            if row == box.top + 1 and box.name == self.cursor:
                marks.append((box.left + 1, "▶", "bold yellow"))
            if row == box.top + box.height - 1 and box.name in self.stale:
                label = STALE_LABEL if box.width - 2 >= len(STALE_LABEL) else STALE_LABEL[0]
                marks += [(box.left + 1 + k, char, STALE_STYLE) for k, char in enumerate(label)]
        if marks:
            chars = list(line.ljust(self._layout.width))
            for col, char, _ in marks:
                chars[col] = char
            line = "".join(chars)
        text = Text(line, no_wrap=True, end="")
        text.pad_right(max(0, self._layout.width - len(text)))
        for box in self._boxes_by_row.get(row, ()):
            status = self.statuses.get(box.name)
            if status:
                text.stylize(STATUS_STYLE.get(status, ""), box.left, box.left + box.width)
            if row == box.top:
                _stylize_type(text, box)
            if box.name in self.stale:
                text.stylize("italic", box.left, box.left + box.width)
            if box.name == self.cursor:
                text.stylize("bold", box.left, box.left + box.width)
            if box.name == self.selected:
                text.stylize(Style(bold=True, reverse=True), box.left, box.left + box.width)
        for col, _, style in marks:
            text.stylize(style, col, col + 1)
        return text

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if row >= len(self._layout.lines):
            return Strip.blank(width, base)
        text = self.line_text(row)
        strip = Strip(text.render(self.app.console), text.cell_len)
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_style(base)


ToggleAction = Literal["toggle", "open", "close"]


class ExpandableDagCanvas(DagCanvas):
    """A ``DagCanvas`` whose composite boxes (sub-workflows, maps) open in place: Enter
    toggles the selected box, + opens it, - closes the opened step it belongs to. The canvas
    only asks (``ToggleRequested``); its screen re-lays out the graph, so plain
    ``DagCanvas`` users keep Enter for themselves."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "fold('toggle')", "Open/close", show=False),
        Binding("plus", "fold('open')", "Open", show=False),
        Binding("minus", "fold('close')", "Close", show=False),
    ]

    @dataclass
    class ToggleRequested(Message):
        """The user asked to open (``open``), close (``close``: the opened step around it)
        or flip (``toggle``) the selected box ``name``."""

        name: str
        action: ToggleAction

    def action_fold(self, action: ToggleAction) -> None:
        """Ask the screen to open or close the selected box."""
        if self.selected is not None:
            self.post_message(self.ToggleRequested(self.selected, action))


def _stylize_type(text: Text, box: BoxPlacement) -> None:
    """Colour the step-type word in the box's top-edge label (over any status colour, so a
    running graph still shows what kind each step is)."""
    col = box.left + LABEL_OFFSET
    for word in box.label.split(" "):
        style = STEP_TYPE_STYLE.get(word)
        if style:
            text.stylize(style, col, col + len(word))
        col += len(word) + 1


def neighbour(layout: DagLayout, current: str | None, direction: str) -> str | None:
    """The box next to ``current`` in ``direction``: up/down within its column, left/right
    the nearest box (by row) in the neighbouring column; the first box when none is
    selected; None at an edge."""
    boxes = list(layout.boxes.values())
    if not boxes:
        return None
    here = layout.boxes.get(current or "")
    if here is None:
        return min(boxes, key=lambda b: (b.left, b.top)).name
    if direction in ("up", "down"):
        column = [b for b in boxes if b.left == here.left and
                  (b.top < here.top if direction == "up" else b.top > here.top)]
        if not column:
            return None
        return min(column, key=lambda b: abs(b.top - here.top)).name
    lefts = sorted({b.left for b in boxes})
    k = lefts.index(here.left) + (1 if direction == "right" else -1)
    if not 0 <= k < len(lefts):
        return None
    return min((b for b in boxes if b.left == lefts[k]),
               key=lambda b: (abs(b.top - here.top), b.top)).name
