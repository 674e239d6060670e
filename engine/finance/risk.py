"""Risk statistics of return and price series (spec §8): beta, historical VaR and CVaR, Sharpe,
Sortino and maximum drawdown.

Each takes one series (a list, a 1-D array or a pandas Series → a float) or a table of
observations × series (a 2-D array → one figure per column, a DataFrame → a Series indexed by
its columns). Missing observations are skipped, as pandas does; a figure that cannot be formed
(too few observations, zero variance) is NaN, never an exception.

Conventions, chosen to match the common open-source tools (empyrical, quantstats) so figures
can be compared with theirs:
- VaR and CVaR are positive numbers for losses: ``var(r, 0.95) == -quantile(r, 0.05)`` with
  numpy's default (linear) quantile, and CVaR is minus the mean of the returns at or below
  that quantile (historical simulation, no distribution assumed).
- Sharpe and Sortino are annualised: per-period figures times ``sqrt(periods_per_year)``;
  ``risk_free_rate`` is an annual rate, taken per period as ``risk_free_rate / periods_per_year``.
  Sharpe uses the sample standard deviation (``ddof=1``); Sortino's downside deviation is
  ``sqrt(mean(min(r - rf, 0)²))`` over all observations (Sortino & Price, 1994).
- Maximum drawdown is read from a price (or equity) curve and is negative or zero:
  ``-0.25`` means the worst peak-to-trough fall was 25 %.
"""

from __future__ import annotations

import math

import numpy as np

from ._array import FloatArray, Result, Values, as_float_array, columns, loaded_pandas, readonly
from ._jit import serial

__all__ = ["beta", "cvar", "max_drawdown", "sharpe_ratio", "sortino_ratio", "var"]

#: trading days in a year, the default annualisation of daily returns
TRADING_DAYS = 252


@serial
def _beta_kernel(returns: FloatArray, market: FloatArray) -> FloatArray:
    """Beta of each row of ``returns`` against ``market`` over the pairs both have."""
    series, n = returns.shape
    out = np.empty(series)
    for j in range(series):
        count, sum_r, sum_m = 0, 0.0, 0.0
        for i in range(n):
            r, m = returns[j, i], market[i]
            if not (np.isnan(r) or np.isnan(m)):
                count += 1
                sum_r += r
                sum_m += m
        if count < 2:
            out[j] = np.nan
            continue
        mean_r, mean_m = sum_r / count, sum_m / count
        cov, var_m = 0.0, 0.0
        for i in range(n):
            r, m = returns[j, i], market[i]
            if not (np.isnan(r) or np.isnan(m)):
                cov += (r - mean_r) * (m - mean_m)
                var_m += (m - mean_m) * (m - mean_m)
        out[j] = cov / var_m if var_m > 0.0 else np.nan
    return out


@serial
def _tail_kernel(returns: FloatArray, alpha: float) -> FloatArray:
    """Historical VaR (row 0) and CVaR (row 1) of each series at tail probability ``alpha``."""
    series = returns.shape[0]
    out = np.full((2, series), np.nan)
    for j in range(series):
        row = returns[j]
        ordered = np.sort(row[~np.isnan(row)])
        m = ordered.size
        if m == 0:
            continue
        h = (m - 1) * alpha
        lo = int(np.floor(h))
        hi = min(lo + 1, m - 1)
        quantile = ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])
        total, count = 0.0, 0
        for i in range(m):
            if ordered[i] > quantile:
                break
            total += ordered[i]
            count += 1
        out[0, j] = -quantile
        out[1, j] = -total / count
    return out


@serial
def _excess_kernel(returns: FloatArray, rf: float) -> FloatArray:
    """Per-period Sharpe (row 0) and Sortino (row 1) of each series over ``rf`` per period."""
    series, n = returns.shape
    out = np.full((2, series), np.nan)
    for j in range(series):
        count, total = 0, 0.0
        for i in range(n):
            r = returns[j, i]
            if not np.isnan(r):
                count += 1
                total += r - rf
        if count == 0:
            continue
        mean = total / count
        squares, downside = 0.0, 0.0
        for i in range(n):
            r = returns[j, i]
            if not np.isnan(r):
                squares += (r - rf - mean) ** 2
                shortfall = min(r - rf, 0.0)
                downside += shortfall * shortfall
        std = math.sqrt(squares / (count - 1)) if count > 1 else 0.0
        down = math.sqrt(downside / count)
        out[0, j] = mean / std if std > 0.0 else np.nan
        out[1, j] = mean / down if down > 0.0 else np.nan
    return out


