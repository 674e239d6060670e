"""Runs: every stored run, newest first, filtered by workflow, status and time, refreshed live.

The table is virtual (``RunsTable``); a worker loop owned by this screen answers its page
requests with ``list_runs(limit, offset)`` and re-reads the count and the newest page about
once a second while the screen is shown, so runs from any process appear by themselves.
A time window of durations ("last hour") is resolved against the app's clock at each
refresh, so it keeps moving; pages read between refreshes use that refresh's bounds.
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field, replace
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Select, Static
from textual.worker import get_current_worker

from engine import RunRecord, RunStatus, RunStore
from engine.store import TimeWindow, TimeWindowError, count_runs
from spine_tui.config import current_settings
from spine_tui.widgets.runs_table import PAGE_SIZE, RunsHeader, RunsTable
from spine_tui.widgets.status import format_duration, format_time, status_text
from spine_tui.workbench import workbench

from .run_detail import RunDetailScreen

_REFRESH = -1  # queue sentinel: re-read the count and the newest page now
CUSTOM = "custom"
TIME_PRESETS: tuple[tuple[str, str], ...] = (
    ("Last hour", "1h"), ("Last 24 h", "24h"), ("Last 7 days", "7d"), ("Last 30 days", "30d"),
    ("Custom…", CUSTOM))
"""The time filter's choices; its blank ("Any time") shows every run."""


@dataclass(frozen=True, slots=True)
class RunQuery:
    """The filters of the runs screen; ``generation`` tells answers to old filters apart."""

    workflow: str | None = None
    status: str | None = None
    window: TimeWindow = field(default_factory=TimeWindow)
    generation: int = 0

    def same_filters(self, other: RunQuery) -> bool:
        return (self.workflow, self.status, self.window) == (other.workflow, other.status,
                                                             other.window)


