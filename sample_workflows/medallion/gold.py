"""Spec R4: the gold layer, a tearsheet of financial metrics per company and period.

The canonical statement views (R7) are read into one frame (income statement per annual or
quarterly period joined to the balance sheet at its end and, for years, the cover page's
public float), and every metric is computed for all rows at once by ``engine.finance``'s
numba kernels. Rows are upserted on (company, period end, period type), so re-running gold
updates in place. Missing inputs and zero denominators give NULL for that metric only.

Choices the spec leaves open: debt is long-term debt (D/E, debt/EBITDA, ROIC); EBITDA is
operating income plus D&A; Altman's market value of equity is the 10-K's public float, so
Altman Z is for annual rows only; quarterly returns are per quarter, not annualised; a company
without inventory has a quick ratio equal to its current ratio; Piotroski F needs the prior
fiscal year, so the first year is NULL; ``revenue_growth`` is against the previous period of
the same type (year over year for annual rows, quarter over quarter for quarterly rows).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np
import pandas as pd

from engine.finance import (
    altman_z,
    altman_zone,
    cash_ratio,
    current_ratio,
    debt_to_assets,
    debt_to_ebitda,
    debt_to_equity,
    gross_margin,
    interest_coverage,
    net_margin,
    operating_margin,
    pct_change,
    piotroski_f,
    quick_ratio,
    return_on_assets,
    return_on_equity,
    roic,
    working_capital,
)
from sample_workflows.medallion.schema import GOLD_METRICS, transaction, utc_now

_INPUTS = """
SELECT i.*, b.total_assets, b.current_assets, b.cash, b.inventory, b.total_liabilities,
       b.current_liabilities, b.long_term_debt, b.stockholders_equity, b.retained_earnings
FROM v_income_statement i
LEFT JOIN v_balance_sheet_instant b
    ON b.company_id = i.company_id AND b.period_end_date = i.period_end_date
"""
_FLOAT = """
SELECT company_id, CAST(substr(as_of_date, 1, 4) AS INTEGER) AS fiscal_year,
       MAX(public_float) AS public_float
FROM v_cover_page WHERE public_float IS NOT NULL GROUP BY 1, 2
"""


def load_inputs(conn: sqlite3.Connection) -> pd.DataFrame:
    """One row per company and annual or quarterly period with the tearsheet's inputs."""
    frame = pd.read_sql_query(_INPUTS, conn)
    floats = pd.read_sql_query(_FLOAT, conn)
    frame["year"] = frame["period_end_date"].str[:4].astype(int)
    frame = frame.merge(floats.rename(columns={"fiscal_year": "year"}),
                        on=["company_id", "year"], how="left")
    annual = frame["period_type"] == "annual"
    frame.loc[~annual, "public_float"] = np.nan
    return frame.sort_values(["company_id", "period_type", "period_end_date"],
                             ignore_index=True)


def tearsheet(frame: pd.DataFrame) -> pd.DataFrame:
    """Every metric for every row of ``load_inputs``, computed column-wise by the kernels."""
    f = frame
    revenue, assets, equity = f["total_revenue"], f["total_assets"], f["stockholders_equity"]
    ebitda = f["operating_income"] + f["depreciation_amortization"]
    inventory = f["inventory"].fillna(0.0)
    out = pd.DataFrame({
        "company_id": f["company_id"], "period_end_date": f["period_end_date"],
        "period_type": f["period_type"], "fiscal_year": f["fiscal_year"],
        "total_revenue": revenue, "net_income": f["net_income"],
    })
    out["gross_margin"] = gross_margin(revenue, f["cost_of_revenue"])
    out["operating_margin"] = operating_margin(f["operating_income"], revenue)
    out["net_margin"] = net_margin(f["net_income"], revenue)
    out["return_on_assets"] = return_on_assets(f["net_income"], assets)
    out["return_on_equity"] = return_on_equity(f["net_income"], equity)
    out["roic"] = roic(f["operating_income"], f["long_term_debt"], equity, f["cash"])
    out["current_ratio"] = current_ratio(f["current_assets"], f["current_liabilities"])
    out["quick_ratio"] = quick_ratio(f["current_assets"], f["current_liabilities"], inventory)
    out["cash_ratio"] = cash_ratio(f["cash"], f["current_liabilities"])
    wc = working_capital(f["current_assets"], f["current_liabilities"])
    out["working_capital"] = wc
    out["debt_to_equity"] = debt_to_equity(f["long_term_debt"], equity)
    out["debt_to_assets"] = debt_to_assets(f["total_liabilities"], assets)
    out["interest_coverage"] = interest_coverage(f["operating_income"], f["interest_expense"])
    out["debt_to_ebitda"] = debt_to_ebitda(f["long_term_debt"], ebitda)
    out["altman_z"] = altman_z(wc, f["retained_earnings"], f["operating_income"],
                               f["public_float"], f["total_liabilities"], revenue, assets)
    out["altman_zone"] = altman_zone(out["altman_z"])
    out["piotroski_f"] = _piotroski(f)
    series = f["company_id"].astype(str) + "|" + f["period_type"]
    out["revenue_growth"] = pct_change(revenue, groups=series)
    return out


