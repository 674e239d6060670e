"""The §8 metrics library: statement ratios against figures computed by hand from the spec's
F5/F7 statements, risk statistics against direct numpy computations, the NaN policy, the
shapes answered (float / array / Series), and that compiled kernels are reused by a second
process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.finance import metrics
from engine.finance.metrics import (
    beta,
    cash_ratio,
    current_ratio,
    cvar,
    debt_to_assets,
    debt_to_ebitda,
    debt_to_equity,
    enterprise_value,
    ev_to_ebitda,
    gross_margin,
    interest_coverage,
    max_drawdown,
    net_margin,
    operating_margin,
    price_to_book,
    price_to_earnings,
    quick_ratio,
    return_on_assets,
    return_on_equity,
    return_on_invested_capital,
    roic,
    sharpe_ratio,
    sortino_ratio,
    var,
    working_capital,
)

SPEC_NAMES = [
    "gross_margin", "operating_margin", "net_margin", "return_on_equity", "return_on_assets",
    "current_ratio", "quick_ratio", "cash_ratio", "debt_to_equity", "debt_to_assets",
    "interest_coverage", "price_to_earnings", "price_to_book", "ev_to_ebitda", "beta", "var",
    "cvar", "sharpe_ratio", "sortino_ratio", "max_drawdown",
]


def test_the_specs_import_list_is_served() -> None:
    assert set(SPEC_NAMES) <= set(metrics.__all__)
    assert all(callable(getattr(metrics, name)) for name in metrics.__all__)


def test_f5_nvda_tearsheet_by_hand() -> None:
    """F5's NVIDIA FY2025 figures; its comment reads 89.6 % ROE."""
    revenue, net_income, equity, assets = 130_497e6, 72_880e6, 81_316e6, 112_198e6
    assert net_margin(net_income, revenue) == pytest.approx(72_880 / 130_497)
    assert round(return_on_equity(net_income, equity), 3) == 0.896
    assert return_on_assets(net_income, assets) == pytest.approx(72_880 / 112_198)


def test_ratios_by_hand() -> None:
    assert gross_margin(200.0, 150.0) == 0.25
    assert operating_margin(30.0, 200.0) == 0.15
    assert current_ratio(45_872.0, 38_204.0) == pytest.approx(1.2007, abs=5e-5)  # F7's GE
    assert quick_ratio(300.0, 200.0, 100.0) == 1.0
    assert cash_ratio(50.0, 200.0) == 0.25
    assert working_capital(45_872.0, 38_204.0) == 7_668.0  # F7's GE working capital
    assert debt_to_equity(120.0, 80.0) == 1.5
    assert debt_to_assets(120.0, 200.0) == 0.6
    assert debt_to_ebitda(300.0, 100.0) == 3.0
    assert interest_coverage(50.0, 10.0) == 5.0
    assert price_to_earnings(30.0, 2.0) == 15.0
    assert price_to_book(30.0, 10.0) == 3.0
    assert enterprise_value(1000.0, 300.0, 100.0) == 1200.0
    assert ev_to_ebitda(1200.0, 150.0) == 8.0
    # NOPAT 100 × (1 - 0.25) = 75 over 200 + 400 - 100 = 500 invested
    assert return_on_invested_capital(100.0, 200.0, 400.0, 100.0, tax_rate=0.25) == 0.15
    assert roic(100.0, 200.0, 400.0) == pytest.approx(79 / 600)  # 21 % tax, no cash


def test_signs_are_kept() -> None:
    assert return_on_equity(10.0, -50.0) == -0.2
    assert price_to_earnings(30.0, -2.0) == -15.0


@pytest.mark.parametrize("ratio", [net_margin, current_ratio, debt_to_equity, ev_to_ebitda,
                                   interest_coverage, price_to_earnings, price_to_book])
