"""RiskCalculation through real runs, checked against the textbook formulas written out here
with plain numpy (historical VaR/CVaR, annualised Sharpe and Sortino, beta as cov/var, the
worst peak-to-trough fall), for a book of quantities, a book of weights, each ticker alone and
a returns series."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from calc_runs import run_after_load

from engine import (
    ErrorCategory,
    RiskCalculation,
    RunStatus,
    Step,
    WorkflowResult,
)

DAYS = pd.bdate_range("2024-01-02", periods=90)


def price_table() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    market = rng.normal(0.0005, 0.01, len(DAYS))
    closes = {"IDX": 400 * np.cumprod(1 + market),
              "AAA": 50 * np.cumprod(1 + 1.3 * market + rng.normal(0, 0.01, len(DAYS))),
              "BBB": 80 * np.cumprod(1 + 0.7 * market + rng.normal(0, 0.008, len(DAYS)))}
    rows = [{"date": d.strftime("%Y-%m-%d"), "ticker": t, "close": float(c[i])}
            for t, c in closes.items() for i, d in enumerate(DAYS)]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=1)  # any row order


def run(calc: RiskCalculation, **tables: Any) -> WorkflowResult:
    return run_after_load("risk.test", Step.calculate("risk", calc),
                          {name: frame.to_dict("records") for name, frame in tables.items()})


def wide() -> pd.DataFrame:
    return price_table().pivot(index="date", columns="ticker", values="close").sort_index()


def hand_figures(r: np.ndarray, market: np.ndarray | None = None) -> dict[str, float]:
    """The figures as the textbooks write them (numpy only)."""
    q = np.quantile(r, 0.05)
    downside = np.sqrt(np.mean(np.minimum(r, 0.0) ** 2))
    curve = np.concatenate(([1.0], np.cumprod(1 + r)))
    out = {"var_95": -q, "cvar_95": -r[r <= q].mean(),
           "sharpe": r.mean() / r.std(ddof=1) * math.sqrt(252),
           "sortino": r.mean() / downside * math.sqrt(252),
           "max_drawdown": float(np.min(curve / np.maximum.accumulate(curve) - 1)),
           "var_99": -np.quantile(r, 0.01), "volatility": r.std(ddof=1) * math.sqrt(252)}
    if market is not None:
        out["beta"] = np.cov(r, market, ddof=1)[0, 1] / np.var(market, ddof=1)
    return out


METRICS = ["var_95", "cvar_95", "sharpe", "sortino", "beta", "max_drawdown", "var_99",
           "volatility"]


def test_a_book_of_quantities_is_valued_daily_and_its_risk_matches_the_formulas() -> None:
    book = pd.DataFrame({"ticker": ["AAA", "BBB", "AAA"], "quantity": [100, 250, 50]})
    result = run(RiskCalculation(portfolio_ref="$.outputs.load.book",
                                 prices_ref="$.outputs.load.prices", metrics=METRICS,
                                 lookback_days=60, benchmark="IDX"),
                 book=book, prices=price_table())
    assert result.status is RunStatus.COMPLETED, result.error
    prices = wide()
    value = prices["AAA"] * 150 + prices["BBB"] * 250  # AAA's two lots add up
    r = (value / value.shift(1) - 1).dropna().to_numpy()[-60:]
    m = (prices["IDX"] / prices["IDX"].shift(1) - 1).dropna().to_numpy()[-60:]
    expected = hand_figures(r, m)
    output = result.outputs["risk"]
    assert output["observations"] == 60 and output["holdings"] == 3
    assert output["end"] == DAYS[-1].strftime("%Y-%m-%d")
    assert output["start"] == DAYS[-60].strftime("%Y-%m-%d")
    for name in METRICS:
        assert output["metrics"][name] == pytest.approx(expected[name], rel=1e-9), name


def test_a_book_of_weights_is_rebalanced_daily() -> None:
    book = pd.DataFrame({"ticker": ["AAA", "BBB"], "weight": [0.6, 0.4]})
    result = run(RiskCalculation(portfolio_ref="$.outputs.load.book",
                                 prices_ref="$.outputs.load.prices",
                                 metrics=["var_95", "sharpe_ratio"], lookback_days=None),
                 book=book, prices=price_table())
    prices = wide()
    returns = (prices / prices.shift(1) - 1).dropna()
    r = (returns["AAA"] * 0.6 + returns["BBB"] * 0.4).to_numpy()
    expected = hand_figures(r)
    figures = result.outputs["risk"]["metrics"]
    assert figures["var_95"] == pytest.approx(expected["var_95"])
    assert figures["sharpe_ratio"] == pytest.approx(expected["sharpe"])


def test_without_a_book_each_ticker_gets_its_figures_from_a_wide_price_table() -> None:
    table = wide().reset_index()  # date + one column per ticker
    result = run(RiskCalculation(prices_ref="$.outputs.load.prices",
                                 metrics=["cvar_97_5", "max_drawdown"], lookback_days=None),
                 prices=table)
    prices = wide()
    for ticker in ("AAA", "BBB", "IDX"):
        r = (prices[ticker] / prices[ticker].shift(1) - 1).dropna().to_numpy()
        q = np.quantile(r, 0.025)
        figures = result.outputs["risk"]["metrics"][ticker]
        assert figures["cvar_97_5"] == pytest.approx(-r[r <= q].mean())
        assert figures["max_drawdown"] == pytest.approx(hand_figures(r)["max_drawdown"])
    assert result.outputs["risk"]["observations"] == {"AAA": 89, "BBB": 89, "IDX": 89}


def test_a_returns_series_with_too_little_data_gives_none_not_a_failure() -> None:
    flat = pd.DataFrame({"date": ["2024-01-02", "2024-01-03", "2024-01-04"],
                         "returns": [0.01, 0.01, float("nan")], "mkt": [0.0, 0.0, 0.0]})
    result = run(RiskCalculation(returns_ref="$.outputs.load.r", benchmark="mkt",
                                 metrics=["sharpe", "sortino", "beta", "var", "volatility"]),
                 r=flat)
    assert result.status is RunStatus.COMPLETED, result.error
    figures = result.outputs["risk"]["metrics"]
    # zero volatility, no downside, a flat market: no ratio can be formed
    assert figures["sharpe"] is None and figures["sortino"] is None
    assert figures["beta"] is None
    assert figures["var"] == pytest.approx(-0.01)  # a gain at the 5% quantile: VaR < 0
    assert figures["volatility"] == 0.0
    assert result.outputs["risk"]["observations"] == 2  # the NaN return is skipped


def test_risk_definition_errors_fail_at_construction() -> None:
    with pytest.raises(ValueError, match="unknown risk metric 'var95'"):
        RiskCalculation(prices_ref="$.artifacts.p", metrics=["var95"])
    with pytest.raises(ValueError, match="beta needs a benchmark"):
        RiskCalculation(prices_ref="$.artifacts.p", metrics=["beta"])
    with pytest.raises(ValueError, match="one of the two"):
        RiskCalculation(prices_ref="$.artifacts.p", returns_ref="$.artifacts.r")
    with pytest.raises(ValueError, match="give prices_ref too"):
        RiskCalculation(portfolio_ref="$.artifacts.b", returns_ref="$.artifacts.r")
    with pytest.raises(ValueError, match="confidence must lie strictly between"):
        RiskCalculation(prices_ref="$.artifacts.p", confidence=95)
    with pytest.raises(ValueError, match="lookback_days must be a whole number >= 2"):
        RiskCalculation(prices_ref="$.artifacts.p", lookback_days=1)


def test_holdings_without_prices_fail_as_data_quality() -> None:
    book = pd.DataFrame({"ticker": ["ZZZ"], "quantity": [1]})
    result = run(RiskCalculation(portfolio_ref="$.outputs.load.book",
                                 prices_ref="$.outputs.load.prices"),
                 book=book, prices=price_table())
    step = result.steps["risk"]
    assert step.category == ErrorCategory.DATA_QUALITY.value
    assert "holds ['ZZZ'] with no prices" in (step.error or "")