class RunsScreen(Screen[None]):
    """Browse run history: ↑/↓ and PgUp/PgDn move, Enter opens a run, w/t/p filter."""

    SUB_TITLE = "Runs"
    AUTO_FOCUS = "#runs"
    HELP = ("Every stored run, newest first — runs started here, by spine-engine or by any "
            "other process writing the same store appear within a second. w filters by "
            "workflow, t by status, p by when the run was created: the last hour, 24 h, 7 or "
            "30 days, or Custom… to type a duration (2h, 3d), a date (2026-01-31), a date "
            "and time (2026-01-31T08:00) or a range (3d..1d, 2026-01-01..2026-01-31); a "
            "clears every filter. The table's title names the active filters. Enter opens a "
            "run: its step timeline, graph, attempts, errors, outputs and live log tail. The "
            "list loads a page at a time, so it stays fast with hundreds of thousands of "
            "runs.")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "focus_workflow", "Workflow filter"),
        Binding("t", "focus_status", "Status filter"),
        Binding("p", "focus_time", "Time filter"),
        Binding("a", "clear_filters", "All runs"),
        Binding("escape", "to_table", "To the table", show=False),
    ]

    @dataclass
    class PageLoaded(Message):
        generation: int
        page: int
        runs: list[RunRecord]
        total: int | None

    @dataclass
    class LoadFailed(Message):
        error: str

    def __init__(self) -> None:
        super().__init__()
        self.query_state = RunQuery()
        self._requests: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._visible = True
        self._names: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="run-filters"):
            yield Select[str]([], prompt="All workflows", id="workflow-filter")
            yield Select[str]([(s.value, s.value) for s in RunStatus],
                              prompt="All statuses", id="status-filter")
            yield Select[str](TIME_PRESETS, prompt="Any time", id="time-filter")
            custom = Input(placeholder="2h, 3d, 2026-01-31 or 3d..1d", id="time-input")
            custom.cursor_blink = current_settings().cursor_blink
            yield custom
            yield Static(id="runs-count")
        yield Static(id="runs-problem")
        with Vertical(id="runs-box"):
            yield RunsHeader(id="runs-header")
            yield RunsTable(id="runs")
        yield Static(id="run-preview")
        yield Footer()

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    def on_mount(self) -> None:
        self.query_one("#time-input").display = False
        self.watch(self.app, "store", self._store_ready)
        self.watch(self.app, "store_error", self._store_failed)
        self.watch(self.app, "stats", self._workflow_options)
        self.watch(self.app, "catalog", self._workflow_options)

    def on_screen_suspend(self) -> None:
        self._visible = False

    def on_screen_resume(self) -> None:
        self._visible = True
        self._requests.put(_REFRESH)

    # ------------------------------------------------------------------ data
    def _store_ready(self, store: RunStore | None) -> None:
        if store is not None:
            self._show_problem("")
            self._poll(store)

    def _store_failed(self, error: str) -> None:
        self._show_problem(error)

    def _show_problem(self, error: str) -> None:
        problem = self.query_one("#runs-problem", Static)
        problem.update(Text(error, style="bold red"))
        problem.display = bool(error)

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs-poll")
    def _poll(self, store: RunStore) -> None:
        """Answer page requests; re-read the newest page every ``refresh_seconds``."""
        worker = get_current_worker()
        bench = workbench(self.app)
        interval = bench.settings.refresh_seconds
        next_refresh = 0.0
        refreshed_at = bench.clock()  # "now" for the time window until the next refresh
        while not worker.is_cancelled:
            try:
                page = self._requests.get(timeout=max(0.0, next_refresh - time.monotonic()))
            except queue.Empty:
                page = _REFRESH
            query = self.query_state
            try:
                if page == _REFRESH or time.monotonic() >= next_refresh:
                    next_refresh = time.monotonic() + interval
                    if self._visible or page == _REFRESH:
                        refreshed_at = bench.clock()
                        since, until = query.window.bounds(refreshed_at)
                        total = count_runs(store, query.workflow, query.status, since, until)
                        runs = store.list_runs(query.workflow, query.status, limit=PAGE_SIZE,
                                               since=since, until=until)
                        self.post_message(self.PageLoaded(query.generation, 0, runs, total))
                if page > 0:
                    since, until = query.window.bounds(refreshed_at)
                    runs = store.list_runs(query.workflow, query.status, limit=PAGE_SIZE,
                                           offset=page * PAGE_SIZE, since=since, until=until)
                    self.post_message(self.PageLoaded(query.generation, page, runs, None))
            except TimeWindowError as exc:  # a mixed range (2026-01-01..1d) turned around
                self.post_message(self.LoadFailed(f"time filter: {exc}"))
                time.sleep(interval)
            except Exception as exc:  # keep polling: a locked or busy store recovers
                self.post_message(self.LoadFailed(f"reading runs from {store.path}: {exc}"))
                time.sleep(interval)

    @on(PageLoaded)
    def _page_loaded(self, event: PageLoaded) -> None:
        if event.generation != self.query_state.generation:
            return
        if self.query_one("#runs-problem").display:
            self._show_problem("")
        self.table.show_page(event.page, event.runs, event.total)
        if event.total is not None:
            self._show_count(event.total)

    @on(LoadFailed)
    def _load_failed(self, event: LoadFailed) -> None:
        self._show_problem(event.error)

    @on(RunsTable.PageWanted)
    def _page_wanted(self, event: RunsTable.PageWanted) -> None:
        self._requests.put(event.page if event.page > 0 else _REFRESH)

    def _show_count(self, total: int) -> None:
        query = self.query_state
        where = [f"workflow {query.workflow}"] if query.workflow else []
        if query.status:
            where.append(f"status {query.status}")
        if not query.window.is_open:
            where.append(query.window.label)
        suffix = f" ({', '.join(where)})" if where else ""
        noun = "run" if total == 1 else "runs"
        # the filters are named once, in the table's title; the count stays short enough
        # to fit beside the filter boxes on a narrow terminal
        self.query_one("#runs-count", Static).update(f"{total:,} {noun}")
        self.query_one("#runs-box").border_title = f"Runs{suffix}"

    # ------------------------------------------------------------------ filters
    def _workflow_options(self) -> None:
        bench = workbench(self.app)
        names = set(bench.stats)
        if bench.catalog is not None:
            names.update(bench.catalog.names())
        if names == self._names:
            return
        self._names = names
        select = self.query_one("#workflow-filter", Select)
        current = select.value
        select.set_options([(name, name) for name in sorted(names)])
        if isinstance(current, str) and current in names:
            select.value = current

    @on(Select.Changed, "#workflow-filter, #status-filter")
    def _filter_changed(self) -> None:
        workflow = self.query_one("#workflow-filter", Select).value
        status = self.query_one("#status-filter", Select).value
        self._apply(replace(self.query_state, workflow=workflow if isinstance(workflow, str)
                            else None, status=status if isinstance(status, str) else None))

    @on(Select.Changed, "#time-filter")
    def _time_changed(self, event: Select.Changed) -> None:
        custom = self.query_one("#time-input", Input)
        if event.value == CUSTOM:
            custom.value = self.query_state.window.text
            custom.display = True
            custom.focus()
            return
        custom.display = False
        window = TimeWindow.parse(event.value) if isinstance(event.value, str) else TimeWindow()
        self._apply(replace(self.query_state, window=window))

    @on(Input.Submitted, "#time-input")
    def _custom_time(self, event: Input.Submitted) -> None:
        """Apply a typed window; a bad one is explained and stays for fixing."""
        try:
            window = TimeWindow.parse(event.value)
        except TimeWindowError as exc:
            self.notify(str(exc), title="Time filter", severity="error", timeout=6)
            return
        self._apply(replace(self.query_state, window=window))
        self.table.focus()

    def _apply(self, query: RunQuery) -> None:
        """Show the runs ``query`` selects, from the top (nothing to do if unchanged)."""
        if query.same_filters(self.query_state):
            return
        self.query_state = replace(query, generation=self.query_state.generation + 1)
        self.table.reset(0)
        self._requests.put(_REFRESH)

    def show_workflow(self, name: str | None) -> None:
        """Filter to one workflow's runs (None or an unknown name: all)."""
        select = self.query_one("#workflow-filter", Select)
        if name is None or name not in self._names:
            select.clear()
        else:
            select.value = name

    def action_focus_workflow(self) -> None:
        """Pick a workflow to show only its runs."""
        self.query_one("#workflow-filter", Select).focus()

    def action_focus_status(self) -> None:
        """Pick a status to show only runs that ended (or are) in it."""
        self.query_one("#status-filter", Select).focus()

    def action_focus_time(self) -> None:
        """Pick a time window (or Custom… to type one) to show only runs created in it."""
        self.query_one("#time-filter", Select).focus()

    def action_clear_filters(self) -> None:
        """Show all runs again."""
        self.query_one("#workflow-filter", Select).clear()
        self.query_one("#status-filter", Select).clear()
        self.query_one("#time-filter", Select).clear()
        custom = self.query_one("#time-input", Input)
        custom.value = ""
        custom.display = False
        self._apply(RunQuery())
        self.table.focus()

    def action_to_table(self) -> None:
        self.table.focus()

    # ------------------------------------------------------------------ selection
    @on(RunsTable.RunHighlighted)
    def _preview(self, event: RunsTable.RunHighlighted) -> None:
        run = event.run
        preview = self.query_one("#run-preview", Static)
        if run is None:
            preview.update("")
            return
        text = Text.assemble((run.workflow, "bold"), "  ", status_text(str(run.status)),
                             f"  run {run.run_id}  started {format_time(run.created_at)}"
                             f"  took {format_duration(run.duration_seconds)}")
        if run.params:
            text.append(f"\nparams {run.params}", style="dim")
        if run.error:
            text.append(f"\n{run.error_step + ': ' if run.error_step else ''}{run.error}",
                        style="red")
        preview.update(text)

    @on(RunsTable.RunChosen)
    def _open(self, event: RunsTable.RunChosen) -> None:
        self.app.push_screen(RunDetailScreen(event.run.run_id))