def test_zero_and_missing_denominators_give_nan_without_warnings(ratio: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ratio([1.0, 1.0, None, np.nan, 1.0], [0.0, None, 1.0, 1.0, 4.0])
    assert np.isnan(out[:4]).all() and out[4] == 0.25
    assert np.isnan(ratio(1.0, 0.0))


def test_non_numbers_in_a_batch_become_nan() -> None:
    out = current_ratio(np.array([1, "n/a", None, 4], dtype=object), [2, 2, 2, 2])
    assert out[0] == 0.5 and np.isnan(out[1]) and np.isnan(out[2]) and out[3] == 2.0
    series = pd.Series([1.0, None, 3.0], dtype="Float64")
    assert np.isnan(current_ratio(series, 1.0)[1])


def test_shapes_answered_in_kind() -> None:
    assert type(net_margin(1, 4)) is float
    assert isinstance(net_margin([1, 2], [4, 4]), np.ndarray)
    np.testing.assert_array_equal(net_margin(np.ones((2, 3)), [1.0, 2.0, 4.0]),
                                  [[1.0, 0.5, 0.25]] * 2)
    income = pd.Series([1.0, 2.0], index=pd.Index(["a", "b"], name="ticker"))
    out = net_margin(income, 4.0)
    assert isinstance(out, pd.Series) and out.index.equals(income.index)
    assert out.tolist() == [0.25, 0.5]
    with pytest.raises(ValueError, match="do not broadcast"):
        net_margin([1.0, 2.0, 3.0], [1.0, 2.0])


def test_series_are_aligned_on_their_index_as_pandas_does() -> None:
    assets = pd.Series([10.0, 20.0], index=["a", "b"])
    liabilities = pd.Series([5.0, 4.0], index=["b", "c"])
    ours = current_ratio(assets, liabilities)
    theirs = assets / liabilities
    pd.testing.assert_series_equal(ours, theirs)


# -- risk ---------------------------------------------------------------------------------

RNG = np.random.default_rng(20240601)
RETURNS = RNG.normal(0.0004, 0.012, 750)
MARKET = RNG.normal(0.0003, 0.010, 750)


@pytest.mark.parametrize("confidence", [0.90, 0.95, 0.99])
def test_var_and_cvar_against_numpy_quantiles(confidence: float) -> None:
    cutoff = np.quantile(RETURNS, 1 - confidence)  # numpy's default, linear interpolation
    assert var(RETURNS, confidence) == pytest.approx(-cutoff, rel=1e-12)
    assert cvar(RETURNS, confidence) == pytest.approx(-RETURNS[RETURNS <= cutoff].mean(),
                                                      rel=1e-12)
    assert cvar(RETURNS, confidence) >= var(RETURNS, confidence)


def test_var_by_hand_on_ten_returns() -> None:
    r = [-0.05, -0.03, -0.02, -0.01, 0.0, 0.01, 0.01, 0.02, 0.03, 0.04]
    # h = (10 - 1) × 0.1 = 0.9: -0.05 + 0.9 × (-0.03 + 0.05) = -0.032
    assert var(r, 0.90) == pytest.approx(0.032)
    assert cvar(r, 0.90) == pytest.approx(0.05)  # only -0.05 lies at or below -0.032


def test_sharpe_and_sortino_against_numpy() -> None:
    rf = 0.04
    excess = RETURNS - rf / 252
    sharpe = excess.mean() / RETURNS.std(ddof=1) * np.sqrt(252)
    downside = np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2))
    assert sharpe_ratio(RETURNS, rf) == pytest.approx(sharpe, rel=1e-10)
    assert sortino_ratio(RETURNS, rf) == pytest.approx(excess.mean() / downside * np.sqrt(252),
                                                       rel=1e-10)
    monthly = sharpe_ratio(RETURNS, periods_per_year=12)
    assert monthly == pytest.approx(RETURNS.mean() / RETURNS.std(ddof=1) * np.sqrt(12))


def test_beta_against_numpy_cov() -> None:
    stock = 1.3 * MARKET + RNG.normal(0, 0.005, MARKET.size)
    expected = np.cov(stock, MARKET)[0, 1] / np.var(MARKET, ddof=1)
    assert beta(stock, MARKET) == pytest.approx(expected, rel=1e-10)
    assert beta(MARKET, MARKET) == pytest.approx(1.0)


def test_max_drawdown_on_a_hand_series() -> None:
    # peaks 120 then 130; the worst fall is 130 → 65: -50 %
    assert max_drawdown([100, 120, 90, 130, 65, 70]) == -0.5
    assert max_drawdown([100, np.nan, 80, 120]) == pytest.approx(-0.2)
    assert max_drawdown([1, 2, 3]) == 0.0
    assert np.isnan(max_drawdown([np.nan, np.nan]))
    assert np.isnan(max_drawdown([-1.0, -2.0]))


def test_tables_give_one_figure_per_column() -> None:
    prices = pd.DataFrame({"AAA": [100.0, 80.0, 120.0], "BBB": [10.0, 11.0, 5.5]},
                          index=pd.date_range("2024-01-01", periods=3))
    drawdowns = max_drawdown(prices)
    assert drawdowns.to_dict() == pytest.approx({"AAA": -0.2, "BBB": -0.5})
    returns = prices.pct_change()  # a NaN first row, skipped as pandas skips it
    assert sharpe_ratio(returns)["AAA"] == pytest.approx(
        returns["AAA"].mean() / returns["AAA"].std() * np.sqrt(252))
    assert var(returns.to_numpy()[1:], 0.5).shape == (2,)
    market = pd.Series([np.nan, 0.01, -0.02], index=prices.index)
    assert beta(returns, market).index.tolist() == ["AAA", "BBB"]


def test_degenerate_series_give_nan() -> None:
    assert np.isnan(sharpe_ratio([0.01]))
    assert np.isnan(sharpe_ratio([0.01, 0.01, 0.01]))  # no volatility
    assert np.isnan(sortino_ratio([0.01, 0.02]))  # no downside
    assert np.isnan(var([np.nan, np.nan]))
    assert np.isnan(beta([0.01, 0.02], [0.01, 0.01]))  # the market did not move


def test_parameters_outside_their_range_are_refused() -> None:
    with pytest.raises(ValueError, match="confidence"):
        var(RETURNS, 95)
    with pytest.raises(ValueError, match="periods_per_year"):
        sharpe_ratio(RETURNS, periods_per_year=0)
    with pytest.raises(ValueError, match="observations"):
        beta(RETURNS, MARKET[:10])


# -- process-level behaviour --------------------------------------------------------------


def test_importing_the_finance_package_loads_no_pandas() -> None:
    code = "import sys, engine.finance; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_a_second_process_loads_compiled_kernels_from_the_cache(tmp_path: Path) -> None:
    """``cache=True``: the first process compiles and writes the cache, the next one reads it."""
    code = textwrap.dedent("""
        import json
        from engine.finance import max_drawdown
        from engine.finance.risk import _drawdown_kernel
        max_drawdown([1.0, 2.0, 1.5])
        stats = _drawdown_kernel.stats
        print(json.dumps([sum(stats.cache_hits.values()), sum(stats.cache_misses.values())]))
    """)
    env = os.environ | {"NUMBA_CACHE_DIR": str(tmp_path)}

    def run() -> list[int]:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=env)
        return list(json.loads(out.stdout))

    assert run() == [0, 1]  # compiled
    assert run() == [1, 0]  # loaded
