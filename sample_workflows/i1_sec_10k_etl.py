"""SEC 10-K ETL with temporal tracking: fetch one company's 10-K into a TemporalEnvelope, gate it on quality, normalize and store it (spec I1).

``fetch_10k`` finds the company's (``cik`` config) 10-K in the bundled filing index
``data/sec_filings.csv`` (through ``sec_pipelines``' fetch and validate, so a malformed index
row is refused the same way) and its figures in ``data/sec_10k_financials.csv``, and wraps
them in a ``TemporalEnvelope``: event = the filing date, publish = when EDGAR published it,
ingest = now. ``quality_gate`` runs ``QualityCheck``s (revenue and net income present, net
income below revenue) and fails the run as DATA_QUALITY on the first FAIL; the bundled Tesla
row has no net income on purpose. The pipelines ``sec.normalize_filing`` and
``sec.store_filing`` (registered here, reusing ``sec_pipelines``' normalization and upsert)
canonicalise the filing and store it with its three timestamps in the ``sec_filings`` and
``sec_10k_financials`` tables (``db_path`` run param, else ``sec_filings.db`` in the samples
scratch folder).

The spec's envelope uses 2025-11-01 as Apple's filing date; the bundled index (shared with
I4) says 2025-10-31, and that is what the envelope carries.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from engine import (
    QualityCategory,
    QualityCheck,
    QualityResult,
    QualityStatus,
    Step,
    StepResult,
    TemporalEnvelope,
    Workflow,
    WorkflowContext,
    register_pipeline,
)
from sample_workflows import sec_pipelines
from sample_workflows._common import data_file

FINANCIALS_CSV = data_file("sec_10k_financials.csv")


def _financials(accession_number: str) -> dict[str, str] | None:
    digits = sec_pipelines.accession_digits(accession_number)
    with FINANCIALS_CSV.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if sec_pipelines.accession_digits(row["accession_number"]) == digits:
                return row
    return None


def _amount(text: str) -> float | None:
    return float(text) if text.strip() else None


def fetch_10k(ctx: WorkflowContext, config: dict) -> StepResult:
    """Fetch 10-K filing and wrap with temporal semantics."""
    cik = config.get("cik", "0000320193")
    now = datetime.now(UTC)

    index = sec_pipelines.fetch_filings(form_type="10-K")["filings"]
    mine = [r for r in index if r["cik"].strip().zfill(10) == cik.zfill(10)]
    if not mine:
        return StepResult.fail(f"no 10-K for CIK {cik} in the filing index",
                               category="DATA_QUALITY")
    checked = sec_pipelines.validate_filings(mine)
    if not checked.success:
        reasons = "; ".join(r["reason"] for r in checked.output["rejected"])
        return StepResult.fail(f"10-K index row for CIK {cik} is malformed: {reasons}",
                               category="DATA_QUALITY")
    filing = checked.output["valid_filings"][0]
    facts = _financials(filing["accession_number"]) or {}
    filed = sec_pipelines.parse_date(filing["filing_date"])
    assert filed is not None  # validate_filings refused unparseable dates

    envelope = TemporalEnvelope(
        event_time=datetime(filed.year, filed.month, filed.day, tzinfo=UTC),  # Filing date
        publish_time=datetime.fromisoformat(facts["published_at"]) if facts else now,  # EDGAR publish
        ingest_time=now,                                                      # Our capture
        payload={"cik": cik, "revenue": _amount(facts.get("revenue", "")),
                 "net_income": _amount(facts.get("net_income", "")),
                 "fiscal_year": int(facts["fiscal_year"]) if facts else None,
                 "index_row": filing},
    )
    return StepResult.ok(output={
        "envelope": envelope.__dict__,
        "filing_type": "10-K",
    })


def net_income_below_revenue(payload: Mapping[str, Any]) -> QualityResult | bool:
    """Consistency: a company cannot earn more than it sells (both present to be checked)."""
    revenue, income = payload.get("revenue"), payload.get("net_income")
    if revenue is None or income is None:
        return QualityResult("net_income_below_revenue", QualityCategory.CONSISTENCY,
                             QualityStatus.WARN, "not checked: a figure is missing")
    return income < revenue


QUALITY_CHECKS = [
    QualityCheck.required("revenue"),
    QualityCheck.required("net_income"),
    QualityCheck("net_income_below_revenue", QualityCategory.CONSISTENCY,
                 net_income_below_revenue, "net income exceeds revenue"),
]


def quality_gate(ctx: WorkflowContext, config: dict) -> StepResult:
    """Validate filing data quality."""
    envelope = ctx.get_output("fetch_10k")
    payload = envelope.get("envelope", {}).get("payload", {})

    results = QualityCheck.run_all(QUALITY_CHECKS, payload)
    checks = [r.to_dict() for r in results]
    failed = [r for r in results if not r.passed]
    if failed:
        return StepResult.fail("; ".join(r.message for r in failed), category="DATA_QUALITY",
                               output={"quality": "failed", "checks": checks})
    fields = sum(1 for c in QUALITY_CHECKS if c.category is QualityCategory.COMPLETENESS)
    worst = QualityStatus.worst(r.status for r in results)
    return StepResult.ok(output={
        "quality": "passed" if worst is QualityStatus.PASS else "passed_with_warnings",
        "fields_checked": fields, "checks": checks})


def normalize_filing(envelope: dict | None = None) -> dict:
    """Canonical index fields (``sec_pipelines.normalize_filings``) plus the figures and times."""
    data = TemporalEnvelope.from_dict(envelope or {})
    payload = data.payload
    [row] = sec_pipelines.normalize_filings([payload["index_row"]])["normalized"]
    return {"filing": {
        **row, "fiscal_year": payload["fiscal_year"], "revenue": payload["revenue"],
        "net_income": payload["net_income"],
        "net_margin": round(payload["net_income"] / payload["revenue"], 6),
        "event_time": data.event_time.isoformat(), "publish_time": data.publish_time.isoformat(),
        "ingest_time": data.ingest_time.isoformat(),
        "publish_lag_hours": round(data.publish_lag.total_seconds() / 3600, 2)}}


FINANCIAL_COLUMNS = ("accession_number", "cik", "fiscal_year", "revenue", "net_income",
                     "net_margin", "event_time", "publish_time", "ingest_time")


def store_filing(filing: dict | None = None, db_path: str = "") -> dict:
    """Upsert the filing into ``sec_filings`` (``sec_pipelines.store_filings``) and its figures
    with their timestamps into ``sec_10k_financials``."""
    if not filing:
        raise ValueError("nothing to store: normalize produced no filing")
    stored = sec_pipelines.store_filings([filing], db_path=db_path)
    conn = sqlite3.connect(stored["db_path"])
    try:
        with conn:
            conn.execute("CREATE TABLE IF NOT EXISTS sec_10k_financials (accession_number TEXT "
                         "PRIMARY KEY, cik TEXT, fiscal_year INTEGER, revenue REAL, "
                         "net_income REAL, net_margin REAL, event_time TEXT, publish_time TEXT, "
                         "ingest_time TEXT)")
            conn.execute(f"INSERT OR REPLACE INTO sec_10k_financials "
                         f"({', '.join(FINANCIAL_COLUMNS)}) "
                         f"VALUES ({', '.join('?' for _ in FINANCIAL_COLUMNS)})",
                         [filing[c] for c in FINANCIAL_COLUMNS])
        rows = conn.execute("SELECT COUNT(*) FROM sec_10k_financials").fetchone()[0]
    finally:
        conn.close()
    return {"stored": filing["accession_number"], "db_path": stored["db_path"],
            "filings_rows": stored["table_rows"], "financials_rows": rows}


register_pipeline("sec.normalize_filing", normalize_filing)
register_pipeline("sec.store_filing", store_filing)

wf = Workflow(
    name="sec.10k_etl",
    domain="sec",
    steps=[
        Step.lambda_("fetch_10k", fetch_10k, config={"cik": "0000320193"}),
        Step.lambda_("quality_gate", quality_gate),
        Step.pipeline("normalize", "sec.normalize_filing"),
        Step.pipeline("store", "sec.store_filing"),
    ],
    tags=["sec", "10-K", "etl"],
    description="Fetch a 10-K into a temporal envelope, gate it on quality, normalize and store it",
)

if __name__ == "__main__":
    from sample_workflows._common import run_and_show

    run_and_show(wf)
