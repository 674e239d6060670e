"""The medallion database: one SQLite file holding the bronze, silver and gold tables, how to
open it (WAL, a long busy timeout, so parallel bronze loads queue for the write lock instead of
failing) and the one transaction helper every layer writes through."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sample_workflows.medallion.canonical import CANONICAL_DDL, CANONICAL_VIEWS

#: bumped when a view or gold column changes; ``ensure_schema`` migrates older files
SCHEMA_VERSION = 2

#: EDGAR's financial statement data set columns bronze keeps, per file (``sub.txt`` ...)
BRONZE_COLUMNS: dict[str, tuple[str, ...]] = {
    "sub": ("adsh", "cik", "name", "sic", "countryba", "stprba", "cityba", "form", "period",
            "fy", "fp", "filed", "accepted", "prevrpt", "instance"),
    "num": ("adsh", "tag", "version", "ddate", "qtrs", "uom", "segments", "coreg", "value",
            "footnote"),
    "tag": ("tag", "version", "custom", "abstract", "datatype", "iord", "crdr", "tlabel", "doc"),
    "pre": ("adsh", "report", "line", "stmt", "inpth", "rfile", "tag", "version", "plabel",
            "negating"),
}


def _bronze_table(name: str, columns: tuple[str, ...]) -> str:
    cols = ",\n    ".join(f"{c} TEXT" for c in columns)
    return f"""
