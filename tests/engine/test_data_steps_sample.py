"""The bundled incremental ETL sample: Q1 arrivals, then only Q2's new filings, upserted into
the warehouse, with the cursor and lineage in the run store."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

from engine import IncrementalCursors, RunStatus, RunStore, start_run
from engine.store import run_lineage
from sample_workflows import SAMPLES_DIR
from sample_workflows.incremental_etl import wf


def test_incremental_sample_reads_each_quarters_new_filings_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "spine.db"
    monkeypatch.setenv("SPINE_DB", str(store))
    params = {"feed_db": str(tmp_path / "feed.db"), "warehouse_db": str(tmp_path / "dw.db")}
    with open(SAMPLES_DIR / "data" / "incremental_filings.csv", encoding="utf-8") as f:
        filings = list(csv.DictReader(f))
    by_quarter = {end: [r for r in filings if r["filed_at"] <= end]
                  for end in ("2024-03-31", "2024-06-30")}

    q1 = start_run(wf, {**params, "as_of": "2024-03-31"}, db=store).wait()
    q2 = start_run(wf, {**params, "as_of": "2024-06-30"}, db=store).wait()
    assert q1.status is q2.status is RunStatus.COMPLETED
    assert q1.steps["read_filings"].output["row_count"] == len(by_quarter["2024-03-31"]) == 4
    new = len(by_quarter["2024-06-30"]) - len(by_quarter["2024-03-31"])
    assert q2.steps["read_filings"].output["row_count"] == new == 4
    assert IncrementalCursors(store).get("data.incremental_etl.read_filings").value == \
        max(int(r["filing_id"]) for r in by_quarter["2024-06-30"])

    with sqlite3.connect(tmp_path / "dw.db") as conn:
        loaded = conn.execute("SELECT filing_id, filed_quarter, revenue_musd "
                              "FROM filings_normalized ORDER BY filing_id").fetchall()
    expected = [(int(r["filing_id"]), r["filed_at"][:4] + "Q" + str((int(r["filed_at"][5:7])
                                                                    + 2) // 3),
                 round(int(r["revenue_usd"]) / 1e6, 1)) for r in by_quarter["2024-06-30"]]
    assert loaded == sorted(expected)
    sinks = [f for f in run_lineage(RunStore(store), q2.run_id) if f.step == "load"]
    assert [(f.direction, f.kind, f.rows) for f in sinks] == \
        [("read", "artifact", 4), ("write", "table", 4)]
