"""Idempotent backfill: one partitioned run per date, and a re-run of a finished date is skipped (spec I3).

``fetch`` reads one date's records of one source from ``data/daily_feed_2025-01.csv``
(January 2025, ``sec`` and ``finra`` feeds; a few records have no amount); ``process`` keeps
the records with an amount and upserts them into the ``daily_ingest`` table of a SQLite
file (the ``db_path`` run param, else ``backfill_ingest.db`` in the samples scratch folder),
reporting the share kept as ``quality_score`` (``None`` for a date without records).

``backfill`` is the spec's loop: each date runs with ``partition={"date": ...}``, so the
run store records it, and the second run of the same partition comes back ``skipped``
without running a step. The runs go to the run store (``$SPINE_DB``, where the catalog
and ``spine-engine runs`` see them) instead of the spec's ``spine_backfill.db`` in the
working directory; pass ``db=`` to ``ManagedWorkflow`` for a separate store.
"""

from __future__ import annotations

import csv
import datetime
import sqlite3
from typing import Any

from engine import ManagedWorkflow, RunStatus
from sample_workflows._common import data_file, scratch_path

FEED_CSV = data_file("daily_feed_2025-01.csv")


def fetch_daily_data(date: str, source: str = "sec") -> dict:
    """Fetch data for a specific date (idempotent via partition)."""
    datetime.date.fromisoformat(date)  # a malformed date fails here, before anything is written
    with FEED_CSV.open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["date"] == date and r["source"] == source]
    return {"date": date, "source": source, "records": len(rows), "rows": rows}


def _amount(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def process_daily(records: int = 0, date: str = "", rows: list | None = None,
                  db_path: str = "") -> dict:
    """Process daily batch: keep the records with an amount and upsert them."""
    valid = [(r["record_id"], r["date"], r["source"], amount) for r in rows or []
             if (amount := _amount(r["amount"])) is not None]
    path = db_path or str(scratch_path("backfill_ingest.db"))
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute("CREATE TABLE IF NOT EXISTS daily_ingest (record_id TEXT PRIMARY KEY, "
                         "date TEXT, source TEXT, amount REAL)")
            conn.executemany("INSERT OR REPLACE INTO daily_ingest VALUES (?, ?, ?, ?)", valid)
        table_rows = conn.execute("SELECT COUNT(*) FROM daily_ingest").fetchone()[0]
    finally:
        conn.close()
    return {"processed": len(valid), "date": date,
            "quality_score": round(len(valid) / records, 4) if records else None,
            "rejected": records - len(valid), "table_rows": table_rows, "db_path": path}


def build(db: str | None = None) -> ManagedWorkflow:
    """The workflow, recording its runs in ``db`` (``None``: the default run store)."""
    return (
        ManagedWorkflow("backfill.daily_ingest", db=db, domain="backfill",
                        description="Ingest one date of the daily feed; partitioned by date "
                                    "so a backfill never processes a date twice",
                        tags=["intermediate", "backfill", "partitions", "idempotent"])
        .step("fetch", fetch_daily_data)
        .step("process", process_daily)
        .build()
    )


# Build persistent workflow
wf = build()


def backfill(start: datetime.date = datetime.date(2025, 1, 1), days: int = 30,
             source: str = "sec", db_path: str = "", db: str | None = None) -> dict[str, Any]:
    """Run each date twice, as the spec does: the first run processes it, the second is
    skipped. Runs go to the run store ``db`` (default: ``$SPINE_DB``); rows to ``db_path``."""
    wf = build(db)
    statuses: dict[str, list[str]] = {}
    processed = 0
    extra = {"db_path": db_path} if db_path else {}
    for day_offset in range(days):
        date = (start + datetime.timedelta(days=day_offset)).isoformat()
        result = wf.run(
            params={"date": date, "source": source, **extra},
            partition={"date": date},
        )
        # Second run with same partition → automatically skipped
        result2 = wf.run(params={"date": date, **extra}, partition={"date": date})
        statuses[date] = [result.status.value, result2.status.value]
        if result.status is RunStatus.COMPLETED:
            processed += result.outputs["process"]["processed"]
    firsts = [s[0] for s in statuses.values()]
    seconds = [s[1] for s in statuses.values()]
    return {"dates": days, "completed": firsts.count("completed"),
            "skipped_first_runs": firsts.count("skipped"),
            "skipped_reruns": seconds.count("skipped"), "processed_rows": processed,
            "statuses": statuses}


if __name__ == "__main__":
    report = backfill()
    print(f"backfill.daily_ingest: {report['dates']} dates, {report['completed']} completed, "
          f"{report['skipped_reruns']} re-runs skipped, {report['processed_rows']} rows processed")
    if report["skipped_first_runs"]:
        print(f"{report['skipped_first_runs']} dates were already done in this run store")
