"""SEC filing pipelines (``sec.fetch_filings`` … ``sec.store_filings``) that the I4 YAML workflow names.

YAML files cannot carry code, so this module registers the handlers when it is imported;
discovery imports a folder's Python modules before its YAML files. The data is the
bundled filing index ``data/sec_filings.csv`` (raw, EDGAR-index-like rows):

- fetch: the rows of one ``form_type``;
- validate: drop rows without an 18-digit accession number, a numeric CIK or a parseable
  filing date (reported in ``rejected``); fails with DATA_QUALITY only when nothing is left;
- normalize: 10-digit CIKs, ``##########-YY-######`` accession numbers, ISO dates, company
  names upper-cased with whitespace collapsed (EDGAR's conformed names);
- store: upsert into the ``sec_filings`` table of a SQLite file (``db_path`` run param, else
  ``sec_filings.db`` in the samples scratch folder), keyed by accession number.
"""

from __future__ import annotations

import csv
import re
import sqlite3
from datetime import date, datetime
from pathlib import Path

from engine import StepResult, register_pipeline
from sample_workflows._common import data_file, scratch_path

FILINGS_CSV = data_file("sec_filings.csv")
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")


def parse_date(text: str) -> date | None:
    """An ISO or US (m/d/Y) date, or None when ``text`` is neither."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def accession_digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")


def fetch_filings(form_type: str = "10-K", source_path: str = "") -> dict:
    """Read the filing index and keep the rows of ``form_type``."""
    with Path(source_path or FILINGS_CSV).open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    filings = [r for r in rows if r["form_type"].strip().upper() == form_type.upper()]
    return {"filings": filings, "form_type": form_type, "fetched": len(filings),
            "index_rows": len(rows)}


def validate_filings(filings: list | None = None) -> StepResult:
    """Split the fetched filings into valid ones and rejects with a reason each."""
    valid, rejected = [], []
    for row in filings or []:
        reason = None
        if len(accession_digits(row.get("accession_number", ""))) != 18:
            reason = f"bad accession number {row.get('accession_number')!r}"
        elif not row.get("cik", "").strip().isdigit():
            reason = f"bad CIK {row.get('cik')!r}"
        elif parse_date(row.get("filing_date", "")) is None:
            reason = f"bad filing date {row.get('filing_date')!r}"
        if reason:
            rejected.append({"accession_number": row.get("accession_number"), "reason": reason})
        else:
            valid.append(row)
    if not valid:
        return StepResult.fail(f"no valid filings ({len(rejected)} rejected)",
                               category="DATA_QUALITY",
                               output={"valid_filings": [], "rejected": rejected})
    return StepResult.ok(output={"valid_filings": valid, "rejected": rejected,
                                 "valid_count": len(valid)})


def normalize_filings(valid_filings: list | None = None) -> dict:
    """Canonical CIKs, accession numbers, dates and company names."""
    normalized = []
    for row in valid_filings or []:
        digits = accession_digits(row["accession_number"])
        period = parse_date(row.get("period_of_report", ""))
        normalized.append({
            "accession_number": f"{digits[:10]}-{digits[10:12]}-{digits[12:]}",
            "cik": row["cik"].strip().zfill(10),
            "company": " ".join(row["company"].split()).upper(),
            "form_type": row["form_type"].strip().upper(),
            "filing_date": parse_date(row["filing_date"]).isoformat(),  # type: ignore[union-attr]
            "period_of_report": period.isoformat() if period else None,
        })
    return {"normalized": normalized, "normalized_count": len(normalized)}


def store_filings(normalized: list | None = None, db_path: str = "") -> dict:
    """Upsert the normalized filings into the ``sec_filings`` table."""
    path = db_path or str(scratch_path("sec_filings.db"))
    columns = ("accession_number", "cik", "company", "form_type", "filing_date",
               "period_of_report")
    rows = [tuple(f[c] for c in columns) for f in normalized or []]
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute("CREATE TABLE IF NOT EXISTS sec_filings (accession_number TEXT PRIMARY KEY, "
                         "cik TEXT, company TEXT, form_type TEXT, filing_date TEXT, "
                         "period_of_report TEXT)")
            conn.executemany(f"INSERT OR REPLACE INTO sec_filings ({', '.join(columns)}) "
                             f"VALUES ({', '.join('?' for _ in columns)})", rows)
        table_rows = conn.execute("SELECT COUNT(*) FROM sec_filings").fetchone()[0]
    finally:
        conn.close()
    return {"stored": len(rows), "table": "sec_filings", "db_path": path,
            "table_rows": table_rows}


PIPELINES = {
    "sec.fetch_filings": fetch_filings,
    "sec.validate_filings": validate_filings,
    "sec.normalize_filings": normalize_filings,
    "sec.store_filings": store_filings,
}

for _name, _handler in PIPELINES.items():
    register_pipeline(_name, _handler)