CREATE TABLE IF NOT EXISTS bronze_sec_{name} (
    record_id INTEGER PRIMARY KEY,
    record_hash BLOB NOT NULL UNIQUE,
    load_id INTEGER NOT NULL REFERENCES bronze_loads(load_id),
    loaded_at TEXT NOT NULL,
    {cols}
);
CREATE INDEX IF NOT EXISTS idx_bronze_sec_{name}_load ON bronze_sec_{name}(load_id);
CREATE TRIGGER IF NOT EXISTS bronze_sec_{name}_append_only BEFORE UPDATE ON bronze_sec_{name}
BEGIN SELECT RAISE(ABORT, 'bronze_sec_{name} is append-only: load new rows instead'); END;
"""


BRONZE_DDL = """
CREATE TABLE IF NOT EXISTS bronze_loads (
    load_id INTEGER PRIMARY KEY,
    partition TEXT NOT NULL,
    source_file TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('IN_PROGRESS', 'COMPLETED', 'FAILED')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    rows_read INTEGER NOT NULL DEFAULT 0,
    rows_inserted INTEGER NOT NULL DEFAULT 0,
    rows_rejected INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE TABLE IF NOT EXISTS bronze_rejects (
    record_hash BLOB PRIMARY KEY,
    load_id INTEGER NOT NULL,
    table_name TEXT NOT NULL,
    line_no INTEGER NOT NULL,
    reason TEXT NOT NULL,
    raw_line TEXT NOT NULL
);
""" + "".join(_bronze_table(name, cols) for name, cols in BRONZE_COLUMNS.items())

SILVER_DDL = """
CREATE TABLE IF NOT EXISTS silver_loads (
    silver_load_id INTEGER PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('IN_PROGRESS', 'COMPLETED', 'FAILED')),
    bronze_load_ids TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    failed_stage TEXT,
    error TEXT,
    stats TEXT
);
CREATE TABLE IF NOT EXISTS silver_companies (
    company_id INTEGER PRIMARY KEY,
    cik INTEGER NOT NULL UNIQUE,
    name TEXT NOT NULL,
    sic INTEGER,
    state TEXT,
    silver_load_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS silver_filings (
    filing_id INTEGER PRIMARY KEY,
    adsh TEXT NOT NULL UNIQUE,
    company_id INTEGER NOT NULL,
    form_type TEXT NOT NULL,
    base_form TEXT NOT NULL,
    is_amendment INTEGER NOT NULL,
    period_end_date TEXT NOT NULL,
    fiscal_year INTEGER NOT NULL,
    fiscal_period TEXT NOT NULL,
    fiscal_quarter INTEGER NOT NULL,
    filing_date TEXT NOT NULL,
    calendar_quarter TEXT NOT NULL,
    filing_version_rank INTEGER NOT NULL DEFAULT 1,
    bronze_load_id INTEGER NOT NULL,
    silver_load_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_silver_filings_company ON silver_filings(company_id);
CREATE TABLE IF NOT EXISTS silver_financial_facts (
    fact_id INTEGER PRIMARY KEY,
    record_hash BLOB NOT NULL UNIQUE,
    filing_id INTEGER NOT NULL,
    company_id INTEGER NOT NULL,
    tag TEXT NOT NULL,
    version TEXT NOT NULL,
    standard_tag TEXT NOT NULL,
    standard_tag_norm TEXT NOT NULL,
    tag_priority INTEGER NOT NULL,
    fact_period_end_date TEXT NOT NULL,
    qtrs INTEGER NOT NULL,
    period_duration_days INTEGER NOT NULL,
    is_instant INTEGER NOT NULL,
    is_quarterly INTEGER NOT NULL,
    is_annual INTEGER NOT NULL,
    uom TEXT NOT NULL,
    value REAL,
    value_usd REAL,
    scope TEXT,
    segments_context TEXT,
    is_comparative_period INTEGER NOT NULL,
    filing_version_rank INTEGER NOT NULL,
    silver_load_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS silver_quarantine (
    record_hash BLOB PRIMARY KEY,
    source_table TEXT NOT NULL,
    bronze_load_id INTEGER NOT NULL,
    reason TEXT NOT NULL,
    raw TEXT NOT NULL,
    silver_load_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS silver_segments (
    fact_id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL,
    standard_tag_norm TEXT NOT NULL,
    axis TEXT NOT NULL,
    member TEXT NOT NULL,
    fact_period_end_date TEXT NOT NULL,
    value_usd REAL,
    silver_load_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS silver_stock_splits (
    company_id INTEGER NOT NULL,
    effective_after TEXT NOT NULL,
    detected_on TEXT NOT NULL,
    ratio INTEGER NOT NULL,
    silver_load_id INTEGER NOT NULL,
    PRIMARY KEY (company_id, effective_after)
);
CREATE TABLE IF NOT EXISTS silver_dim_period (
    period_end_date TEXT NOT NULL,
    qtrs INTEGER NOT NULL,
    period_type TEXT NOT NULL,
    calendar_year INTEGER NOT NULL,
    calendar_quarter INTEGER NOT NULL,
    label TEXT NOT NULL,
    silver_load_id INTEGER NOT NULL,
    PRIMARY KEY (period_end_date, qtrs)
);
CREATE TABLE IF NOT EXISTS silver_validation (
    check_name TEXT NOT NULL,
    company_id INTEGER NOT NULL,
    period_end_date TEXT NOT NULL,
    detail TEXT NOT NULL,
    silver_load_id INTEGER NOT NULL,
    PRIMARY KEY (check_name, company_id, period_end_date)
);
"""

#: reference data (R1's import_tickers) and the per-share figures corporate actions changed
REFERENCE_DDL = """
CREATE TABLE IF NOT EXISTS ref_company_tickers (
    cik INTEGER PRIMARY KEY,
    ticker TEXT NOT NULL,
    name TEXT NOT NULL,
    exchange TEXT,
    source_file TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ref_corporate_actions (
    cik INTEGER NOT NULL,
    ex_date TEXT NOT NULL,
    method TEXT NOT NULL,
    factor REAL NOT NULL,
    ticker TEXT,
    description TEXT NOT NULL,
    source_file TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    PRIMARY KEY (cik, ex_date, method)
);
CREATE TABLE IF NOT EXISTS silver_per_share_adjustments (
    company_id INTEGER NOT NULL,
    period_end_date TEXT NOT NULL,
    period_type TEXT NOT NULL,
    concept TEXT NOT NULL,
    reported REAL NOT NULL,
    adjusted REAL NOT NULL,
    factor REAL NOT NULL,
    observed_on TEXT NOT NULL,
    chain TEXT NOT NULL,
    PRIMARY KEY (company_id, period_end_date, period_type, concept)
);
"""

GOLD_METRICS = ("gross_margin", "operating_margin", "net_margin", "return_on_assets",
                "return_on_equity", "roic", "current_ratio", "quick_ratio", "cash_ratio",
                "working_capital", "debt_to_equity", "debt_to_assets", "interest_coverage",
                "debt_to_ebitda", "altman_z", "piotroski_f", "beneish_m", "revenue_growth",
                "eps_diluted", "diluted_shares", "book_value_per_share", "split_factor")

GOLD_DDL = f"""
CREATE TABLE IF NOT EXISTS gold_financial_metrics (
    company_id INTEGER NOT NULL,
    period_end_date TEXT NOT NULL,
    period_type TEXT NOT NULL,
    fiscal_year INTEGER NOT NULL,
    ticker TEXT,
    total_revenue REAL,
    net_income REAL,
    {", ".join(f"{m} REAL" for m in GOLD_METRICS)},
    altman_zone TEXT,
    computed_at TEXT NOT NULL,
    PRIMARY KEY (company_id, period_end_date, period_type)
);
"""


def connect(db_path: str | Path) -> sqlite3.Connection:
    """A connection in autocommit mode (``transaction`` opens each write explicitly)."""
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path, timeout=120, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=120000")
    conn.execute("PRAGMA cache_size=-65536")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` of everything on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create every layer's tables, the canonical view and its covering index (idempotent);
    a file of an older ``SCHEMA_VERSION`` gets its views rebuilt and new gold columns."""
    with transaction(conn):
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:
            for view in CANONICAL_VIEWS:
                conn.execute(f"DROP VIEW IF EXISTS {view}")
        for script in (BRONZE_DDL, SILVER_DDL, REFERENCE_DDL, GOLD_DDL, CANONICAL_DDL):
            for statement in _statements(script):
                conn.execute(statement)
        if version < SCHEMA_VERSION:
            have = {row[1] for row in conn.execute("PRAGMA table_info(gold_financial_metrics)")}
            for column in ("ticker", *GOLD_METRICS):
                if column not in have:
                    kind = "TEXT" if column == "ticker" else "REAL"
                    conn.execute(f"ALTER TABLE gold_financial_metrics ADD COLUMN {column} {kind}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _statements(script: str) -> list[str]:
    """The statements of a DDL script (trigger bodies keep their inner semicolons)."""
    out: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            out.append(buffer.strip())
            buffer = ""
    return [s for s in out if s]


def utc_now() -> str:
    """Now, as the ISO-8601 UTC text every layer stamps rows with."""
    return datetime.now(UTC).isoformat(timespec="seconds")
