"""Snapshots of the catalog and workflow screens at a fixed size on the fixture workflows.

Deterministic by construction: fixed theme, no cursor blink, no clock in the header, paths
shown relative to the scanned folder, and discovery awaited before the picture is taken.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from tui_harness import SIZE, fixture_app, loaded


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

    assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=open_fanout)


def test_workflow_screen_chain(snap_compare: Any) -> None:
    async def open_etl(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("down", "down")

    assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=open_etl)


def test_help_screen(snap_compare: Any) -> None:
    async def open_help(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("question_mark")

    assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=open_help)
