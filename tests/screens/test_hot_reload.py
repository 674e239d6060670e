"""Hot reload: a saved workflow file updates the catalog and an open workflow screen; a
broken save shows its error (file:line) in place and the last good version stays usable."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from tui_harness import FIXTURES, drive, fixture_app, open_workflow, settled, wait_until

from engine import WorkflowVersionStore
from engine.discovery import Catalog, discover, load_file
from engine.hot_reload import catalog_source, is_workflow_file, merge_reload
from spine_tui.widgets.catalog import LoadErrors
from spine_tui.widgets.catalog_table import WorkflowTable
from spine_tui.widgets.dag import DagCanvas


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_merge_reload_replaces_keeps_last_good_and_removes(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "tui_etl.py", tmp_path / "tui_etl.py")
    shutil.copy(FIXTURES / "tui_fanout.py", tmp_path / "tui_fanout.py")
    catalog = discover([tmp_path])
    etl = str(tmp_path / "tui_etl.py")
    edit(tmp_path / "tui_etl.py", "version=3", "version=4")
    workflows, errors = load_file(etl)
    updated = merge_reload(catalog, etl, workflows, errors)
    assert updated.names() == catalog.names()  # same place in the list
    assert updated.get("tui.etl.daily").workflow.version == 4

    (tmp_path / "tui_etl.py").write_text("this is not python(\n")
    workflows, errors = load_file(etl)
    broken = merge_reload(updated, etl, workflows, errors)
    assert broken.get("tui.etl.daily").workflow.version == 4  # last good version kept
    assert [e.line for e in broken.errors] == [1]

    gone = merge_reload(broken, etl, [], [], removed=True)
    assert "tui.etl.daily" not in gone.names() and not gone.errors

    clash = load_file(str(tmp_path / "tui_fanout.py"))[0]
    dup = merge_reload(Catalog(catalog.workflows, (), catalog.paths), etl,
                       [clash[0]], [])
    assert any("already defined" in e.message for e in dup.errors)


def test_watched_paths_are_spelt_like_discovery_and_filtered(tmp_path: Path) -> None:
    assert catalog_source(tmp_path.resolve() / "a.py", [str(tmp_path)]) == str(tmp_path /
                                                                               "a.py")
    assert is_workflow_file("flows/a.py") and is_workflow_file("b.yaml")
    assert not is_workflow_file("flows/_private.py")
    assert not is_workflow_file("flows/__pycache__/a.py")
    assert not is_workflow_file("notes.txt")


def test_saving_a_file_reloads_it_and_a_broken_save_keeps_the_last_good_version(
        tmp_path: Path, isolated_store: Path) -> None:
    source = tmp_path / "tui_etl.py"
    shutil.copy(FIXTURES / "tui_etl.py", source)

    async def scenario(pilot: Pilot[Any]) -> None:
        table = pilot.app.screen.query_one(WorkflowTable)
        assert table.get_row("tui.etl.daily")[4] == "v3"
        await wait_until(pilot, lambda: any(w.group == "watch" and w.is_running
                                            for w in pilot.app.workers), what="the watcher")
        await pilot.pause(0.3)  # let the watcher settle its inotify watches
        edit(source, "version=3", "version=4")
        edit(source, '        Step.from_function("load", load),',
             '        Step.from_function("load", load),\n'
             '        Step.from_function("audit", load, depends_on=["load"]),')
        await wait_until(pilot, lambda: table.get_row("tui.etl.daily")[4] == "v4",
                         what="the catalog to show v4")
        assert table.get_row("tui.etl.daily")[3] == "5"

        def published() -> list[Any]:
            versions = WorkflowVersionStore(isolated_store)
            return versions.list("tui.etl.daily") if versions.names() else []

        await wait_until(pilot, lambda: len(published()) == 2, what="two versions")
        versions = published()
        assert [v.version for v in versions] == [3, 4]  # the saved edit is a new version
        assert "added step audit" in versions[-1].changes

        screen = await open_workflow(pilot, "etl")
        assert "│ audit " in "\n".join(screen.query_one(DagCanvas).dag_layout.lines)
        await pilot.press("V")
        await settled(pilot)
        assert pilot.app.screen.diff.added_steps == ("audit",)
        await pilot.press("escape")
        edit(source, "def load(total: int) -> dict:", "def load(total: int) -> dict\n")
        await wait_until(pilot, lambda: screen.problem_banner.display, what="the error")
        banner = str(screen.problem_banner.render())
        assert "did not load" in banner and "tui_etl.py:22" in banner
        assert screen.workflow.version == 4 and len(screen.workflow.steps) == 5

        await pilot.press("escape")
        await pilot.pause()
        assert table.get_row("tui.etl.daily")[4] == "v4"  # still listed and usable
        assert str(table.get_row("tui.etl.daily")[9]).endswith("⚠")
        errors = pilot.app.screen.query_one(LoadErrors)
        assert errors.display and errors.errors[0].startswith("tui_etl.py:22: ")

        edit(source, "def load(total: int) -> dict\n", "def load(total: int) -> dict:")
        await wait_until(pilot, lambda: not errors.display, what="the error to clear")
        assert not str(table.get_row("tui.etl.daily")[9]).endswith("⚠")

    drive(fixture_app(tmp_path, watch=True), scenario)
