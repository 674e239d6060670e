"""Financial calculation pipeline (spec §8): CSV data → ratios → returns → portfolio risk → compliance.

``load_data`` reads three bundled CSV files (statements per company, year and segment; daily
closes of AAPL, MSFT, JPM and SPY for H1 2024; a book of quantities) into the run's artifact
store. ``compute_ratios`` sums each company-year's segments and computes leverage, liquidity,
margin and coverage ratios (SHEL, with no revenue, equity or current liabilities, gets NaN
ratios, not a failed batch); ``daily_returns`` adds per-ticker returns and 20-day rolling mean
and volatility; ``monthly_returns`` compounds them per calendar month; ``portfolio_risk``
values the buy-and-hold book every day and reports its 95% VaR/CVaR, Sharpe, Sortino, beta to
SPY and maximum drawdown; ``check_compliance`` runs the rules of
``_financial_calculations_rules.yaml`` over the ratio rows and the risk figures: CONT's current
ratio in both years (0.90, 0.81), the interest cover of CONT 2024 (2.53) and SHEL (negative)
and SHEL's undefined leverage are five warnings; no error-severity rule is broken (the
book's 95% VaR is about 1.3% a day, under the 3% limit), so the run completes.

Tables travel between steps as artifact references (``$.artifacts.NAME``), so the workflow
needs an artifact store: tracked runs (``spine-engine run``, the workbench) have one, and
running this file gives one under the samples' scratch folder.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from engine import (
    ComplianceRules,
    FinancialCalculation,
    LocalArtifactStore,
    RiskCalculation,
    Step,
    StepResult,
    TimeSeriesAggregation,
    Workflow,
    WorkflowContext,
    WorkflowRunner,
    format_result,
)
from sample_workflows._common import data_file, scratch_path

#: the bundled inputs, each stored as the artifact of the same name
INPUTS = {"financials": "calc_financials.csv", "prices": "calc_prices.csv",
          "portfolio": "calc_portfolio.csv"}
RULES_FILE = "_financial_calculations_rules.yaml"


def load_data(ctx: WorkflowContext, config: dict[str, Any]) -> StepResult:
    """Read the bundled CSV files into the artifact store, one artifact per table."""
    store = ctx.artifact_store
    if store is None:
        return StepResult.fail("this workflow passes tables as artifacts and the run has no "
                               "artifact store; run it with spine-engine run, or pass "
                               "WorkflowRunner(artifact_store=LocalArtifactStore(path))",
                               category="CONFIGURATION")
    output: dict[str, Any] = {}
    for name, file in INPUTS.items():
        frame = pd.read_csv(data_file(file))
        output[name] = store.put_dataframe(f"runs/{ctx.run_id}/load_data/{name}.parquet", frame,
                                           run_id=ctx.run_id, step="load_data")
        output[f"{name}_rows"] = len(frame)
    return StepResult.ok(output)


wf = Workflow(
    name="finance.calculations",
    domain="finance",
    description="Ratios, returns, portfolio risk and compliance rules over bundled CSV data",
    tags=["financial", "calculations", "risk", "compliance", "numba"],
    steps=[
        Step.lambda_("load_data", load_data),
        Step.calculate(
            name="compute_ratios",
            calculation=FinancialCalculation(
                metrics=["debt_to_equity", "current_ratio", "quick_ratio", "net_margin",
                         "interest_coverage"],
                input_ref="$.artifacts.financials",
                group_by=["company_id", "fiscal_year"],
                output_format="parquet",
            ),
        ),
        Step.aggregate(
            name="daily_returns",
            aggregation=TimeSeriesAggregation(
                input_ref="$.artifacts.prices",
                time_column="date",
                value_columns=["close"],
                operations=["pct_change", "rolling_mean_20", "rolling_std_20"],
                group_by=["ticker"],
            ),
        ),
        Step.aggregate(
            name="monthly_returns",
            aggregation=TimeSeriesAggregation(
                input_ref="$.artifacts.daily_returns",
                time_column="date",
                value_columns=["close_pct_change"],
                operations=[],
                group_by=["ticker"],
                period="M",
                period_aggregations={"close_pct_change": "compound"},
                output_format="records",
            ),
        ),
        Step.calculate(
            name="portfolio_risk",
            calculation=RiskCalculation(
                portfolio_ref="$.artifacts.portfolio",
                prices_ref="$.artifacts.prices",
                metrics=["var_95", "cvar_95", "sharpe", "sortino", "beta", "max_drawdown"],
                lookback_days=252,
                benchmark="SPY",
            ),
        ),
        Step.validate(
            name="check_compliance",
            rules=ComplianceRules(
                rules_path=RULES_FILE,
                input_ref="$.artifacts.compute_ratios",
                metrics_ref="$.outputs.portfolio_risk.metrics",
                fail_on_violation=True,
            ),
        ),
    ],
)


if __name__ == "__main__":
    store = LocalArtifactStore(scratch_path("artifacts"))
    result = WorkflowRunner(artifact_store=store).execute(wf)
    print(format_result(wf, result))
