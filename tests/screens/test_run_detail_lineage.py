"""The run detail shows a run's lineage: what each data step read and wrote, with rows, the
cursor window of an incremental source and a transform's code hash."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from store_rows import T0, add_runs
from textual.pilot import Pilot
from tui_harness import SIZE, drive, fixture_app, loaded, plain, wait_until

from engine import IncrementalConfig, LineageRecorded, RunStore, Step, Workflow, start_run
from engine.store.db import Database
from engine.store.recorder import RunRecorder
from screens import RunDetailScreen
from spine_tui.widgets.lineage import LineageView


def doubled(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(amount=df["amount"] * 2)


def run_etl(db: Path, tmp_path: Path) -> str:
    """A real source -> transform -> sink run recorded in ``db``; returns its id."""
    with sqlite3.connect(tmp_path / "src.db") as conn:
        conn.execute("CREATE TABLE sales (id INTEGER, amount REAL)")
        conn.executemany("INSERT INTO sales VALUES (?, ?)", [(1, 2.5), (2, 4.0)])
    wf = Workflow(name="tui.etl.lineage", steps=[
        Step.source("extract", connection=str(tmp_path / "src.db"), table="sales",
                    incremental=IncrementalConfig(cursor_field="id", store=db)),
        Step.transform("double", doubled),
        Step.sink("load", connection=str(tmp_path / "dw.db"), table="sales_x2"),
    ])
    result = start_run(wf, db=db).wait()
    assert str(result.status) == "completed", result.error
    return result.run_id


def test_run_detail_lists_the_lineage_of_a_real_run(isolated_store: Path,
                                                    tmp_path: Path) -> None:
    run_id = run_etl(isolated_store, tmp_path)

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = RunDetailScreen(run_id)
        await pilot.app.push_screen(screen)
        view = screen.query_one(LineageView)
        await wait_until(pilot, lambda: view.display and view.size.width,
                         what="the lineage section")
        assert len(view.facts) == 6 and view.border_title == "Lineage (6)"
        assert screen.query_one("#outputs-pane").border_title == \
            "Outputs · Artifacts (2) · Lineage (6)"
        shown = plain(view)
        assert shown.split()[:5] == ["step", "kind", "name", "rows", "details"]
        assert "src.db#sales" in shown.replace("\n", "").replace(" ", "")
        assert "id > null up to 2" in shown
        assert "← read" in shown and "→ wrote" in shown
        labels = [line.split()[0] for line in shown.splitlines()[1:] if line.split()]
        assert labels.count("extract") == labels.count("double") == 1  # one label per step
        await pilot.press("o")
        assert not screen.query_one("#outputs-pane").display
        await pilot.press("o")
        assert view.display

    drive(fixture_app(refresh=0.05), scenario)


def seed_lineage(db: Path) -> str:
    """A completed run whose data steps' lineage the recorder stored from fixed events."""
    run_id = "11ea9e0000000001"
    add_runs(db, [{"run_id": run_id, "workflow": "tui.lineage", "status": "completed",
                   "created_at": T0, "duration_seconds": 2.0}])
    facts = [
        ("extract", "read", "table", "/data/sales.db#sales",
         {"rows": 120, "cursor": {"name": "tui.lineage.extract", "field": "updated_at",
                                  "from": "2026-01-01", "to": "2026-01-02"}}),
        ("extract", "write", "artifact", f"runs/{run_id}/extract/data.parquet",
         {"rows": 120, "schema": {"id": "int64", "amount": "float64"}}),
        ("double", "read", "artifact", f"runs/{run_id}/extract/data.parquet", {"rows": 120}),
        ("double", "write", "artifact", f"runs/{run_id}/double/data.parquet",
         {"rows": 120, "schema": {"id": "int64", "amount": "float64"},
          "transform_hash": "9f2c4e1b7a66" + "0" * 52}),
        ("load", "read", "artifact", f"runs/{run_id}/double/data.parquet", {"rows": 120}),
        ("load", "write", "table", "/data/warehouse.db#sales_x2",
         {"rows": 120, "write_mode": "upsert"}),
    ]
    recorder = RunRecorder(Database(db))
    for n, (step, direction, kind, name, detail) in enumerate(facts):
        at = datetime.fromtimestamp(T0 + 1 + n / 10, UTC)
        recorder(LineageRecorded(run_id=run_id, workflow="tui.lineage", at=at, step=step,
                                 direction=direction, kind=kind, name=name, detail=detail))
    recorder.close()
    assert len(RunStore(db).db.query("SELECT * FROM lineage")) == 6
    return run_id


def test_run_detail_lineage_snapshot(snap_compare: Any, isolated_store: Path) -> None:
    run_id = seed_lineage(isolated_store)

    async def open_detail(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        pilot.app.push_screen(RunDetailScreen(run_id))
        await wait_until(pilot, lambda: pilot.app.screen.query(LineageView)
                         and pilot.app.screen.query_one(LineageView).display
                         and pilot.app.screen.query_one(LineageView).size.width,
                         what="the lineage section")
        pane = pilot.app.screen.query_one("#outputs-pane")
        pane.scroll_end(animate=False, immediate=True)
        await wait_until(pilot, lambda: pane.scroll_y == pane.max_scroll_y,
                         what="the outputs pane scrolled to the lineage")

    assert snap_compare(fixture_app(refresh=3600), terminal_size=SIZE, run_before=open_detail)
