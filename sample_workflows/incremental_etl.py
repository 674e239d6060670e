"""Incremental ETL with data steps and lineage (spec §3): source → transform → sink.

``arrive`` plays the upstream system: it lands the bundled filings (``data/
incremental_filings.csv``) filed up to the ``as_of`` param into a SQLite feed database. The
``read_filings`` source reads the feed's ``filings`` table incrementally on ``filing_id``: the
run store keeps the highest id read, and moves it only when the run completes, so the next run
reads only filings that arrived since. ``normalize`` turns revenue into millions and tags the
filing quarter; ``load`` upserts into the warehouse's ``filings_normalized`` table. Every step's
reads and writes are recorded as lineage (``spine-engine lineage RUN_ID``; the run detail in
the workbench). As a script it runs twice, for Q1 and then Q2 arrivals: 4 filings, then 4 new.
"""

from __future__ import annotations

import csv
import os
import sqlite3

import pandas as pd

from engine import IncrementalConfig, Step, Workflow, format_result, start_run
from sample_workflows._common import data_file, scratch_path

FILINGS_CSV = data_file("incremental_filings.csv")


def arrive(as_of: str = "2024-12-31", feed_db: str = "", warehouse_db: str = "") -> dict:
    """Land the filings filed up to ``as_of`` in the feed database (already landed ones stay)."""
    feed = feed_db or str(scratch_path("filings_feed.db"))
    with open(FILINGS_CSV, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["filed_at"] <= as_of]
    with sqlite3.connect(feed) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS filings (filing_id INTEGER PRIMARY KEY, "
                     "cik TEXT, company TEXT, form TEXT, filed_at TEXT, revenue_usd INTEGER)")
        conn.executemany("INSERT OR IGNORE INTO filings VALUES (?, ?, ?, ?, ?, ?)",
                         [(int(r["filing_id"]), r["cik"], r["company"], r["form"],
                           r["filed_at"], int(r["revenue_usd"])) for r in rows])
        landed = conn.execute("SELECT COUNT(*) FROM filings").fetchone()[0]
    conn.close()
    return {"feed_db": feed, "landed": landed,
            "warehouse_db": warehouse_db or str(scratch_path("filings_warehouse.db"))}


def normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Revenue in USD millions and the calendar quarter each filing was filed in."""
    filed = pd.to_datetime(df["filed_at"])
    return pd.DataFrame({
        "filing_id": df["filing_id"], "cik": df["cik"], "company": df["company"],
        "form": df["form"].str.upper(), "filed_at": df["filed_at"],
        "filed_quarter": filed.dt.year.astype(str) + "Q" + filed.dt.quarter.astype(str),
        "revenue_musd": (df["revenue_usd"] / 1_000_000).round(1),
    })


wf = Workflow(
    name="data.incremental_etl",
    description="Incremental filings ETL: SQLite source behind a cursor, pandas transform, "
                "upsert into a warehouse table, with lineage",
    tags=["etl", "incremental", "lineage", "spec-3"],
    steps=[
        Step.from_function("arrive", arrive),
        Step.source("read_filings", source_type="database",
                    connection="$.outputs.arrive.feed_db", table="filings",
                    output_format="parquet", chunk_size=1000,
                    incremental=IncrementalConfig(cursor_field="filing_id")),
        Step.transform("normalize", normalize, input_ref="$.artifacts.read_filings"),
        Step.sink("load", sink_type="sqlite", connection="$.outputs.arrive.warehouse_db",
                  table="filings_normalized", write_mode="upsert", key="filing_id",
                  input_ref="$.artifacts.normalize"),
    ],
)


if __name__ == "__main__":
    # the cursor lives in the run store the runs are recorded in ($SPINE_DB)
    os.environ.setdefault("SPINE_DB", str(scratch_path("incremental_etl_runs.db")))
    for quarter_end in ("2024-03-31", "2024-06-30"):
        result = start_run(wf, {"as_of": quarter_end}, db=os.environ["SPINE_DB"]).wait()
        print(format_result(wf, result))
