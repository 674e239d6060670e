"""The analytics screen: figures from ``RunAnalytics`` over a store with fixed runs, per
workflow and overall, with a frozen clock; the window key; charts as text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from store_rows import ANALYTICS_NOW, add_analytics_rows
from textual.pilot import Pilot
from textual.widgets import DataTable
from tui_harness import drive, fixture_app, plain, settled

from screens import AnalyticsScreen
from spine_tui.widgets.charts import bar_chart, hbar, sparkline


async def open_analytics(pilot: Pilot[Any]) -> AnalyticsScreen:
    await pilot.press("A")
    await settled(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, AnalyticsScreen)
    return screen


def test_overall_and_per_workflow_figures(isolated_store: Path) -> None:
    add_analytics_rows(isolated_store)

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_analytics(pilot)
        summary = plain(screen.query_one("#an-summary"))
        assert "All workflows" in summary and "20 runs, 20 finished" in summary
        assert "success rate 65.0%" in summary
        failures = plain(screen.query_one("#an-failures"))
        assert "TRANSIENT" in failures and "DATA_QUALITY" in failures and "█" in failures
        trends = plain(screen.query_one("#an-trends"))
        assert "runs" in trends and "success rate" in trends and "duration p50" in trends
        assert "… 2026-01-06" in trends and "█" in trends  # the frozen clock
        table = screen.query_one("#an-slowest", DataTable)
        assert table.row_count == 4 and table.get_row_at(0)[1] == "transform"

        options = [screen.workflow_list.get_option_at_index(i).id
                   for i in range(screen.workflow_list.option_count)]
        assert options[0] == "__all__" and "tui.etl.daily" in options
        screen.workflow_list.highlighted = options.index("tui.market.fanout")
        await settled(pilot)
        summary = plain(screen.query_one("#an-summary"))
        assert "tui.market.fanout" in summary and "10 runs" in summary
        assert table.row_count == 2

        await pilot.press("w")  # 7 days: the same runs; then 60, then all
        await settled(pilot)
        assert screen.window == 7 and "last 7 days" in plain(screen.query_one("#an-summary"))
        assert "last 7 days" in str(screen.query_one("#an-trends").border_title)

    drive(fixture_app(now=ANALYTICS_NOW), scenario)


def test_an_empty_store_says_so() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_analytics(pilot)
        assert "0 runs" in plain(screen.query_one("#an-summary"))
        assert "no failures" in plain(screen.query_one("#an-failures"))

    drive(fixture_app(now=ANALYTICS_NOW), scenario)


def test_chart_helpers() -> None:
    assert hbar(4, 8, 4) == "██" and hbar(1, 8, 1) == "▏" and hbar(0, 8, 4) == ""
    assert sparkline([0, None, 1.0], 0, 1).plain == "▁·█"
    assert sparkline([None, None]).plain == "··"
    assert "no failures" in str(bar_chart({}))
