"""The financial calculations sample (spec §8) computes what its bundled CSV files say: every
figure below is worked out here from the files with the csv module and plain numpy, then
compared with what the workflow's steps produced, in an untracked run and in a tracked run
over a real SQLite store."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import (
    LocalArtifactStore,
    RunStatus,
    WorkflowPlayground,
    WorkflowResult,
    WorkflowRunner,
    start_run,
)
from sample_workflows import SAMPLES_DIR
from sample_workflows.financial_calculations import wf

DATA = SAMPLES_DIR / "data"


def rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path_factory.mktemp("artifacts"))


@pytest.fixture(scope="module")
def result(artifacts: LocalArtifactStore) -> WorkflowResult:
    outcome = WorkflowRunner(artifact_store=artifacts).execute(wf)
    assert outcome.status is RunStatus.COMPLETED, outcome.error
    return outcome


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def same(actual: Any, expected: float) -> bool:
    if math.isnan(expected):
        return actual is None or (isinstance(actual, float) and math.isnan(actual))
    return bool(actual == pytest.approx(expected, rel=1e-12))


def test_ratios_sum_segments_per_company_year(result: WorkflowResult,
                                              artifacts: LocalArtifactStore) -> None:
    totals: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows("calc_financials.csv"):
        group = totals[(row["company_id"], int(row["fiscal_year"]))]
        for key, value in row.items():
            if key not in ("company_id", "fiscal_year", "segment"):
                group[key] += float(value)
    table = artifacts.get_dataframe(result.outputs["compute_ratios"]["artifact"])
    assert len(table) == len(totals) == 7
    for record in table.to_dict("records"):
        t = totals[(record["company_id"], record["fiscal_year"])]
        assert same(record["debt_to_equity"], ratio(t["debt"], t["equity"]))
        assert same(record["current_ratio"], ratio(t["current_assets"],
                                                   t["current_liabilities"]))
        assert same(record["quick_ratio"], ratio(t["current_assets"] - t["inventory"],
                                                 t["current_liabilities"]))
        assert same(record["net_margin"], ratio(t["net_income"], t["revenue"]))
        assert same(record["interest_coverage"], ratio(t["ebit"], t["interest_expense"]))
    nwnd = table[(table.company_id == "NWND") & (table.fiscal_year == 2023)].iloc[0]
    assert nwnd["debt_to_equity"] == pytest.approx((1800 + 400) / (2100 + 700))
    summary = result.outputs["compute_ratios"]["summary"]
    assert summary["debt_to_equity"]["nan"] == 1  # SHEL: no equity
    assert summary["interest_coverage"]["nan"] == 2  # ACME: no interest in either year


def closes() -> dict[str, dict[str, float]]:
    by_ticker: dict[str, dict[str, float]] = defaultdict(dict)
    for row in rows("calc_prices.csv"):
        by_ticker[row["ticker"]][row["date"]] = float(row["close"])
    return by_ticker


def test_portfolio_risk_matches_the_formulas_on_the_bundled_book(
        result: WorkflowResult) -> None:
    prices = closes()
    dates = sorted(prices["SPY"])
    book = {row["ticker"]: float(row["quantity"]) for row in rows("calc_portfolio.csv")}
    value = np.array([sum(q * prices[t][d] for t, q in book.items()) for d in dates])
    spy = np.array([prices["SPY"][d] for d in dates])
    r = value[1:] / value[:-1] - 1
    m = spy[1:] / spy[:-1] - 1
    q = np.quantile(r, 0.05)
    curve = np.concatenate(([1.0], np.cumprod(1 + r)))
    expected = {
        "var_95": -q, "cvar_95": -r[r <= q].mean(),
        "sharpe": r.mean() / r.std(ddof=1) * math.sqrt(252),
        "sortino": r.mean() / math.sqrt(np.mean(np.minimum(r, 0) ** 2)) * math.sqrt(252),
        "beta": np.cov(r, m)[0, 1] / np.var(m, ddof=1),
        "max_drawdown": float(np.min(curve / np.maximum.accumulate(curve) - 1)),
    }
    output = result.outputs["portfolio_risk"]
    assert output["observations"] == len(dates) - 1 == 128  # fewer than the 252 lookback
    assert (output["start"], output["end"]) == (dates[1], dates[-1])
    for name, value_ in expected.items():
        assert output["metrics"][name] == pytest.approx(value_, rel=1e-9), name
    assert 0 < output["metrics"]["var_95"] < 0.03  # so the var_limit rule holds


def test_daily_and_monthly_returns(result: WorkflowResult,
                                   artifacts: LocalArtifactStore) -> None:
    prices = closes()
    daily = artifacts.get_dataframe(result.outputs["daily_returns"]["artifact"])
    aapl = daily[daily.ticker == "AAPL"]
    dates = sorted(prices["AAPL"])
    series = np.array([prices["AAPL"][d] for d in dates])
    np.testing.assert_allclose(aapl["close_pct_change"].to_numpy()[1:],
                               series[1:] / series[:-1] - 1)
    np.testing.assert_allclose(aapl["close_rolling_mean_20"].to_numpy()[19:],
                               np.convolve(series, np.ones(20) / 20, mode="valid"))
    monthly = [r for r in result.outputs["monthly_returns"]["rows"] if r["ticker"] == "AAPL"]
    assert [r["period"] for r in monthly] == [f"2024-0{m}" for m in range(1, 7)]
    month_ends = [max(d for d in dates if d.startswith(r["period"])) for r in monthly]
    bases = [dates[0], *month_ends[:-1]]  # January from the first close, then month ends
    for r, base, end in zip(monthly, bases, month_ends, strict=True):
        expected = prices["AAPL"][end] / prices["AAPL"][base] - 1
        assert r["close_pct_change"] == pytest.approx(expected, rel=1e-9)
        assert r["date"] == end


def test_compliance_reports_five_warnings_and_no_errors(result: WorkflowResult) -> None:
    check = result.outputs["check_compliance"]
    assert check["passed"] is True and check["checked_rows"] == 7
    assert (check["errors"], check["warnings"]) == (0, 5)
    found = sorted((v["rule"], v["row"]) for v in check["violations"])
    # rows: ACME 23/24, CONT 23/24, NWND 23/24, SHEL 24 (sorted by company and year)
    assert found == [("interest_cover", 3), ("interest_cover", 6), ("leverage_defined", 6),
                     ("liquidity_floor", 2), ("liquidity_floor", 3)]


def test_tracked_run_uses_the_stores_artifact_folder(tmp_path: Path) -> None:
    db = tmp_path / "spine.db"
    handle = start_run(wf, db=db)
    outcome = handle.wait(timeout=120)
    assert outcome.status is RunStatus.COMPLETED, outcome.error
    store = LocalArtifactStore(tmp_path / "artifacts")
    keys = {ref.key for ref in store.list(run_id=handle.run_id)}
    assert f"runs/{handle.run_id}/compute_ratios/result.parquet" in keys
    assert f"runs/{handle.run_id}/daily_returns/result.parquet" in keys


def test_the_playground_steps_through_with_the_runners_artifact_store(
        tmp_path: Path) -> None:
    playground = WorkflowPlayground(WorkflowRunner(
        artifact_store=LocalArtifactStore(tmp_path / "artifacts")))
    playground.load(wf)
    snapshots = playground.continue_()
    assert [(s.step_name, s.run.status) for s in snapshots] == [
        (step.name, RunStatus.COMPLETED) for step in wf.steps]
    assert snapshots[-1].output["warnings"] == 5


def test_the_rules_file_is_found_next_to_the_sample_from_any_folder(tmp_path: Path) -> None:
    code = ("from sample_workflows.financial_calculations import wf; "
            "print(wf.steps[-1].handler.source)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == str(SAMPLES_DIR.resolve() / "_financial_calculations_rules.yaml")


def test_importing_engine_and_building_calculations_loads_no_numba_or_pandas() -> None:
    code = ("import sys, engine; "
            "engine.FinancialCalculation(metrics=['current_ratio'], input_ref='$.artifacts.x'); "
            "engine.RiskCalculation(prices_ref='$.artifacts.p'); "
            "print(sorted(m for m in ('numba', 'pandas', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_row_metric_names_are_the_finance_functions() -> None:
    import engine.finance as finance
    from engine.calculations.metric_names import ROW_METRICS
    from engine.finance import ratios

    assert set(ratios.__all__) <= ROW_METRICS
    assert all(callable(getattr(finance, name)) for name in ROW_METRICS)