@serial
def _drawdown_kernel(prices: FloatArray) -> FloatArray:
    """The maximum drawdown of each price series, skipping missing prices."""
    series, n = prices.shape
    out = np.full(series, np.nan)
    for j in range(series):
        peak, worst, seen = 0.0, 0.0, False
        for i in range(n):
            p = prices[j, i]
            if np.isnan(p):
                continue
            if not seen or p > peak:
                peak, seen = p, True
            if peak <= 0.0:
                worst = np.nan
                break
            worst = min(worst, p / peak - 1.0)
        if seen:
            out[j] = worst
    return out


def _check_confidence(confidence: float) -> float:
    """The tail probability ``1 - confidence``, refusing a level outside (0, 1)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1 (e.g. 0.95), "
                         f"got {confidence!r}")
    return 1.0 - confidence


def beta(returns: Values, market_returns: Values) -> Result:
    """``cov(r, m) / var(m)`` over the periods both have: how much a series moves with the
    market. Series are aligned on their index first."""
    pandas = loaded_pandas()
    if (pandas is not None and isinstance(market_returns, pandas.Series)
            and isinstance(returns, pandas.Series | pandas.DataFrame)):
        market_returns = market_returns.reindex(returns.index)
    table = columns(returns)
    market = as_float_array(market_returns).reshape(-1)
    if market.size != table.data.shape[1]:
        raise ValueError(f"returns have {table.data.shape[1]} observations but market_returns "
                         f"has {market.size}")
    return table.wrap(_beta_kernel(table.data, readonly(market)))


def _tail(returns: Values, confidence: float, which: int) -> Result:
    """Historical VaR (``which=0``) or CVaR (``which=1``) at ``confidence``."""
    alpha = _check_confidence(confidence)
    table = columns(returns)
    return table.wrap(_tail_kernel(table.data, alpha)[which])


def var(returns: Values, confidence: float = 0.95) -> Result:
    """Historical value at risk: the loss not exceeded with probability ``confidence``
    (positive = a loss), i.e. ``-quantile(returns, 1 - confidence)``."""
    return _tail(returns, confidence, 0)


def cvar(returns: Values, confidence: float = 0.95) -> Result:
    """Conditional VaR (expected shortfall): the mean loss on the periods at or beyond VaR,
    which unlike VaR tells how bad the tail is."""
    return _tail(returns, confidence, 1)


def _annualised(returns: Values, risk_free_rate: float, periods_per_year: float,
                which: int) -> Result:
    """Sharpe (``which=0``) or Sortino (``which=1``), per period × ``sqrt(periods_per_year)``."""
    if periods_per_year <= 0:
        raise ValueError(f"periods_per_year must be positive (252 for daily returns), "
                         f"got {periods_per_year!r}")
    table = columns(returns)
    per_period = _excess_kernel(table.data, risk_free_rate / periods_per_year)[which]
    return table.wrap(per_period * math.sqrt(periods_per_year))


def sharpe_ratio(returns: Values, risk_free_rate: float = 0.0,
                 periods_per_year: float = TRADING_DAYS) -> Result:
    """Annualised mean excess return per unit of total volatility."""
    return _annualised(returns, risk_free_rate, periods_per_year, 0)


def sortino_ratio(returns: Values, risk_free_rate: float = 0.0,
                  periods_per_year: float = TRADING_DAYS) -> Result:
    """Annualised mean excess return per unit of downside deviation, so upside swings are not
    counted as risk."""
    return _annualised(returns, risk_free_rate, periods_per_year, 1)


def max_drawdown(prices: Values) -> Result:
    """The worst fall from a running peak of a price or equity curve, as a fraction ≤ 0; NaN
    when the curve has no positive peak. From returns, pass ``(1 + returns).cumprod()``."""
    table = columns(prices)
    return table.wrap(_drawdown_kernel(table.data))
