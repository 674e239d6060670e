"""Snapshots of every screen at a fixed size on the fixture workflows.

Deterministic by construction: fixed theme, no cursor blink, no clock in the header, paths
shown relative to the scanned folder, stored runs with fixed ids and timestamps shown in
UTC, and discovery and the store reads awaited before the picture is taken.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from store_rows import (
    ANALYTICS_NOW,
    T0,
    add_analytics_rows,
    add_run_detail,
    add_runs,
    many_runs,
    publish_two_versions,
)
from textual.pilot import Pilot
from textual.widgets import DataTable
from tui_harness import RUN_FIXTURES, SIZE, fixture_app, loaded, wait_until

from screens import RunDetailScreen
from spine_tui.widgets.logview import LogView
from spine_tui.widgets.runs_table import RunsTable


def test_catalog_screen(snap_compare: Any) -> None:
    assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=loaded)


def test_catalog_filtered_and_sorted(snap_compare: Any) -> None:
    async def filter_and_sort(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("4", "4", "slash", *"ou", "escape")  # fanout and "shouts"

    assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=filter_and_sort)


def test_workflow_screen_fan_out_fan_in(snap_compare: Any) -> None:
    async def open_fanout(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("slash", *"fanout", "enter")
        await pilot.pause()
        await pilot.press("down", "down", "down", "down")
        await loaded(pilot)  # the selected step's last output is read in a worker

    assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=open_fanout)


def test_workflow_screen_chain(snap_compare: Any) -> None:
    async def open_etl(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("down", "down")
        await loaded(pilot)  # the selected step's last output is read in a worker

    assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=open_etl)


def test_help_screen(snap_compare: Any) -> None:
    async def open_help(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("question_mark")

    assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=open_help)


def test_runs_screen(snap_compare: Any, isolated_store: Path) -> None:
    add_runs(isolated_store, many_runs(40, ("tui.etl.daily", "tui.market.fanout")))
    add_runs(isolated_store, [{"run_id": "run999999", "workflow": "tui.etl.daily",
                               "status": "failed", "created_at": T0 + 60 * 41,
                               "error": "transform: KeyError 'total'",
                               "error_step": "transform"}])

    async def open_runs(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("R")
        await wait_until(pilot, lambda: pilot.app.screen.query_one(RunsTable).run_at(0),
                         what="the first page")
        await pilot.press("down")

    assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=open_runs)


def test_run_detail_screen(snap_compare: Any, isolated_store: Path) -> None:
    run_id = add_run_detail(isolated_store)

    async def open_detail(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        pilot.app.push_screen(RunDetailScreen(run_id))
        await wait_until(pilot, lambda: getattr(pilot.app.screen, "run", None),
                         what="the run")
        logs = pilot.app.screen.query_one(LogView)
        await wait_until(pilot, lambda: logs.line_count == 4 and all(logs.visible_records()),
                         what="the log lines")
        await pilot.pause()

    assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=open_detail)


def test_playground_on_a_stored_run_at_its_failed_step(snap_compare: Any,
                                                       isolated_store: Path) -> None:
    run_id = add_run_detail(isolated_store, source=str(RUN_FIXTURES / "tui_run.py"))

    async def open_playground(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        pilot.app.push_screen(RunDetailScreen(run_id))
        await wait_until(pilot, lambda: getattr(pilot.app.screen, "run", None),
                         what="the run")
        await pilot.press("d")
        await loaded(pilot)
        await pilot.press("space")  # a breakpoint on the failed step
        await loaded(pilot)

    assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=open_playground)


def test_analytics_screen(snap_compare: Any, isolated_store: Path) -> None:
    add_analytics_rows(isolated_store)

    async def open_analytics(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("A")
        await loaded(pilot)
        # the report arrives as a message after its worker ends: wait for the table it fills
        await wait_until(pilot, lambda: pilot.app.screen.query_one(
            "#an-slowest", DataTable).row_count > 0, what="the slowest-steps table filled")

    assert snap_compare(fixture_app(now=ANALYTICS_NOW), terminal_size=SIZE,
                        run_before=open_analytics)


def test_versions_screen(snap_compare: Any, isolated_store: Path) -> None:
    publish_two_versions(isolated_store)

    async def open_versions(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("enter")  # tui.etl.daily
        await pilot.pause()
        await pilot.press("V")
        await loaded(pilot)

    assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=open_versions)


def test_workflow_screen_with_a_map_opened(snap_compare: Any) -> None:
    from tui_harness import FIXTURES

    async def open_map(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("slash", *"orders", "enter")
        await pilot.pause()
        # the map (score_each) opens in place, the sub-workflow (settle, ▸) stays closed
        await pilot.press("down", "g", "enter", "right")
        await loaded(pilot)

    assert snap_compare(fixture_app(FIXTURES.parent / "tui_composite"), terminal_size=SIZE,
                        run_before=open_map)


def test_run_detail_graph_as_it_ran(snap_compare: Any, isolated_store: Path) -> None:
    from adaptive_rows import add_adaptive_run

    run_id = add_adaptive_run(isolated_store)

    async def open_graph(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        screen = RunDetailScreen(run_id)
        await pilot.app.push_screen(screen)
        await wait_until(pilot, lambda: screen.run is not None, what="the run")
        logs = screen.query_one(LogView)
        await wait_until(pilot, lambda: logs.line_count == 1 and all(logs.visible_records()),
                         what="the log line")
        await pilot.press("g")  # audit drawn "+ inserted", report skipped, changes beside
        await wait_until(pilot, lambda: screen.graph is not None, what="the graph")
        await pilot.pause()

    assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=open_graph)


def test_playground_stepped_into_a_map_item(snap_compare: Any) -> None:
    from playground_flows import registered
    from textual.widgets import Input

    from screens import PlaygroundScreen

    async def step_in(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.app.push_screen(PlaygroundScreen(workflow))
        for key in ("n", "n", "s", "n", "s", "n"):  # into fan, over fan[0], into fan[1]
            await pilot.press(key)
            await loaded(pilot)
        await pilot.press("B")  # a condition on the item's sub-workflow step
        pilot.app.screen.query_one(Input).value = 'outputs["scale"]["scaled"] > 5'
        await pilot.press("enter")
        await loaded(pilot)

    with registered() as workflow:
        assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=step_in)


def test_run_params_dialog(snap_compare: Any) -> None:
    async def open_dialog(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("enter")  # tui.etl.daily
        await loaded(pilot)
        await pilot.press("r")
        await loaded(pilot)

    assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=open_dialog)


def test_workflow_yaml_screen(snap_compare: Any) -> None:
    async def open_yaml(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("enter")  # tui.etl.daily
        await loaded(pilot)
        await pilot.press("y")
        await loaded(pilot)

    assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=open_yaml)
