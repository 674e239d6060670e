"""Query the SEC database: income statement, balance sheet and a tearsheet for one ticker (spec F5).

The spec's handlers return hard-coded rows and show the Postgres SQL in comments; here they
run that SQL for real against a SQLite copy of the schema (``silver_companies``,
``silver_financial_facts`` → ``v0_facts_canonical`` → ``v_income_statement_annual`` /
``v_balance_sheet_instant``) built from ``data/sec_dev.sql``, or against the file named by
``$SPINE_SEC_DB`` / the ``db_path`` run param. ``gross_margin`` and ``current_ratio`` are
computed from the facts instead of stored. The seed holds NVIDIA FY2023-2025 with the
spec's figures, including a restated FY2024 revenue that the canonical view resolves.
Spec comment vs code: the tearsheet line (74.9% gross margin, 89.6% ROE, 114.2% YoY)
matches what the code computes (97.729/130.497, 72.88/81.316, 130.497/60.922 - 1); the
"17.9M facts" is the production database, the bundled seed has 27.
"""

from __future__ import annotations

import os

from engine import ManagedWorkflow
from sample_workflows._sec_db import connect, sec_db_path

# ── Database connection config (from .env or environment) ──
DB_CONFIG = {
    "path": os.getenv("SPINE_SEC_DB", ""),
    "dbname": "sec_dev_data",
}


def connect_to_sec_db(db_path: str = "") -> dict:
    """Connect to the SEC EDGAR database and count the Silver facts."""
    path = sec_db_path(db_path or DB_CONFIG["path"])
    with connect(str(path)) as conn:
        count = conn.execute("SELECT COUNT(*) FROM silver_financial_facts").fetchone()[0]
    conn.close()
    return {
        "connected": True,
        "host": "sqlite",
        "database": DB_CONFIG["dbname"],
        "db_path": str(path),
        "total_facts": count,
    }


def query_company_financials(
    connected: bool = False,
    ticker: str = "NVDA",
    db_path: str = "",
) -> dict:
    """Query key financials from v_income_statement_annual view.

    Uses the canonical view chain:
      silver_financial_facts
        → v0_facts_canonical (dedup, restatement resolution)
          → v_income_statement_annual (pivoted by XBRL tag)
    """
    with connect(db_path) as conn:
        rows = conn.execute(
            """
            SELECT fiscal_year, total_revenue, gross_profit, net_income, eps_diluted
            FROM v_income_statement_annual
            WHERE company_id = (SELECT company_id FROM silver_companies WHERE ticker = ?)
            ORDER BY fiscal_year DESC
            LIMIT 3
            """, (ticker,)).fetchall()
    conn.close()
    if not rows:
        raise LookupError(f"no annual income statement for ticker {ticker!r}")
    return {
        "ticker": ticker,
        "periods": [
            {"fy": r["fiscal_year"], "revenue": r["total_revenue"],
             "net_income": r["net_income"],
             "gross_margin": round(r["gross_profit"] / r["total_revenue"], 4),
             "eps": r["eps_diluted"]}
            for r in rows
        ],
    }


def query_balance_sheet(ticker: str = "NVDA", db_path: str = "") -> dict:
    """Query balance sheet from v_balance_sheet_instant view.

    SQL:
      SELECT total_assets, total_liabilities, stockholders_equity,
             cash_and_equivalents, current_assets, current_liabilities
      FROM v_balance_sheet_instant
      WHERE company_id = (...) AND is_most_recent = true;
    """
    with connect(db_path) as conn:
        row = conn.execute(
            """
            SELECT total_assets, total_liabilities, stockholders_equity,
                   cash_and_equivalents, current_assets, current_liabilities
            FROM v_balance_sheet_instant
            WHERE company_id = (SELECT company_id FROM silver_companies WHERE ticker = ?)
              AND is_most_recent
            """, (ticker,)).fetchone()
    conn.close()
    if row is None:
        raise LookupError(f"no balance sheet for ticker {ticker!r}")
    return {
        "ticker": ticker,
        "total_assets": row["total_assets"],
        "total_liabilities": row["total_liabilities"],
        "equity": row["stockholders_equity"],
        "current_ratio": round(row["current_assets"] / row["current_liabilities"], 2),
    }


def calculate_tearsheet(
    ticker: str = "",
    periods: list | None = None,
    total_assets: float = 0,
    equity: float = 0,
) -> dict:
    """Calculate Bloomberg-style tearsheet from queried data."""
    latest = (periods or [{}])[0]
    revenue = latest.get("revenue", 0)
    net_income = latest.get("net_income", 0)

    return {
        "ticker": ticker,
        "tearsheet": {
            "gross_margin": latest.get("gross_margin", 0),
            "net_margin": round(net_income / revenue, 4) if revenue else 0,
            "roe": round(net_income / equity, 4) if equity else 0,
            "roa": round(net_income / total_assets, 4) if total_assets else 0,
            "revenue_growth_yoy": round(
                (periods[0]["revenue"] / periods[1]["revenue"] - 1), 4
            ) if periods and len(periods) > 1 else 0,
        },
        "source": "sqlite:sec_dev_data",
    }


# ── Build workflow ──
wf = (
    ManagedWorkflow("sec.query_live_db", domain="sec",
                    description="Query NVIDIA financials from the SEC database and build a tearsheet",
                    tags=["financial", "sec", "sqlite", "managed"])
    .step("connect", connect_to_sec_db)
    .step("income", query_company_financials, config={"ticker": "NVDA"})
    .step("balance", query_balance_sheet, config={"ticker": "NVDA"})
    .step("tearsheet", calculate_tearsheet)
    .build()
)

if __name__ == "__main__":
    result = wf.run()
    wf.show()
