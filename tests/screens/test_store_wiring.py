"""The app opens the run store from settings; the catalog shows each workflow's history
(last run, success rate, recent durations) from one grouped query; a bad store is shown,
not raised."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from store_rows import T0, add_runs
from textual.pilot import Pilot
from tui_harness import drive, fixture_app

from engine import RunStore
from engine.store.views import count_runs, workflow_stats
from screens import RunsScreen
from spine_tui.widgets.catalog_table import WorkflowTable


def history(db: Path) -> None:
    runs = [{"run_id": f"etl{i}", "workflow": "tui.etl.daily", "created_at": T0 + i * 60,
             "status": "failed" if i == 1 else "completed", "duration_seconds": 1.0 + i}
            for i in range(4)]
    runs.append({"run_id": "fan0", "workflow": "tui.market.fanout", "status": "cancelled",
                 "created_at": T0 + 30})
    add_runs(db, runs)


def test_workflow_stats_summarise_recent_runs_per_workflow(isolated_store: Path) -> None:
    history(isolated_store)
    store = RunStore(isolated_store)
    stats = workflow_stats(store)
    etl = stats["tui.etl.daily"]
    assert (etl.runs, etl.last_status) == (4, "completed")
    assert etl.last_at is not None and etl.last_at.timestamp() == T0 + 180
    assert etl.success_rate == 0.75
    assert etl.durations == (1.0, 2.0, 3.0, 4.0)  # oldest first
    assert stats["tui.market.fanout"].success_rate == 0.0
    assert count_runs(store, "tui.etl.daily", "failed") == 1
    assert count_runs(store, status="completed") == 3
    store.close()


def test_catalog_shows_last_run_success_rate_and_trend(isolated_store: Path) -> None:
    history(isolated_store)

    async def scenario(pilot: Pilot[Any]) -> None:
        table = pilot.app.screen.query_one(WorkflowTable)
        etl = [str(c) for c in table.get_row("tui.etl.daily")]
        assert etl[5] == "✓ 01-01 00:03"
        assert etl[6] == "75%"
        assert etl[7] == "▁▃▆█"  # durations 1, 2, 3, 4 s
        fanout = [str(c) for c in table.get_row("tui.market.fanout")]
        assert fanout[5].startswith("⊘") and fanout[6] == "0%"
        assert [str(c) for c in table.get_row("tui.hello")][5:7] == ["never", "—"]
        await pilot.press("7")  # sort by success rate
        assert [r.name for r in table.shown_rows] == ["tui.hello", "tui.market.fanout",
                                                      "tui.etl.daily"]

    drive(fixture_app(), scenario)


def test_the_db_setting_chooses_the_store(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.db"
    add_runs(other, [{"run_id": "x1", "workflow": "tui.hello", "status": "completed"}])

    async def scenario(pilot: Pilot[Any]) -> None:
        assert pilot.app.store.path == other
        assert pilot.app.stats["tui.hello"].runs == 1

    app = fixture_app()
    app.settings = app.settings.with_db(other)
    drive(app, scenario)


def test_a_broken_store_is_reported_and_the_catalog_still_works(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db.db"
    bad.write_text("this is not sqlite")

    async def scenario(pilot: Pilot[Any]) -> None:
        assert pilot.app.store is None
        assert str(bad) in pilot.app.store_error
        assert "not a SQLite database" in pilot.app.store_error
        assert pilot.app.screen.query_one(WorkflowTable).row_count == 3
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(pilot.app.screen, RunsScreen)
        assert str(bad) in str(pilot.app.screen.query_one("#runs-problem").render())

    app = fixture_app()
    app.settings = app.settings.with_db(bad)
    drive(app, scenario)
    assert bad.read_text() == "this is not sqlite"  # left untouched
