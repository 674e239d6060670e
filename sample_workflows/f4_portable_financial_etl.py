"""Portable financial ETL: one .pyz archive configured by the environment it runs in (spec F4).

``load_env`` builds the connection settings from ``PGHOST``/``PGPORT``/``PGDATABASE`` and the
database user from the secret ``pguser`` (``$PGUSER``, default ``postgres``) when the step
runs, so nothing of the environment is baked into the archive: the same file runs against dev
and prod by what the environment says, and a resolved user name is masked in everything the
run stores. The spec's fetch and calculate return fixed numbers; here ``fetch`` reads a
company's latest fiscal year from the SQLite copy of the SEC database the F1/F5 samples query
(the ``ticker`` param, default NVDA; ``db_path`` or ``$SPINE_SEC_DB`` for another copy) and
``calculate`` computes its margins, return on equity, current ratio and debt to equity.
``store`` is the ``warehouse.store_metrics`` pipeline (``sample_workflows._warehouse``).

Running this file packages the workflow into ``dist/`` under the samples scratch folder, runs
it here, inspects the archive and runs ``python dist/portable_financial_etl.pyz``.
"""

from __future__ import annotations

import os
from contextlib import closing
from typing import Any

import sample_workflows._warehouse  # noqa: F401  (registers warehouse.store_metrics)
from engine import EnvSecretBackend, SecretsResolver, Step, StepResult, Workflow, WorkflowContext
from sample_workflows._package_demo import package_run_inspect
from sample_workflows._sec_db import connect, sec_db_path


# ── Named handlers (carried in the .pyz) ──
def load_env_config(ctx: WorkflowContext, config: dict[str, Any]) -> StepResult:
    """Load environment config — the same code locally and from the .pyz."""
    resolver = SecretsResolver([EnvSecretBackend()])
    db_host = os.getenv("PGHOST", "localhost")
    db_port = os.getenv("PGPORT", "5447")
    db_name = os.getenv("PGDATABASE", "sec_dev_data")
    db_user = resolver.resolve("pguser", default="postgres")
    return StepResult.ok(output={
        "db_url": f"postgresql://{db_user}@{db_host}:{db_port}/{db_name}",
        "env_loaded": True,
        "sec_db": str(sec_db_path(ctx.params.get("db_path", ""))),
    })


def fetch_financial_data(ctx: WorkflowContext, config: dict[str, Any]) -> StepResult:
    """The latest annual income statement and balance sheet of ``ticker``."""
    ticker = str(ctx.params.get("ticker", "NVDA")).upper()
    with closing(connect(ctx.get_output("load_env", "sec_db", ""))) as conn:
        company = conn.execute("SELECT company_id, name FROM silver_companies WHERE ticker = ?",
                               (ticker,)).fetchone()
        if company is None:
            return StepResult.fail(f"no company with ticker {ticker!r} in the SEC database",
                                   category="DATA_QUALITY")
        income = conn.execute("SELECT * FROM v_income_statement_annual WHERE company_id = ? "
                              "ORDER BY fiscal_year DESC LIMIT 1",
                              (company["company_id"],)).fetchone()
        balance = income and conn.execute(
            "SELECT * FROM v_balance_sheet_instant WHERE company_id = ? AND fiscal_year = ?",
            (company["company_id"], income["fiscal_year"])).fetchone()
        records = conn.execute("SELECT COUNT(*) FROM silver_financial_facts WHERE "
                               "company_id = ?", (company["company_id"],)).fetchone()[0]
    if income is None or balance is None:
        return StepResult.fail(f"{ticker} has no annual statements in the SEC database",
                               category="DATA_QUALITY")
    return StepResult.ok(output={
        "ticker": ticker, "company": company["name"], "fiscal_year": income["fiscal_year"],
        "records": records, "table": "silver_financial_facts",
        "income": dict(income), "balance": dict(balance),
    })


def calculate_metrics(ctx: WorkflowContext, config: dict[str, Any]) -> StepResult:
    """Margins, return on equity, current ratio and debt to equity of the fetched year."""
    income = ctx.get_output("fetch", "income", {})
    balance = ctx.get_output("fetch", "balance", {})
    revenue, equity = income.get("total_revenue"), balance.get("stockholders_equity")
    metrics = {
        "gross_margin": _ratio(income.get("gross_profit"), revenue),
        "operating_margin": _ratio(income.get("operating_income"), revenue),
        "net_margin": _ratio(income.get("net_income"), revenue),
        "roe": _ratio(income.get("net_income"), equity),
        "current_ratio": _ratio(balance.get("current_assets"),
                                balance.get("current_liabilities")),
        "debt_to_equity": _ratio(balance.get("total_liabilities"), equity),
    }
    metrics = {name: value for name, value in metrics.items() if value is not None}
    return StepResult.ok(output={
        "metrics_calculated": ctx.get_output("fetch", "records", 0),
        "ratios": sorted(metrics), "metrics": metrics,
    })


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 4)


# ── Build the workflow ──
wf = Workflow(
    name="portable.financial_etl",
    domain="finance",
    version=2,
    description="Portable financial ETL — runs from .pyz archive",
    steps=[
        Step.lambda_("load_env", load_env_config),
        Step.lambda_("fetch", fetch_financial_data),
        Step.lambda_("calculate", calculate_metrics),
        Step.pipeline("store", "warehouse.store_metrics"),
    ],
    tags=["portable", "finance", "etl"],
    defaults={"batch_size": 5000},
)

if __name__ == "__main__":
    package_run_inspect(wf)
