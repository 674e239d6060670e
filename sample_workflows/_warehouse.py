"""The warehouse pipelines the packaged samples name (A4's ``warehouse.load``, F4's
``warehouse.store_metrics``): SQLite tables in ``warehouse.db`` under the samples scratch
folder (or ``db_path``), registered when this module is imported."""

from __future__ import annotations

import sqlite3
from typing import Any

from engine import register_pipeline
from sample_workflows._common import scratch_path

WAREHOUSE_DB = "warehouse.db"


def _connect(db_path: str) -> tuple[sqlite3.Connection, str]:
    path = db_path or str(scratch_path(WAREHOUSE_DB))
    return sqlite3.connect(path), path


def load(companies: list[dict[str, Any]] | None = None, db_path: str = "") -> dict:
    """Upsert the transformed companies into the ``companies`` table (keyed by CIK)."""
    rows = [(c["cik"], c["ticker"], c["name"], c["sector"]) for c in companies or []]
    conn, path = _connect(db_path)
    try:
        with conn:
            conn.execute("CREATE TABLE IF NOT EXISTS companies (cik TEXT PRIMARY KEY, "
                         "ticker TEXT, name TEXT, sector TEXT)")
            conn.executemany("INSERT OR REPLACE INTO companies VALUES (?, ?, ?, ?)", rows)
        total = conn.execute("SELECT COUNT(*) FROM companies").fetchone()[0]
    finally:
        conn.close()
    return {"loaded": len(rows), "table": "companies", "table_rows": total, "db_path": path}


def store_metrics(ticker: str = "", fiscal_year: int = 0, metrics: dict | None = None,
                  db_path: str = "") -> dict:
    """Write one company-year's metrics into ``financial_metrics`` (a re-run replaces them)."""
    if not ticker or not metrics:
        raise ValueError("nothing to store: the calculate step produced no metrics")
    conn, path = _connect(db_path)
    try:
        with conn:
            conn.execute("CREATE TABLE IF NOT EXISTS financial_metrics (ticker TEXT, "
                         "fiscal_year INTEGER, metric TEXT, value REAL, "
                         "PRIMARY KEY (ticker, fiscal_year, metric))")
            conn.executemany("INSERT OR REPLACE INTO financial_metrics VALUES (?, ?, ?, ?)",
                             [(ticker, fiscal_year, name, value)
                              for name, value in sorted(metrics.items())])
        stored = conn.execute("SELECT COUNT(*) FROM financial_metrics WHERE ticker = ? AND "
                              "fiscal_year = ?", (ticker, fiscal_year)).fetchone()[0]
    finally:
        conn.close()
    return {"stored": stored, "table": "financial_metrics", "db_path": path,
            "metric_names": sorted(metrics)}


register_pipeline("warehouse.load", load)
register_pipeline("warehouse.store_metrics", store_metrics)
