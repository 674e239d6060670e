"""The catalog: every discovered workflow in a filterable, sortable table, plus load errors.

The app owns discovery (a worker) and the resulting catalog; this screen watches the app's
``catalog`` and ``catalog_error`` attributes and only presents them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Header, Input

from spine_tui.config import current_settings
from spine_tui.widgets.catalog import (
    LoadErrors,
    WorkflowDetails,
    WorkflowRow,
    format_load_errors,
    matches,
    rows_from_catalog,
)
from spine_tui.widgets.catalog_table import WorkflowTable

from .workflow import WorkflowScreen

if TYPE_CHECKING:
    from textual.timer import Timer

    from engine import Catalog

HISTORY_REDRAW_SECONDS = 0.2


class CatalogScreen(Screen[None]):
    """Browse workflows: type to filter, 1–9/0 to sort, Enter to open one."""

    SUB_TITLE = "Catalog"
    AUTO_FOCUS = "#workflows"
    HELP = ("Press / and type to filter: each word's letters must appear in order in the "
            "name, domain or a tag, or the word in the description. Press s to sort by the "
            "next column, 1–9 and 0 (or click a header) for a given column, the same again "
            "to reverse. Enter opens the highlighted workflow; r runs it from there. Last "
            "run, success rate (of the recent finished runs) and the sparkline of recent "
            "durations come from the run store. Saved files reload by themselves; a file "
            "that breaks is marked ⚠ and its last good version stays usable.")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("enter", "open_workflow", "Open", show=False),
        Binding("r", "app.reload_catalog", "Reload"),
        Binding("escape", "leave_filter", "Leave filter", show=False),
        Binding("down", "leave_filter", "To the table", show=False),
    ]

    filter_text: reactive[str] = reactive("")

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[WorkflowRow] = []
        self._roots: tuple[str, ...] = ()
        self._loaded = False
        self._catalog: Catalog | None = None
        self._history_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        filter_input = Input(placeholder="Filter workflows (press /): letters of a name, "
                             "domain, tag or description", id="filter")
        filter_input.cursor_blink = current_settings().cursor_blink
        yield filter_input
        yield WorkflowTable(id="workflows")
        yield WorkflowDetails(id="details")
        yield LoadErrors(id="load-errors")
        yield Footer()

    @property
    def table(self) -> WorkflowTable:
        return self.query_one(WorkflowTable)

    @property
    def filter_input(self) -> Input:
        return self.query_one("#filter", Input)

    @property
    def details(self) -> WorkflowDetails:
        return self.query_one(WorkflowDetails)

    def on_mount(self) -> None:
        self.table.loading = True
        self.watch(self.app, "catalog", self._show_catalog)
        self.watch(self.app, "catalog_error", self._show_failure)
        self.watch(self.app, "stats", self._redraw_history, init=False)
        self.watch(self.app, "live_runs", self._live_changed, init=False)

    def _show_catalog(self, catalog: Catalog | None) -> None:
        if catalog is None:
            self.details.hint = "Loading workflows…"
            return
        self._loaded = True
        self._catalog = catalog
        self._stop_loading()
        self._rows = self._build_rows(catalog)
        self._roots = tuple(catalog.paths)
        self.query_one(LoadErrors).errors = format_load_errors(catalog.errors, catalog.paths)
        self._apply_filter()

    def _build_rows(self, catalog: Catalog) -> list[WorkflowRow]:
        app = self.app
        return rows_from_catalog(catalog, getattr(app, "stats", None),
                                 getattr(app, "live_runs", None))

    def _live_changed(self) -> None:
        """Progress of runs started here changes with every step: redraw at most five
        times a second."""
        if self._history_timer is None:
            self._history_timer = self.set_timer(HISTORY_REDRAW_SECONDS, self._redraw_history)

    def _redraw_history(self) -> None:
        self._history_timer = None
        if self._catalog is not None:
            self._rows = self._build_rows(self._catalog)
            self._apply_filter()

    def _show_failure(self, error: str) -> None:
        if error:
            self._stop_loading()
            self.query_one(LoadErrors).errors = (error,)
            self.details.hint = "Could not scan for workflows; see the error below."

    def _stop_loading(self) -> None:
        self.table.loading = False
        self.refresh_bindings()  # a loading widget hides its keys from the footer

    def watch_filter_text(self) -> None:
        if self._loaded:
            self._apply_filter()

    def _apply_filter(self) -> None:
        shown = tuple(row for row in self._rows if matches(row, self.filter_text))
        self.table.workflows = shown
        self.table.border_title = f"Workflows {len(shown)} of {len(self._rows)}"
        if not self._rows:
            where = ", ".join(self._roots) or "the scanned folders"
            self.details.hint = (f"No workflows found in {where}. Add .py or .yaml workflow "
                                 "files there, or start with: spine-tui PATH")
        elif not shown:
            self.details.hint = (f"No workflow matches {self.filter_text!r}; clear the filter to see "
                                 f"all {len(self._rows)}.")

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.table.focus()
        self.action_open_workflow()

    @on(WorkflowTable.WorkflowHighlighted)
    def _show_details(self, event: WorkflowTable.WorkflowHighlighted) -> None:
        self.details.row = event.row

    @on(WorkflowTable.WorkflowChosen)
    def _open_chosen(self, event: WorkflowTable.WorkflowChosen) -> None:
        self._open(event.row)

    def action_open_workflow(self) -> None:
        """Open the highlighted workflow's DAG and steps."""
        row = self.table.highlighted_row
        if row is not None:
            self._open(row)

    def _open(self, row: WorkflowRow) -> None:
        self.app.push_screen(WorkflowScreen(row))

    def action_focus_filter(self) -> None:
        """Move the cursor into the filter box."""
        self.filter_input.focus()

    def action_leave_filter(self) -> None:
        """Back from the filter box to the table (the filter stays applied)."""
        if self.filter_input.has_focus:
            self.table.focus()
