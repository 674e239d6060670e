"""The log tail: a Line API view over a run's stored log lines (toolong's design).

The widget keeps only a ``SeqIndex`` of the lines it shows and an LRU cache of the lines it
has recently drawn; ``render_line`` draws just the rows on screen and asks the tailer (a
worker thread) for lines it does not have yet, drawing a placeholder until they arrive. So
a flood of 20,000 lines a second from another process costs one small message per poll
and memory stays bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from engine import LogRecord, RunStore

from ..services.log_tail import LogFilter, LogTailer, SeqIndex

LEVEL_STYLE = {"DEBUG": "dim", "INFO": "", "WARNING": "yellow", "ERROR": "bold red",
               "CRITICAL": "bold white on red"}
_LEVEL_CYCLE: tuple[str | None, ...] = (None, "INFO", "WARNING", "ERROR")
CACHE_LINES = 4096
STEP_WIDTH = 14


class LogView(ScrollView, can_focus=True):
    """Live log lines of one run: follow, pause, filter by step and level, search."""

    DEFAULT_CSS = """
    LogView { height: 1fr; overflow-x: auto; }
    LogView > .log-view--match { background: $warning 60%; color: $text; }
    LogView > .log-view--current { background: $accent; color: $text; text-style: bold; }
    LogView > .log-view--placeholder { color: $text-muted; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "log-view--match", "log-view--current", "log-view--placeholder"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "toggle_follow", "Follow"),
        Binding("space", "toggle_pause", "Pause"),
        Binding("s", "cycle_step", "Step"),
        Binding("l", "cycle_level", "Level"),
        Binding("n", "find(True)", "Next match", show=False),
        Binding("N", "find(False)", "Previous match", show=False),
        Binding("up", "scroll_lines(-1)", "Up", show=False),
        Binding("down", "scroll_lines(1)", "Down", show=False),
        Binding("pageup", "scroll_page(-1)", "Page up", show=False),
        Binding("pagedown", "scroll_page(1)", "Page down", show=False),
        Binding("home", "top", "Top", show=False),
        Binding("end", "bottom", "End (follow)", show=False),
    ]

    follow: reactive[bool] = reactive(True)
    paused: reactive[bool] = reactive(False)
    step_filter: reactive[str | None] = reactive(None)
    min_level: reactive[str | None] = reactive(None)
    search: reactive[str] = reactive("")

    @dataclass
    class Grew(Message):
        """The tailer has new sequence numbers for ``generation`` (replaceable: drain once)."""

        generation: int

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LogView.Grew)

    @dataclass
    class LinesLoaded(Message):
        records: list[LogRecord]

    @dataclass
    class TailFailed(Message):
        error: str

    @dataclass
    class MatchFound(Message):
        generation: int
        text: str
        seq: int | None

    def __init__(self, store: RunStore, run_id: str, *, steps: tuple[str, ...] = (),
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.run_id = run_id
        self.steps = steps
        self._index = SeqIndex()
        self._cache: LRUCache[int, LogRecord] = LRUCache(CACHE_LINES)
        self._pending: set[int] = set()
        self._max_width = 0
        self._current_match: int | None = None
        self._pattern: re.Pattern[str] | None = None
        self.tailer = LogTailer(store, run_id, on_grew=self._post_grew,
                                on_lines=self._post_lines, on_found=self._post_found,
                                on_error=self._post_error)
        self._generation = self.tailer.set_filter(LogFilter())

    # ------------------------------------------------------------------ thread → messages
    def _post_grew(self, generation: int) -> None:
        self.post_message(self.Grew(generation))

    def _post_error(self, error: str) -> None:
        self.post_message(self.TailFailed(error))

    def _post_lines(self, records: list[LogRecord]) -> None:
        self.post_message(self.LinesLoaded(records))

    def _post_found(self, generation: int, text: str, seq: int | None) -> None:
        self.post_message(self.MatchFound(generation, text, seq))

    def on_mount(self) -> None:
        self._update_status()
        self._tail()

    @work(thread=True, exclusive=True, exit_on_error=False, group="log-tail")
    def _tail(self) -> None:
        """Poll the store for new lines and serve line/search requests until unmounted."""
        worker = get_current_worker()
        self.tailer.run(lambda: worker.is_cancelled)

    # ------------------------------------------------------------------ state
    @property
    def line_count(self) -> int:
        return len(self._index)

    @property
    def cached_lines(self) -> int:
        return len(self._cache)

    @property
    def index_bytes(self) -> int:
        return self._index.nbytes

    def visible_records(self) -> list[LogRecord | None]:
        """The records of the rows on screen (None for rows still loading)."""
        top = round(self.scroll_offset.y)
        seqs = self._index.window(top, top + self.scrollable_content_region.height)
        return [self._cache.get(seq) for seq in seqs]

    @on(Grew)
    def _grew(self, event: Grew) -> None:
        event.stop()
        seqs = self.tailer.drain(event.generation)
        if event.generation != self._generation or not seqs:
            return
        self._index.extend(seqs)
        self._resize()
        self.refresh()
        self._update_status()

    @on(LinesLoaded)
    def _lines_loaded(self, event: LinesLoaded) -> None:
        event.stop()
        for record in event.records:
            self._cache.set(record.seq, record)
            self._pending.discard(record.seq)
            self._max_width = max(self._max_width, len(record.message) + STEP_WIDTH + 24)
        self._resize()
        self.refresh()

    @on(TailFailed)
    def _tail_failed(self, event: TailFailed) -> None:
        event.stop()
        self.notify(event.error, title="Log tail", severity="error", timeout=6)

    @on(MatchFound)
    def _match_found(self, event: MatchFound) -> None:
        event.stop()
        if event.generation != self._generation or event.text != self.search:
            return
        index = None if event.seq is None else self._index.index_of(event.seq)
        if index is None:
            self.notify(f"No more lines match {event.text!r}", title="Search",
                        severity="warning", timeout=3)
            return
        self.follow = False
        self._current_match = event.seq
        self.scroll_to(y=max(0, index - self.scrollable_content_region.height // 2),
                       animate=False, force=True)
        self.refresh()

    def _resize(self) -> None:
        self.virtual_size = Size(self._max_width, len(self._index))
        if self.follow:
            self._stick_to_end()
            self.call_after_refresh(self._stick_to_end)  # a new scrollbar moves the end

    def on_resize(self) -> None:
        """Panes above may grow as the run progresses: keep the newest line in view."""
        self._stick_to_end()
        self.call_after_refresh(self._stick_to_end)

    def _stick_to_end(self) -> None:
        if self.follow:
            self.scroll_to(y=self.max_scroll_y, animate=False, force=True)

    def _restart(self) -> None:
        self._generation = self.tailer.set_filter(LogFilter(self.step_filter, self.min_level))
        self._index = SeqIndex()
        self._pending.clear()
        self._current_match = None
        self._resize()
        self.scroll_to(y=0, animate=False, force=True)
        self.refresh()
        self._update_status()

    def watch_step_filter(self) -> None:
        if self.is_mounted:
            self._restart()

    def watch_min_level(self) -> None:
        if self.is_mounted:
            self._restart()

    def watch_paused(self, paused: bool) -> None:
        self.tailer.pause(paused)
        self._update_status()

    def watch_follow(self, follow: bool) -> None:
        if self.is_mounted:
            self._stick_to_end()
        self._update_status()

    def watch_search(self, text: str) -> None:
        self._pattern = re.compile(re.escape(text), re.IGNORECASE) if text else None
        self._current_match = None
        self.refresh()
        self._update_status()

    def _update_status(self) -> None:
        mode = "paused" if self.paused else ("following" if self.follow else "scrolled")
        parts = [mode, f"{len(self._index):,} lines", f"step {self.step_filter or 'all'}",
                 f"level {self.min_level + '+' if self.min_level else 'all'}"]
        if self.search:
            parts.append(f"/{self.search}")
        self.border_subtitle = " · ".join(parts)

    # ------------------------------------------------------------------ actions
    def action_toggle_follow(self) -> None:
        """Keep the newest line in view as lines arrive (or stop doing so)."""
        self.follow = not self.follow

    def action_toggle_pause(self) -> None:
        """Stop (or resume) reading new lines from the store; the view holds still."""
        self.paused = not self.paused

    def action_cycle_step(self) -> None:
        """Show only one step's lines; press again for the next step, then all."""
        options: list[str | None] = [None, *self.steps]
        current = options.index(self.step_filter) if self.step_filter in options else 0
        self.step_filter = options[(current + 1) % len(options)]

    def action_cycle_level(self) -> None:
        """Show only lines at or above INFO, WARNING, ERROR, then all again."""
        current = _LEVEL_CYCLE.index(self.min_level) if self.min_level in _LEVEL_CYCLE else 0
        self.min_level = _LEVEL_CYCLE[(current + 1) % len(_LEVEL_CYCLE)]

    def action_find(self, forward: bool = True) -> None:
        """Jump to the next (or previous) line containing the search text."""
        if not self.search:
            self.notify("Type a search first (press / on the run screen)", timeout=3)
            return
        if self._current_match is not None:
            start = self._current_match
        else:
            top = round(self.scroll_offset.y)
            start = self._index[top] - 1 if top < len(self._index) else 0
            if not forward:
                start += 2
        self.tailer.find(self._generation, self.search, start, forward)

    def action_scroll_lines(self, delta: int) -> None:
        self.follow = delta > 0 and self.follow
        self.scroll_to(y=self.scroll_offset.y + delta, animate=False)

    def action_scroll_page(self, pages: int) -> None:
        self.follow = pages > 0 and self.follow
        height = max(1, self.scrollable_content_region.height - 1)
        self.scroll_to(y=self.scroll_offset.y + pages * height, animate=False)

    def action_top(self) -> None:
        self.follow = False
        self.scroll_to(y=0, animate=False)

    def action_bottom(self) -> None:
        self.follow = True

    def on_mouse_scroll_up(self) -> None:
        self.follow = False

    # ------------------------------------------------------------------ rendering
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if index >= len(self._index):
            return Strip.blank(width, base)
        seq = self._index[index]
        record = self._cache.get(seq)
        if record is None:
            self._request_window(scroll_y)
            style = self.get_component_rich_style("log-view--placeholder")
            return Strip([Segment("…", style)]).extend_cell_length(width, base)
        text = self._line_text(record)
        strip = Strip(text.render(self.app.console), text.cell_len)
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_style(base)

    def _line_text(self, record: LogRecord) -> Text:
        text = Text(no_wrap=True, end="")
        text.append(record.at.astimezone().strftime("%H:%M:%S.%f")[:12], style="dim")
        level_style = LEVEL_STYLE.get(record.level, "")
        text.append(f" {record.level[:7]:<7} ", style=level_style)
        step = (record.step or "-")[:STEP_WIDTH]
        text.append(f"{step:<{STEP_WIDTH}} ", style="cyan")
        start = len(text)
        message_style = "red" if record.stream == "stderr" else level_style
        text.append(record.message, style=message_style)
        if self._pattern is not None:
            key = ("log-view--current" if record.seq == self._current_match
                   else "log-view--match")
            highlight = self.get_component_rich_style(key, partial=True)
            for match in self._pattern.finditer(record.message):
                text.stylize(highlight or Style(reverse=True), start + match.start(),
                             start + match.end())
        return text

    def _request_window(self, scroll_y: int) -> None:
        """Ask the tailer for the screen's missing lines, plus one screen either side."""
        height = max(1, self.scrollable_content_region.height)
        wanted = [seq for seq in self._index.window(scroll_y - height, scroll_y + 2 * height)
                  if seq not in self._pending and self._cache.get(seq) is None]
        if wanted:
            self._pending.update(wanted)
            self.tailer.fetch(wanted)

