"""The catalog screen: discovery fills the table, the filter narrows it, keys sort it, broken
files are listed in place, and Enter/Escape move to and from a workflow."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from textual.message import Message
from textual.pilot import Pilot
from tui_harness import FIXTURE_NAMES, FIXTURES, drive, fixture_app, loaded

import spine_tui.app as app_module
from screens import CatalogScreen, HelpScreen, WorkflowScreen
from spine_tui.messages import CatalogLoaded
from spine_tui.widgets.catalog import LoadErrors, WorkflowDetails
from spine_tui.widgets.catalog_table import WorkflowTable
from spine_tui.widgets.steps import StepDetails, StepList


def table(pilot: Pilot[Any]) -> WorkflowTable:
    return pilot.app.screen.query_one(WorkflowTable)


def shown(pilot: Pilot[Any]) -> list[str]:
    return [row.name for row in table(pilot).shown_rows]


def details_text(pilot: Pilot[Any]) -> str:
    return str(pilot.app.screen.query_one(WorkflowDetails).render())


def test_discovery_worker_fills_the_table_with_the_fixture_workflows() -> None:
    posted: list[Message] = []

    async def scenario(pilot: Pilot[Any]) -> None:
        assert isinstance(pilot.app.screen, CatalogScreen)
        assert shown(pilot) == FIXTURE_NAMES
        assert table(pilot).row_count == 3
        etl = [str(cell) for cell in table(pilot).get_row("tui.etl.daily")]
        assert etl == ["tui.etl.daily", "finance", "etl, daily", "4", "v3", "never", "—", "",
                       "sequential", "tui_etl.py"]
        assert table(pilot).get_row("tui.market.fanout")[8] == "parallel ×3"
        assert "Nightly ledger load" in details_text(pilot)
        assert "tui_etl.py (python)" in details_text(pilot)
        assert table(pilot).border_title == "Workflows 3 of 3"

    drive(fixture_app(), scenario, message_hook=posted.append)
    assert sum(isinstance(m, CatalogLoaded) for m in posted) == 1


def test_typing_in_the_filter_narrows_the_rows_as_you_type() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("slash")
        assert pilot.app.focused is pilot.app.screen.query_one("#filter")
        await pilot.press("m", "k", "t")  # fuzzy: letters in order, "market"
        await pilot.pause()
        assert shown(pilot) == ["tui.market.fanout"]
        assert table(pilot).border_title == "Workflows 1 of 3"
        for _ in range(3):
            await pilot.press("backspace")
        await pilot.press(*"DEMO")  # case-insensitive, matches a tag
        await pilot.pause()
        assert shown(pilot) == ["tui.hello"]
        await pilot.press(*"zz")
        await pilot.pause()
        assert shown(pilot) == []
        assert "No workflow matches 'DEMOzz'" in details_text(pilot)

    drive(fixture_app(), scenario)


def test_filter_words_each_match_some_field() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("slash", *"finance nightly")
        await pilot.pause()
        assert shown(pilot) == ["tui.etl.daily"]

    drive(fixture_app(), scenario)


def test_number_keys_sort_by_column_and_pressing_again_reverses() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("4")  # steps
        assert shown(pilot) == ["tui.hello", "tui.etl.daily", "tui.market.fanout"]
        assert table(pilot).column_label("steps") == "Steps ▲"
        await pilot.press("4")
        assert shown(pilot) == ["tui.market.fanout", "tui.etl.daily", "tui.hello"]
        assert table(pilot).column_label("steps") == "Steps ▼"
        await pilot.press("2")  # domain
        assert shown(pilot) == ["tui.hello", "tui.etl.daily", "tui.market.fanout"]

    drive(fixture_app(), scenario)


def test_s_sorts_by_the_next_column() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("s")
        assert table(pilot).sort_column == "domain"
        assert shown(pilot) == ["tui.hello", "tui.etl.daily", "tui.market.fanout"]
        await pilot.press("s")
        assert table(pilot).sort_column == "tags"

    drive(fixture_app(), scenario)


def test_clicking_a_column_header_sorts_by_it() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        widget = table(pilot)
        version_x = widget.column_region("version").x
        await pilot.click(WorkflowTable, offset=(version_x + 1 + 1, 0))  # padding, 2nd cell
        await pilot.pause()
        assert widget.sort_column == "version"
        assert shown(pilot) == ["tui.hello", "tui.market.fanout", "tui.etl.daily"]

    drive(fixture_app(), scenario)


def test_sorting_keeps_the_highlighted_workflow() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("down")
        assert table(pilot).highlighted_row.name == "tui.hello"
        await pilot.press("4", "4")
        assert table(pilot).highlighted_row.name == "tui.hello"
        assert "Greets, then shouts." in details_text(pilot)

    drive(fixture_app(), scenario)


def test_broken_files_show_their_errors_with_file_and_line_and_the_rest_still_load() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        errors = pilot.app.screen.query_one(LoadErrors)
        assert errors.display
        python_error, yaml_error = errors.errors
        assert python_error.startswith("tui_broken.py:12: ")
        assert "depends on unknown step 'extrct'" in python_error
        assert "did you mean 'extract'?" in python_error
        assert yaml_error.startswith("tui_broken.yaml:10: invalid YAML")
        assert errors.border_title == "⚠ 2 files could not be loaded"
        rendered = str(errors.render())
        assert "tui_broken.py:12:" in rendered and "tui_broken.yaml:10:" in rendered
        assert shown(pilot) == FIXTURE_NAMES

    drive(fixture_app(), scenario)


def test_no_errors_section_when_every_file_loads(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "tui_etl.py", tmp_path / "tui_etl.py")

    async def scenario(pilot: Pilot[Any]) -> None:
        assert shown(pilot) == ["tui.etl.daily"]
        assert not pilot.app.screen.query_one(LoadErrors).display

    drive(fixture_app(tmp_path), scenario)


def test_empty_folder_explains_what_to_do(tmp_path: Path) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        assert shown(pilot) == []
        assert "No workflows found in" in details_text(pilot)
        assert "spine-tui PATH" in details_text(pilot)

    drive(fixture_app(tmp_path), scenario)


def test_reload_picks_up_a_new_file(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "tui_etl.py", tmp_path / "tui_etl.py")

    async def scenario(pilot: Pilot[Any]) -> None:
        assert shown(pilot) == ["tui.etl.daily"]
        shutil.copy(FIXTURES / "tui_fanout.py", tmp_path / "tui_fanout.py")
        await pilot.press("r")
        await loaded(pilot)
        assert shown(pilot) == FIXTURE_NAMES

    drive(fixture_app(tmp_path), scenario)


def test_a_failed_scan_is_shown_not_raised(monkeypatch) -> None:
    def explode(paths: object) -> None:
        raise PermissionError("cannot read /secret")

    monkeypatch.setattr(app_module, "discover", explode)

    async def scenario(pilot: Pilot[Any]) -> None:
        assert pilot.app.catalog_error == "PermissionError: cannot read /secret"
        errors = pilot.app.screen.query_one(LoadErrors)
        assert errors.display and "cannot read /secret" in errors.errors[0]
        assert "Could not scan" in details_text(pilot)

    drive(fixture_app(), scenario)


def test_enter_opens_the_workflow_screen_with_its_steps_and_escape_returns() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("slash", *"fanout", "enter")
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, WorkflowScreen)
        assert screen.sub_title == "tui.market.fanout"
        steps = screen.query_one(StepList)
        assert [steps.get_option_at_index(i).id for i in range(steps.option_count)] == [
            "fetch", "prices", "volumes", "news", "merge", "publish"]
        assert pilot.app.focused is steps
        fields = dict(screen.query_one(StepDetails).fields)
        assert fields["type"] == "function"
        assert fields["depends on"].startswith("— (a root")

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, CatalogScreen)
        assert pilot.app.focused is table(pilot)  # so q, ? and the sort keys work at once
        assert shown(pilot) == ["tui.market.fanout"]  # the filter is kept

    drive(fixture_app(), scenario)


def test_enter_on_the_table_opens_the_highlighted_workflow() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, WorkflowScreen)
        assert pilot.app.screen.sub_title == "tui.hello"

    drive(fixture_app(), scenario)


def test_help_lists_the_screen_keys_and_closes_with_escape() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = pilot.app.screen
        assert isinstance(help_screen, HelpScreen)
        rows = dict(help_screen.sections[0][1])
        assert rows["/"] == "Filter"
        assert rows["r"] == "Reload"
        assert rows["q"] == "Quit"
        assert rows["^t"] == "Dark/light"
        assert "Sort by steps" in dict(help_screen.sections[1][1]).values()
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, CatalogScreen)

    drive(fixture_app(), scenario)


def test_ctrl_t_toggles_dark_and_light() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        assert pilot.app.current_theme.dark
        await pilot.press("ctrl+t")
        assert pilot.app.theme == "textual-light"
        await pilot.press("ctrl+t")
        assert pilot.app.theme == "textual-dark"

    drive(fixture_app(), scenario)


def test_command_palette_offers_the_screen_actions() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        titles = [c.title for c in pilot.app.get_system_commands(pilot.app.screen)]
        for title in ("Filter", "Reload", "Help", "Dark/light", "Sort by name", "Quit"):
            assert title in titles
        command = next(c for c in pilot.app.get_system_commands(pilot.app.screen)
                       if c.title == "Sort by steps")
        await command.callback()
        assert table(pilot).sort_column == "steps"

    drive(fixture_app(), scenario)


def test_q_quits() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("q")
        await pilot.pause()
        assert pilot.app.return_code == 0
        assert not pilot.app.is_running

    drive(fixture_app(), scenario)
