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

Per-share figures (``eps_diluted``, ``diluted_shares``, ``book_value_per_share``) are on
today's share basis: the ``adjustments`` step's split-adjusted values where a company had a
corporate action, the reported ones otherwise; ``split_factor`` is the divisor applied to the
reported EPS (1 when none). Book value per share is equity over the period's weighted diluted
shares. Beneish's M is for an annual row whose company filed the previous fiscal year too
(the eight indices need both years); net income stands in for income from continuing
operations, and ``securities`` are non-current marketable securities (0 when not reported).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np
import pandas as pd

from engine.finance import (
    BENEISH_THRESHOLD,
    altman_z,
    altman_zone,
    beneish_indices,
    beneish_m,
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
SELECT i.*, b.total_assets, b.current_assets, b.cash, b.receivables, b.inventory, b.ppe,
       b.securities, b.total_liabilities, b.current_liabilities, b.long_term_debt,
       b.stockholders_equity, b.retained_earnings
FROM v_income_statement i
LEFT JOIN v_balance_sheet_instant b
    ON b.company_id = i.company_id AND b.period_end_date = i.period_end_date
"""
_TICKERS = """
SELECT c.company_id, t.ticker FROM silver_companies c JOIN ref_company_tickers t USING (cik)
"""
_ADJUSTED = """
SELECT company_id, period_end_date, period_type, concept, adjusted, factor
FROM silver_per_share_adjustments
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
    frame = frame.merge(pd.read_sql_query(_TICKERS, conn), on="company_id", how="left")
    frame = _with_adjusted(frame, pd.read_sql_query(_ADJUSTED, conn))
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
        "ticker": f["ticker"], "total_revenue": revenue, "net_income": f["net_income"],
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
    out["beneish_m"] = _beneish(f)
    series = f["company_id"].astype(str) + "|" + f["period_type"]
    out["revenue_growth"] = pct_change(revenue, groups=series)
    out["eps_diluted"] = f["eps_adjusted"]
    out["diluted_shares"] = f["shares_adjusted"]
    out["book_value_per_share"] = _per_share(equity, f["shares_adjusted"])
    out["split_factor"] = f["split_factor"]
    return out


def _with_adjusted(frame: pd.DataFrame, adjusted: pd.DataFrame) -> pd.DataFrame:
    """``eps_adjusted``, ``shares_adjusted`` and ``split_factor`` columns: the adjustments
    step's values where it has them, the reported figures (factor 1) everywhere else."""
    keys = ["company_id", "period_end_date", "period_type"]
    wide = adjusted.pivot_table(index=keys, columns="concept", values=["adjusted", "factor"],
                                aggfunc="first")
    wide.columns = [f"{value}_{concept}" for value, concept in wide.columns]
    frame = frame.merge(wide.reset_index(), on=keys, how="left") if len(wide) else frame
    eps_adj = frame.get("adjusted_eps_diluted", pd.Series(np.nan, index=frame.index))
    shares_adj = frame.get("adjusted_diluted_shares", pd.Series(np.nan, index=frame.index))
    factor = frame.get("factor_eps_diluted", pd.Series(np.nan, index=frame.index))
    frame["eps_adjusted"] = eps_adj.fillna(frame["eps_diluted"])
    frame["shares_adjusted"] = shares_adj.fillna(frame["diluted_shares"])
    frame["split_factor"] = factor.fillna(1.0)
    return frame.drop(columns=[c for c in frame.columns
                               if c.startswith(("adjusted_", "factor_"))])


def _per_share(amount: pd.Series, shares: pd.Series) -> pd.Series:
    """``amount / shares``, NaN where shares are zero or missing."""
    values = np.full(len(amount), np.nan)
    a, b = amount.to_numpy(dtype=float), shares.to_numpy(dtype=float)
    np.divide(a, b, out=values, where=(b != 0) & ~np.isnan(b))
    return pd.Series(values, index=amount.index)


def _beneish(f: pd.DataFrame) -> pd.Series:
    """Beneish's M of annual rows whose company filed the fiscal year before as well."""
    annual = f["period_type"] == "annual"
    group = f["company_id"].where(annual)
    columns = ["total_revenue", "cost_of_revenue", "receivables", "current_assets", "ppe",
               "securities", "total_assets", "depreciation_amortization", "sga",
               "current_liabilities", "long_term_debt", "fiscal_year"]
    prev = f[columns].groupby(group).shift(1)
    consecutive = annual & (f["fiscal_year"] - prev["fiscal_year"] == 1)
    indices = beneish_indices(
        receivables=f["receivables"], sales=f["total_revenue"], cogs=f["cost_of_revenue"],
        current_assets=f["current_assets"], ppe=f["ppe"], total_assets=f["total_assets"],
        depreciation=f["depreciation_amortization"], sga=f["sga"],
        current_liabilities=f["current_liabilities"], long_term_debt=f["long_term_debt"],
        income_continuing_ops=f["net_income"], operating_cash_flow=f["operating_cash_flow"],
        prev_receivables=prev["receivables"], prev_sales=prev["total_revenue"],
        prev_cogs=prev["cost_of_revenue"], prev_current_assets=prev["current_assets"],
        prev_ppe=prev["ppe"], prev_total_assets=prev["total_assets"],
        prev_depreciation=prev["depreciation_amortization"], prev_sga=prev["sga"],
        prev_current_liabilities=prev["current_liabilities"],
        prev_long_term_debt=prev["long_term_debt"], securities=f["securities"].fillna(0.0),
        prev_securities=prev["securities"].fillna(0.0))
    score = beneish_m(**indices)
    return pd.Series(np.where(consecutive, score, np.nan), index=f.index)


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
                         "shares": f["shares_adjusted"], "turn": turnover}
                        ).groupby(group).shift(1)
    score = piotroski_f(f["net_income"], f["operating_cash_flow"], f["total_assets"],
                        f["current_assets"], f["current_liabilities"], f["total_liabilities"],
                        f["gross_profit"], f["total_revenue"], f["shares_adjusted"],
                        prev["roa"], prev["cr"], prev["gm"], prev["lev"], prev["shares"],
                        prev["turn"])
    return pd.Series(np.where(annual, score, np.nan), index=f.index)


def upsert_metrics(conn: sqlite3.Connection, metrics: pd.DataFrame) -> dict[str, int]:
    """Write ``metrics`` with ``ON CONFLICT ... DO UPDATE``; how many were new vs updated."""
    columns = ["company_id", "period_end_date", "period_type", "fiscal_year", "ticker",
               "total_revenue", "net_income", *GOLD_METRICS, "altman_zone"]
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
            "median_return_on_equity": _num(median["return_on_equity"]),
            "beneish_scored": int(metrics["beneish_m"].notna().sum()),
            "beneish_likely_manipulators": int((metrics["beneish_m"] > BENEISH_THRESHOLD).sum()),
            "split_adjusted_rows": int((metrics["split_factor"] != 1.0).sum())}


def _num(value: Any) -> float | None:
    return None if pd.isna(value) else round(float(value), 4)
