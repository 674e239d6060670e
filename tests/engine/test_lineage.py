"""Lineage (spec §3): data steps report reads and writes as events, the recorder stores them,
the store and ``spine-engine lineage`` read them back; cursors are listed and reset by CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from shop_orders import add_orders, extract_orders

from engine import (
    Event,
    IncrementalCursors,
    LineageRecorded,
    RunStatus,
    RunStore,
    Step,
    Workflow,
    run_data_lineage,
    start_run,
)
from engine.data_steps import transform_hash
from engine.store import dataset_lineage, run_lineage

ROOT = Path(__file__).resolve().parents[2]


def add_totals(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(total=df["qty"] * df["price"])


def pipeline(tmp_path: Path) -> Workflow:
    add_orders(tmp_path / "shop.db", [(1, 2, 1.5), (2, 1, 4.0), (3, 5, 2.0)])
    return Workflow(name="shop.etl", steps=[
        extract_orders(tmp_path),
        Step.transform("totals", add_totals),
        Step.sink("load", connection=str(tmp_path / "dw.db"), table="order_totals"),
    ])


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "spine.db"
    monkeypatch.setenv("SPINE_DB", str(db))
    return db


def test_a_source_transform_sink_run_records_its_lineage(store: Path, tmp_path: Path) -> None:
    seen: list[Event] = []
    handle = start_run(pipeline(tmp_path), db=store, listeners=[seen.append])
    result = handle.wait()
    assert result.status is RunStatus.COMPLETED, result.error
    facts = run_lineage(RunStore(store), handle.run_id)
    table = f"{tmp_path / 'shop.db'}#orders"
    extract_key = f"runs/{handle.run_id}/extract/data.parquet"
    totals_key = f"runs/{handle.run_id}/totals/data.parquet"
    assert [(f.step, f.direction, f.kind, f.name, f.rows) for f in facts] == [
        ("extract", "read", "table", table, 3),
        ("extract", "write", "artifact", extract_key, 3),
        ("totals", "read", "artifact", extract_key, 3),
        ("totals", "write", "artifact", totals_key, 3),
        ("load", "read", "artifact", totals_key, 3),
        ("load", "write", "table", f"{tmp_path / 'dw.db'}#order_totals", 3),
    ]
    assert facts[0].details["cursor"] == {"name": "shop.etl.extract", "field": "id",
                                          "from": None, "to": 3, "workflow": "shop.etl"}
    assert facts[3].schema == {"id": "int64", "qty": "int64", "price": "float64",
                               "total": "float64"}
    assert re.fullmatch(r"[0-9a-f]{64}", facts[3].details["transform_hash"])
    assert facts[5].details["write_mode"] == "append"
    # the same facts went by on the run's event stream
    events = [e for e in seen if isinstance(e, LineageRecorded)]
    assert [(e.step, e.direction, e.name) for e in events] == \
        [(f.step, f.direction, f.name) for f in facts]
    # who produced and who consumed the warehouse table, across runs
    assert [(f.run_id, f.step) for f in dataset_lineage(RunStore(store), facts[5].name)] == \
        [(handle.run_id, "load")]


def test_data_lineage_in_the_spec_shape(store: Path, tmp_path: Path) -> None:
    handle = start_run(pipeline(tmp_path), db=store)
    result = handle.wait()
    made = {d.source_step: d for d in run_data_lineage(handle.run_id, store)}
    assert set(made) == {"extract", "totals", "load"}
    totals = made["totals"]
    assert totals.artifact_ref == result.steps["totals"].output["artifact"]
    assert totals.source_refs == [result.steps["extract"].output["artifact"]]
    assert totals.row_count == 3 and "total" in totals.schema
    assert made["load"].artifact_ref is None and made["load"].target_kind == "table"
    assert made["extract"].inputs == (f"{tmp_path / 'shop.db'}#orders",)
    assert json.loads(json.dumps(totals.to_dict()))["transform_hash"] == totals.transform_hash


def test_the_transform_hash_follows_the_code(store: Path, tmp_path: Path) -> None:
    def doubled(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(total=df["qty"] * df["price"] * 2)

    source = pipeline(tmp_path).steps[0].with_changes()
    recorded: dict[str, str] = {}
    for fn in (add_totals, doubled):
        wf = Workflow(name=f"hash.{fn.__name__}",
                      steps=[source, Step.transform("totals", fn)])
        run_id = start_run(wf, db=store).wait().run_id
        recorded[fn.__name__] = next(
            f.details["transform_hash"] for f in run_lineage(RunStore(store), run_id)
            if f.step == "totals" and f.direction == "write")
    assert recorded["add_totals"] == transform_hash(add_totals)
    assert recorded["doubled"] == transform_hash(doubled) != recorded["add_totals"]


def test_only_the_store_modules_write_the_lineage_and_cursor_tables() -> None:
    writes = re.compile(r"(INSERT|UPDATE|DELETE|REPLACE)[^\n\"]*\b(INTO |FROM )?"
                        r"(lineage|incremental_cursors)\b", re.IGNORECASE)
    owners = {"lineage": "engine/store/lineage.py",
              "incremental_cursors": "engine/store/incremental.py"}
    for path in sorted((ROOT / "engine").rglob("*.py")):
        text = path.read_text()
        for match in writes.finditer(text):
            assert str(path.relative_to(ROOT)) == owners[match.group(3).lower()], \
                f"{path} writes {match.group(3)}"


def spine(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "300"}  # a wide terminal: table rows stay on one line
    return subprocess.run([sys.executable, "-m", "spine_tui.engine_cli", "--db", str(db), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)


def test_cli_shows_lineage_and_resets_cursors(store: Path, tmp_path: Path) -> None:
    handle = start_run(pipeline(tmp_path), db=store)
    handle.wait()
    shown = spine("lineage", handle.run_id[:8], db=store)
    assert shown.returncode == 0, shown.stderr
    assert "extract" in shown.stdout and "order_totals" in shown.stdout
    assert "id > null up to 3" in shown.stdout
    data = json.loads(spine("lineage", handle.run_id, "--json", "--step", "load",
                            db=store).stdout)
    assert [(f["direction"], f["kind"]) for f in data["lineage"]] == \
        [("read", "artifact"), ("write", "table")]

    listed = json.loads(spine("cursors", "--json", db=store).stdout)
    assert [(c["name"], c["value"], c["run_id"]) for c in listed["cursors"]] == \
        [("shop.etl.extract", 3, handle.run_id)]
    moved = spine("cursors", "set", "shop.etl.extract", "1", db=store)
    assert moved.returncode == 0 and IncrementalCursors(store).get("shop.etl.extract").value == 1
    reset = spine("cursors", "reset", "shop.etl.extract", db=store)
    assert reset.returncode == 0 and "next run reads every row" in reset.stdout
    assert IncrementalCursors(store).find("shop.etl.extract") is None

    unknown = spine("cursors", "reset", "nope", db=store)
    assert unknown.returncode == 2
    assert "no cursor named 'nope'" in unknown.stderr and "no cursor is stored" in unknown.stderr
    missing_run = spine("lineage", "ffffffffffff", db=store)
    assert missing_run.returncode == 2 and "no run" in missing_run.stderr
    new = spine("cursors", "set", "fresh", "2024-01-31", db=store)
    assert new.returncode == 2 and "give --field" in new.stderr
    made = spine("cursors", "set", "fresh", "2024-01-31", "--field", "day", db=store)
    assert made.returncode == 0
    assert IncrementalCursors(store).get("fresh").value == "2024-01-31"
