"""Analytics: success rate, duration percentiles, failures by category, daily trends and the
slowest steps — for every workflow together or one at a time.

``RunAnalytics`` aggregates inside SQLite; a worker runs the queries (pandas is imported
there, not at start-up) and posts one ``Report`` that this screen draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from engine import TREND_METRICS, RunAnalytics, RunStore
from spine_tui.widgets.charts import bar_chart, trend_table
from spine_tui.widgets.status import format_duration
from spine_tui.workbench import workbench

WINDOWS: tuple[int | None, ...] = (30, 7, 60, None)
"""Windows ``w`` cycles through, in days (None: all history)."""
ALL = "__all__"
TREND_FORMATS = {"runs": lambda v: f"{v:g}", "failures": lambda v: f"{v:g}",
                 "success_rate": lambda v: f"{v:.0%}", "duration_p50": format_duration}


@dataclass(frozen=True, slots=True)
class Report:
    """What the screen shows for one workflow (None: all) and window."""

    workflow: str | None
    window_days: int | None
    summary: dict[str, Any]
    trend_dates: tuple[str, ...] = ()
    trends: dict[str, list[float | None]] = field(default_factory=dict)
    slowest: list[dict[str, Any]] = field(default_factory=list)


def build_report(store: RunStore, workflow: str | None, window_days: int | None,
                 clock: Any) -> Report:
    """Every figure the screen shows, from ``RunAnalytics`` (slow: call it in a worker)."""
    analytics = RunAnalytics(store, clock=clock)
    summary = analytics.summary(workflow, window_days)
    frame = analytics.trending_frame(workflow, window_days or 30)
    trends = {metric: [None if isinstance(v, float) and math.isnan(v) else float(v)
                       for v in frame[metric].tolist()] for metric in TREND_METRICS}
    dates = tuple(stamp.date().isoformat() for stamp in frame.index)
    slowest = analytics.slowest_steps(workflow, window_days, limit=10)
    return Report(workflow, window_days, summary, dates, trends, slowest)


class AnalyticsScreen(Screen[None]):
    """Run analytics: pick a workflow on the left; w changes the window."""

    SUB_TITLE = "Analytics"
    AUTO_FOCUS = "#an-workflows"
    HELP = ("Figures over the stored runs of every process. Pick 'All workflows' or one "
            "workflow on the left (↑/↓). The summary gives the success rate (completed out "
            "of finished runs: completed, failed or interrupted) and the p50/p90/p99 "
            "durations of completed runs; the bars count failed steps by error category; "
            "the daily trends show runs, success rate, median duration and failures per UTC "
            "day (· marks a day with nothing to measure); the table lists the steps that "
            "take longest on average. w cycles the window (30, 7, 60 days, all history); "
            "r reads the store again.")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "cycle_window", "Window"),
        Binding("r", "refresh", "Refresh"),
    ]

    window: reactive[int | None] = reactive(30)
    workflow: reactive[str | None] = reactive(None)

    @dataclass
    class Loaded(Message):
        report: Report

    @dataclass
    class LoadFailed(Message):
        error: str

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="an-main"):
            workflows = OptionList(Option("All workflows", id=ALL), id="an-workflows")
            workflows.border_title = "Workflows"
            yield workflows
            with VerticalScroll(id="an-body"):
                yield Static(Text("Opening the run store…", style="italic"), id="an-summary")
                failures = Static(id="an-failures")
                failures.border_title = "Failed steps by category"
                yield failures
                trends = Static(id="an-trends")
                trends.border_title = "Daily trends"
                yield trends
                slowest: DataTable[Any] = DataTable(id="an-slowest", cursor_type="row", zebra_stripes=True)
                slowest.border_title = "Slowest steps (mean of completed runs)"
                yield slowest
        yield Footer()

    @property
    def workflow_list(self) -> OptionList:
        return self.query_one("#an-workflows", OptionList)

    def on_mount(self) -> None:
        table = self.query_one("#an-slowest", DataTable)
        table.add_columns("workflow", "step", "runs", "mean", "max", "total")
        self.workflow_list.highlighted = 0
        self.watch(self.app, "stats", self._list_workflows)
        self.watch(self.app, "catalog", self._list_workflows)
        self.watch(self.app, "store", self._store_ready)

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def _store_ready(self, store: RunStore | None) -> None:
        if store is not None:
            self.action_refresh()

    def _list_workflows(self) -> None:
        bench = workbench(self.app)
        names = set(bench.stats)
        if bench.catalog is not None:
            names.update(bench.catalog.names())
        listing = self.workflow_list
        current = self.workflow
        known = [listing.get_option_at_index(i).id for i in range(listing.option_count)]
        wanted = [ALL, *sorted(names)]
        if known == wanted:
            return
        listing.clear_options()
        listing.add_options([Option("All workflows", id=ALL),
                             *(Option(name, id=name) for name in sorted(names))])
        listing.highlighted = wanted.index(current) if current in wanted else 0

    @on(OptionList.OptionHighlighted, "#an-workflows")
    def _pick(self, event: OptionList.OptionHighlighted) -> None:
        chosen = event.option.id
        self.workflow = None if chosen in (None, ALL) else chosen

    def watch_workflow(self) -> None:
        self.action_refresh()

    def watch_window(self) -> None:
        self.action_refresh()

    def action_cycle_window(self) -> None:
        """Show the next window: 30 days, 7 days, 60 days, all history."""
        index = WINDOWS.index(self.window) if self.window in WINDOWS else -1
        self.window = WINDOWS[(index + 1) % len(WINDOWS)]

    def action_refresh(self) -> None:
        """Read the figures from the store again."""
        bench = workbench(self.app)
        if bench.store is not None and self.is_mounted:
            self._load(bench.store, self.workflow, self.window, bench.clock)

    @work(thread=True, exclusive=True, exit_on_error=False, group="analytics")
    def _load(self, store: RunStore, workflow: str | None, window: int | None,
              clock: Any) -> None:
        try:
            self.post_message(self.Loaded(build_report(store, workflow, window, clock)))
        except Exception as exc:  # a broken store is shown, the screen stays usable
            self.post_message(self.LoadFailed(f"{type(exc).__name__}: {exc}"))

    @on(LoadFailed)
    def _failed(self, message: LoadFailed) -> None:
        self.notify(message.error, title="Analytics", severity="error", timeout=6)

    @on(Loaded)
    def _show(self, message: Loaded) -> None:
        report = message.report
        if report.workflow != self.workflow or report.window_days != self.window:
            return  # an answer to a choice already changed
        self.query_one("#an-summary", Static).update(summary_text(report))
        self.query_one("#an-failures", Static).update(
            bar_chart(report.summary["failure_breakdown"], width=36))
        trends = self.query_one("#an-trends", Static)
        trends.update(trend_table(report.trends, report.trend_dates, TREND_FORMATS))
        trends.border_title = f"Daily trends, last {len(report.trend_dates)} days (UTC)"
        table = self.query_one("#an-slowest", DataTable)
        table.clear()
        for row in report.slowest:
            table.add_row(row["workflow"], row["step"], str(row["runs"]),
                          format_duration(row["avg_seconds"]),
                          format_duration(row["max_seconds"]),
                          format_duration(row["total_seconds"]))


def summary_text(report: Report) -> Text:
    """Who, which window, how many runs, the success rate and the duration percentiles."""
    s = report.summary
    text = Text.assemble((report.workflow or "All workflows", "bold"), "  ")
    window = f"last {report.window_days} days" if report.window_days else "all history"
    runs = "1 run" if s["total_runs"] == 1 else f"{s['total_runs']} runs"
    text.append(f"{window} · {runs}, {s['finished_runs']} finished",
                style="dim")
    text.append("\nsuccess rate ")
    rate = s["success_rate"]
    style = "green" if rate >= 0.9 else "yellow" if rate >= 0.5 else "bold red"
    text.append(f"{rate:.1%}" if s["finished_runs"] else "—", style=style)
    text.append("   duration ")
    for key, value in s["duration_seconds"].items():
        text.append(f"{key} ", style="dim")
        text.append(f"{format_duration(value)}  ")
    by_status = s.get("by_status") or {}
    if by_status:
        text.append("\n" + "  ".join(f"{k} {v}" for k, v in by_status.items()), style="dim")
    return text
