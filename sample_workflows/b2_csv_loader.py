"""CSV to database loader: extract a bundled CSV, gate on quality, load into SQLite (spec B2).

The spec's ``load_to_db`` is a mock; here it writes the validated rows into a real SQLite
table (``companies``, upserted by CIK so re-runs are idempotent). The database file is the
``db_path`` run param, else ``companies.db`` in the samples scratch folder. The CSV path is
resolved next to this module and passed in the extract step's config, so the workflow runs
from any working directory. ``data/companies.csv`` has 20 rows, one without a CIK: the gate
rejects it (5%, under the 10% limit) and 19 rows are loaded.
"""

from __future__ import annotations

import csv
import sqlite3

from engine import Workflow, workflow_step
from sample_workflows._common import data_file, run_and_show, scratch_path

COMPANIES_CSV = data_file("companies.csv")


@workflow_step(name="extract_csv")
def extract_csv(file_path: str = "data/companies.csv") -> dict:
    """Read CSV into list of dicts."""
    with open(file_path, newline="", encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    return {"records": records, "count": len(records)}


@workflow_step(name="validate_records")
def validate_records(records: list | None = None, count: int = 0) -> dict:
    """Quality gate: all records must have 'cik' field."""
    valid = [r for r in (records or []) if r.get("cik")]
    reject_count = count - len(valid)
    if reject_count > count * 0.1:
        raise ValueError(f"Too many rejects: {reject_count}/{count}")
    return {"valid_records": valid, "rejected": reject_count}


@workflow_step(name="load_to_db")
def load_to_db(valid_records: list | None = None, db_path: str = "") -> dict:
    """Write validated records to the ``companies`` table of a SQLite database."""
    path = db_path or str(scratch_path("companies.db"))
    rows = [(r["cik"], r.get("ticker", ""), r.get("name", ""), r.get("sector", ""))
            for r in (valid_records or [])]
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS companies (cik TEXT PRIMARY KEY, ticker TEXT, "
                     "name TEXT, sector TEXT)")
        conn.executemany("INSERT OR REPLACE INTO companies VALUES (?, ?, ?, ?)", rows)
        table_rows = conn.execute("SELECT COUNT(*) FROM companies").fetchone()[0]
    conn.close()
    return {"inserted": len(rows), "table": "companies", "db_path": path,
            "table_rows": table_rows}


wf = Workflow(
    name="csv.loader",
    steps=[
        extract_csv.as_step(config={"file_path": str(COMPANIES_CSV)}),
        validate_records.as_step(),
        load_to_db.as_step(),
    ],
    domain="reference_data",
    description="Load the bundled companies CSV into SQLite behind a CIK quality gate",
    tags=["basic", "etl", "csv", "sqlite"],
)

if __name__ == "__main__":
    run_and_show(wf)