def _piotroski(f: pd.DataFrame) -> pd.Series:
    """Piotroski F of annual rows against the same company's previous annual row."""
    annual = f["period_type"] == "annual"
    roa = f["net_income"] / f["total_assets"]
    current = f["current_assets"] / f["current_liabilities"]
    margin = f["gross_profit"] / f["total_revenue"]
    leverage = f["total_liabilities"] / f["total_assets"]
    turnover = f["total_revenue"] / f["total_assets"]
    group = f["company_id"].where(annual)
    prev = pd.DataFrame({"roa": roa, "cr": current, "gm": margin, "lev": leverage,
                         "shares": f["diluted_shares"], "turn": turnover}).groupby(group).shift(1)
    score = piotroski_f(f["net_income"], f["operating_cash_flow"], f["total_assets"],
                        f["current_assets"], f["current_liabilities"], f["total_liabilities"],
                        f["gross_profit"], f["total_revenue"], f["diluted_shares"],
                        prev["roa"], prev["cr"], prev["gm"], prev["lev"], prev["shares"],
                        prev["turn"])
    return pd.Series(np.where(annual, score, np.nan), index=f.index)


def upsert_metrics(conn: sqlite3.Connection, metrics: pd.DataFrame) -> dict[str, int]:
    """Write ``metrics`` with ``ON CONFLICT ... DO UPDATE``; how many were new vs updated."""
    columns = ["company_id", "period_end_date", "period_type", "fiscal_year", "total_revenue",
               "net_income", *GOLD_METRICS, "altman_zone"]
    now = utc_now()
    cleaned = metrics[columns].astype(object).where(metrics[columns].notna(), None)
    cleaned = cleaned.replace([np.inf, -np.inf], None)
    rows = [(*row, now) for row in cleaned.itertuples(index=False, name=None)]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[3:] + ["computed_at"])
    with transaction(conn):
        before = conn.execute("SELECT COUNT(*) FROM gold_financial_metrics").fetchone()[0]
        conn.executemany(
            f"INSERT INTO gold_financial_metrics ({', '.join(columns)}, computed_at) "
            f"VALUES ({', '.join('?' * (len(columns) + 1))}) "
            f"ON CONFLICT (company_id, period_end_date, period_type) DO UPDATE SET {updates}",
            rows)
        after = conn.execute("SELECT COUNT(*) FROM gold_financial_metrics").fetchone()[0]
    return {"rows_upserted": len(rows), "inserted": after - before,
            "updated": len(rows) - (after - before)}


def summarise(metrics: pd.DataFrame) -> dict[str, Any]:
    """A few figures worth showing in the run's output."""
    annual = metrics[metrics["period_type"] == "annual"]
    latest = annual[annual["period_end_date"] == annual["period_end_date"].max()]
    zones = latest["altman_zone"].value_counts().to_dict()
    median = latest[["gross_margin", "net_margin", "return_on_equity"]].median()
    return {"companies": int(metrics["company_id"].nunique()),
            "periods": int(metrics["period_end_date"].nunique()),
            "latest_fiscal_year_end": None if latest.empty else str(latest.iloc[0, 1]),
            "altman_zones_latest_year": {str(k): int(v) for k, v in zones.items()},
            "median_gross_margin": _num(median["gross_margin"]),
            "median_net_margin": _num(median["net_margin"]),
            "median_return_on_equity": _num(median["return_on_equity"])}


def _num(value: Any) -> float | None:
    return None if pd.isna(value) else round(float(value), 4)
