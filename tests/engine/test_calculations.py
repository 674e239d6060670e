"""Spec §8's calculation steps: FinancialCalculation and TimeSeriesAggregation through real runs,
with their tables passed as artifact references (``$.artifacts.NAME``) in a real
LocalArtifactStore; expected figures are worked out here by hand or with plain numpy/pandas."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine import (
    ArtifactRef,
    ErrorCategory,
    FinancialCalculation,
    LocalArtifactStore,
    RunStatus,
    Step,
    StepType,
    TimeSeriesAggregation,
    Workflow,
    WorkflowContext,
    WorkflowResult,
    WorkflowRunner,
)

FINANCIALS = pd.DataFrame({
    "company_id": ["A", "A", "B", "C"],
    "fiscal_year": [2024, 2024, 2024, 2024],
    "debt": [10.0, 5.0, 3.0, 8.0],
    "equity": [20.0, 10.0, 0.0, 4.0],
    "current_assets": [5.0, 5.0, 4.0, "n/a"],
    "current_liabilities": [2.0, 3.0, 0.0, 2.0],
    "inventory": [1.0, 1.0, 1.0, 1.0],
})


def loader(**tables: pd.DataFrame) -> Callable[[WorkflowContext, Any], dict[str, Any]]:
    """A first step that stores each table as an artifact under its name (pickle: parquet
    refuses the column that mixes numbers and text)."""
    def load(ctx: WorkflowContext, config: Any) -> dict[str, Any]:
        store = ctx.artifact_store
        return {name: store.put_dataframe(f"in/{name}.pkl", frame, "pickle")
                for name, frame in tables.items()}
    return load


def run(tmp_path: Path, *steps: Step, store: bool = True) -> WorkflowResult:
    runner = WorkflowRunner(artifact_store=LocalArtifactStore(tmp_path / "artifacts")
                            if store else None)
    return runner.execute(Workflow("calc.test", steps=list(steps)))


def table(tmp_path: Path, output: dict[str, Any]) -> pd.DataFrame:
    return LocalArtifactStore(tmp_path / "artifacts").get_dataframe(output["artifact"])


# --------------------------------------------------------------------------- financial
def test_metrics_by_row_with_nan_for_zero_denominators_and_bad_cells(tmp_path: Path) -> None:
    result = run(tmp_path, Step.lambda_("load", loader(financials=FINANCIALS)),
                 Step.calculate("ratios", FinancialCalculation(
                     metrics=["debt_to_equity", "current_ratio", "quick_ratio"],
                     input_ref="$.artifacts.financials", output_format="parquet")))
    assert result.status is RunStatus.COMPLETED, result.error
    out = table(tmp_path, result.outputs["ratios"])
    assert list(out["company_id"]) == ["A", "A", "B", "C"]  # every input row, in order
    assert out["debt_to_equity"].tolist()[:2] == [0.5, 0.5]
    assert math.isnan(out["debt_to_equity"][2])  # equity 0 → NaN, not an exception
    assert out["debt_to_equity"][3] == 2.0
    assert out["current_ratio"].tolist()[:2] == [2.5, 5 / 3]
    assert math.isnan(out["current_ratio"][2])  # current liabilities 0
    assert math.isnan(out["current_ratio"][3])  # "n/a" in the batch → NaN for that row only
    assert out["quick_ratio"][0] == (5.0 - 1.0) / 2.0
    summary = result.outputs["ratios"]["summary"]
    assert summary["debt_to_equity"] == {"count": 3, "nan": 1, "mean": 1.0, "min": 0.5,
                                         "max": 2.0}
    assert result.outputs["ratios"]["row_count"] == 4


def test_group_by_sums_each_group_then_computes_or_takes_last(tmp_path: Path) -> None:
    calc = FinancialCalculation(metrics=["debt_to_equity", "current_ratio"],
                                input_ref="$.artifacts.financials",
                                group_by=["company_id", "fiscal_year"],
                                aggregate={"current_assets": "last"})
    result = run(tmp_path, Step.lambda_("load", loader(financials=FINANCIALS)),
                 Step.calculate("ratios", calc))
    out = table(tmp_path, result.outputs["ratios"]).set_index("company_id")
    assert list(out.index) == ["A", "B", "C"]
    assert out.loc["A", "debt"] == 15.0 and out.loc["A", "equity"] == 30.0
    assert out.loc["A", "debt_to_equity"] == 0.5
    # current assets: the group's last row (5), liabilities summed (2 + 3)
    assert out.loc["A", "current_ratio"] == 5.0 / 5.0
    assert math.isnan(out.loc["B", "debt_to_equity"])
    assert math.isnan(out.loc["C", "current_ratio"])  # its only current_assets is "n/a"


def test_columns_rename_inputs_and_defaults_fill_optional_ones(tmp_path: Path) -> None:
    frame = pd.DataFrame({"ebit": [100.0, 50.0], "borrowings": [300.0, 0.0],
                          "book": [200.0, 0.0]})
    calc = FinancialCalculation(metrics=["return_on_invested_capital"],
                                input_ref="$.outputs.load.rows",
                                columns={"operating_income": "ebit", "total_debt": "borrowings",
                                         "equity": "book"}, output_format="records")
    result = run(tmp_path, Step.lambda_("load", lambda ctx, cfg: {
        "rows": frame.to_dict("records")}), Step.calculate("roic", calc), store=False)
    rows = result.outputs["roic"]["rows"]
    # NOPAT / (debt + equity - cash), cash 0 and tax 21% by default
    assert rows[0]["return_on_invested_capital"] == pytest.approx(100 * 0.79 / 500)
    assert rows[1]["return_on_invested_capital"] is None  # 0 invested capital → NaN → null


def test_missing_column_fails_the_step_as_data_quality_naming_it(tmp_path: Path) -> None:
    result = run(tmp_path, Step.lambda_("load", loader(financials=FINANCIALS)),
                 Step.calculate("ratios", FinancialCalculation(
                     metrics=["interest_coverage"], input_ref="$.artifacts.financials")))
    step = result.steps["ratios"]
    assert step.status is RunStatus.FAILED
    assert step.category == ErrorCategory.DATA_QUALITY.value
    assert "needs column 'ebit'" in (step.error or "")
    assert "columns={'ebit': 'your_column'}" in (step.error or "")


def test_unknown_metrics_and_bad_references_fail_at_construction() -> None:
    with pytest.raises(ValueError, match="unknown metric 'debt_to_joy'.*current_ratio"):
        FinancialCalculation(metrics=["debt_to_joy"], input_ref="$.artifacts.x")
    with pytest.raises(ValueError, match="'sharpe_ratio' is a risk metric.*RiskCalculation"):
        FinancialCalculation(metrics=["sharpe_ratio"], input_ref="$.artifacts.x")
    with pytest.raises(TypeError, match="not the string"):
        FinancialCalculation(metrics="current_ratio", input_ref="$.artifacts.x")
    with pytest.raises(ValueError, match="not a run reference"):
        FinancialCalculation(metrics=["current_ratio"], input_ref="financials.csv")
    with pytest.raises(ValueError, match="input_ref is required"):
        FinancialCalculation(metrics=["current_ratio"])
    with pytest.raises(ValueError, match="unknown output_format 'xlsx'"):
        FinancialCalculation(metrics=["current_ratio"], input_ref="$.artifacts.x",
                             output_format="xlsx")
    with pytest.raises(TypeError, match="Step.calculate takes a FinancialCalculation"):
        Step.calculate("x", TimeSeriesAggregation(input_ref="$.artifacts.p",
                                                  value_columns=["close"]))


def test_calculation_steps_are_lambda_steps_described_by_what_they_compute() -> None:
    step = Step.calculate("ratios", FinancialCalculation(
        metrics=["current_ratio"], input_ref="$.artifacts.financials", group_by=["co"]))
    assert step.step_type is StepType.LAMBDA
    assert step.description == ("calculate: current_ratio over $.artifacts.financials by co")
    assert step.target == "FinancialCalculation"


# --------------------------------------------------------------------------- artifacts
def test_artifact_references_resolve_by_step_and_by_output_key(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    one = store.put_json("a.json", [1])
    two = store.put_json("b.json", [2])
    ctx = WorkflowContext("run-1")
    ctx.set_output("alone", one)
    ctx.set_output("pair", {"prices": one.to_dict(), "portfolio": two, "n": 2})
    ctx.set_output("result", {"artifact": two, "other": one})
    assert ctx.resolve("$.artifacts.alone") == one
    assert ctx.resolve("$.artifacts.prices") == one  # the stored dict form counts too
    assert ctx.resolve("$.artifacts.portfolio") == two
    assert ctx.resolve("$.artifacts.result") == two  # "artifact" names the step's own
    assert "pair" not in ctx.artifacts  # two refs and no "artifact": no step-level name
    assert set(ctx.resolve("$.artifacts")) == {"alone", "prices", "portfolio", "artifact",
                                                "other", "result"}
    with pytest.raises(KeyError, match=r"artifacts so far: alone, artifact, other"):
        ctx.resolve("$.artifacts.missing")
    with pytest.raises(KeyError, match="'\\$.artifacts.NAME'"):
        ctx.resolve("$.artifacts.alone.key")
    ctx.set_output("later", {"prices": two})
    assert ctx.resolve("$.artifacts.prices") == two  # later outputs win


def test_result_tables_go_out_as_artifacts_and_chain_into_the_next_step(
        tmp_path: Path) -> None:
    first = FinancialCalculation(metrics=["debt_to_equity"], input_ref="$.artifacts.financials",
                                 group_by=["company_id"], output_format="json")
    second = FinancialCalculation(metrics=["debt_to_assets"], input_ref="$.artifacts.ratios",
                                  columns={"total_assets": "equity"})
    result = run(tmp_path, Step.lambda_("load", loader(financials=FINANCIALS)),
                 Step.calculate("ratios", first), Step.calculate("again", second))
    assert result.status is RunStatus.COMPLETED, result.error
    ref = result.outputs["ratios"]["artifact"]
    assert isinstance(ref, ArtifactRef) and ref.content_type == "application/json"
    assert ref.key.startswith(f"runs/{result.run_id}/ratios/")
    rows = LocalArtifactStore(tmp_path / "artifacts").get_json(ref)
    assert rows[1] == {"company_id": "B", "debt": 3.0, "equity": 0.0, "debt_to_equity": None}
    again = table(tmp_path, result.outputs["again"])  # default: parquet when there is a store
    assert again["debt_to_assets"].tolist()[0] == 0.5


def test_without_a_store_tables_come_inline_and_artifacts_fail_clearly(
        tmp_path: Path) -> None:
    rows = FINANCIALS.iloc[:2].to_dict("records")
    inline = run(tmp_path, Step.lambda_("load", lambda ctx, cfg: {"rows": rows}),
                 Step.calculate("ratios", FinancialCalculation(
                     metrics=["debt_to_equity"], input_ref="$.outputs.load.rows")), store=False)
    assert inline.outputs["ratios"]["rows"][0]["debt_to_equity"] == 0.5
    asked = run(tmp_path, Step.lambda_("load", lambda ctx, cfg: {"rows": rows}),
                Step.calculate("ratios", FinancialCalculation(
                    metrics=["debt_to_equity"], input_ref="$.outputs.load.rows",
                    output_format="parquet")), store=False)
    assert asked.steps["ratios"].category == ErrorCategory.CONFIGURATION.value
    assert "no artifact store" in (asked.steps["ratios"].error or "")
    missing = run(tmp_path, Step.lambda_("load", loader(financials=FINANCIALS)),
                  Step.calculate("ratios", FinancialCalculation(
                      metrics=["debt_to_equity"], input_ref="$.artifacts.financial")))
    assert missing.steps["ratios"].category == ErrorCategory.DEPENDENCY.value
    assert "artifacts so far: financials" in (missing.steps["ratios"].error or "")


# --------------------------------------------------------------------------- time series
def prices() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    days = pd.bdate_range("2024-01-01", periods=70)
    frames = []
    for ticker, start in (("BBB", 50.0), ("AAA", 100.0)):
        close = start * np.cumprod(1 + rng.normal(0.001, 0.02, len(days)))
        frames.append(pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "ticker": ticker,
                                    "close": close}))
    frame = pd.concat(frames).sample(frac=1.0, random_state=3)  # shuffled rows
    frame.loc[frame.index[5], "close"] = 0.0  # a zero price: the next change is NaN
    return frame.reset_index(drop=True)


def test_time_series_operations_match_pandas_per_group_in_time_order(
        tmp_path: Path) -> None:
    frame = prices()
    calc = TimeSeriesAggregation(input_ref="$.artifacts.prices", time_column="date",
                                 value_columns=["close"],
                                 operations=["pct_change", "rolling_mean_20", "rolling_std_20"],
                                 group_by=["ticker"])
    result = run(tmp_path, Step.lambda_("load", loader(prices=frame)),
                 Step.aggregate("daily_returns", calc))
    assert result.status is RunStatus.COMPLETED, result.error
    out = table(tmp_path, result.outputs["daily_returns"])
    expected = frame.assign(date=pd.to_datetime(frame["date"])).sort_values(["ticker", "date"])
    grouped = expected.groupby("ticker")["close"]
    change = grouped.pct_change().replace([np.inf, -np.inf], np.nan).to_numpy()
    assert list(out["ticker"]) == list(expected["ticker"])
    np.testing.assert_allclose(out["close_pct_change"], change, equal_nan=True)
    np.testing.assert_allclose(out["close_rolling_mean_20"],
                               grouped.rolling(20).mean().to_numpy(), equal_nan=True)
    np.testing.assert_allclose(out["close_rolling_std_20"],
                               grouped.rolling(20).std().to_numpy(), equal_nan=True)
    zero_row = out.index[out["close"] == 0.0][0]
    assert math.isnan(out["close_pct_change"][zero_row + 1])  # change from zero → NaN


def test_period_roll_up_compounds_returns_and_keeps_the_last_close(tmp_path: Path) -> None:
    frame = pd.DataFrame({"date": ["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02",
                                   "2024-01-29"],
                          "close": [101.0, 102.0, 99.0, 100.0, 100.0]})
    calc = TimeSeriesAggregation(input_ref="$.outputs.load.rows", value_columns=["close"],
                                 operations=["pct_change"], period="month",
                                 output_format="records")
    result = run(tmp_path, Step.lambda_("load", lambda ctx, cfg: {
        "rows": frame.to_dict("records")}), Step.aggregate("monthly", calc), store=False)
    rows = result.outputs["monthly"]["rows"]
    assert [r["period"] for r in rows] == ["2024-01", "2024-02"]
    assert [r["date"] for r in rows] == ["2024-01-31", "2024-02-02"]
    assert [r["close"] for r in rows] == [102.0, 100.0]
    # January: 100 → 101 → 102 is +2%; February: 102 → 99 → 100 compounds to 100/102 - 1
    assert rows[0]["close_pct_change"] == pytest.approx(0.02)
    assert rows[1]["close_pct_change"] == pytest.approx(100 / 102 - 1)


def test_time_series_definition_errors_fail_at_construction() -> None:
    with pytest.raises(ValueError, match="unknown operation 'rolling_median_5'"):
        TimeSeriesAggregation(input_ref="$.artifacts.p", value_columns=["close"],
                              operations=["rolling_median_5"])
    with pytest.raises(ValueError, match="unknown period 'fortnight'"):
        TimeSeriesAggregation(input_ref="$.artifacts.p", value_columns=["close"],
                              period="fortnight")
    with pytest.raises(ValueError, match="value_columns is empty"):
        TimeSeriesAggregation(input_ref="$.artifacts.p")
    with pytest.raises(ValueError, match="use one of last"):
        TimeSeriesAggregation(input_ref="$.artifacts.p", value_columns=["close"], period="M",
                              period_aggregations={"close": "median"})


def test_a_missing_time_series_column_fails_as_data_quality(tmp_path: Path) -> None:
    result = run(tmp_path, Step.lambda_("load", loader(prices=prices())),
                 Step.aggregate("r", TimeSeriesAggregation(
                     input_ref="$.artifacts.prices", value_columns=["adj_close"])))
    assert result.steps["r"].category == ErrorCategory.DATA_QUALITY.value
    assert "['adj_close'] are not in the input" in (result.steps["r"].error or "")
