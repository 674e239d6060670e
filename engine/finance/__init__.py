"""Financial calculations for workflow steps (spec §8, R4, F6, F7): statement ratios, risk
statistics, credit and earnings-quality scores, option pricing and per-group time-series
operations, as numba-compiled kernels over numpy arrays.

Every function takes numbers, arrays or pandas Series and answers in kind (a float, an array,
a Series with the same index); missing inputs and zero denominators give NaN, never an
exception, so one bad row never stops a batch. Importing this package loads numba (≈0.3 s);
``import engine`` alone does not. Kernels compile on first use and are cached on disk.
"""

from __future__ import annotations

from .metrics import (
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
from .options import GREEKS, black_scholes, greeks
from .scores import (
    ALTMAN_WEIGHTS,
    BENEISH_COEFFICIENTS,
    BENEISH_THRESHOLD,
    PIOTROSKI_SIGNALS,
    altman_z,
    altman_zone,
    beneish_indices,
    beneish_m,
    piotroski_f,
    piotroski_signals,
)
from .timeseries import (
    DEFAULT_OPERATIONS,
    apply_operations,
    pct_change,
    rolling_mean,
    rolling_std,
)

__all__ = [
    "ALTMAN_WEIGHTS",
    "BENEISH_COEFFICIENTS",
    "BENEISH_THRESHOLD",
    "DEFAULT_OPERATIONS",
    "GREEKS",
    "PIOTROSKI_SIGNALS",
    "altman_z",
    "altman_zone",
    "apply_operations",
    "beneish_indices",
    "beneish_m",
    "beta",
    "black_scholes",
    "cash_ratio",
    "current_ratio",
    "cvar",
    "debt_to_assets",
    "debt_to_ebitda",
    "debt_to_equity",
    "enterprise_value",
    "ev_to_ebitda",
    "greeks",
    "gross_margin",
    "interest_coverage",
    "max_drawdown",
    "net_margin",
    "operating_margin",
    "pct_change",
    "piotroski_f",
    "piotroski_signals",
    "price_to_book",
    "price_to_earnings",
    "quick_ratio",
    "return_on_assets",
    "return_on_equity",
    "return_on_invested_capital",
    "roic",
    "rolling_mean",
    "rolling_std",
    "sharpe_ratio",
    "sortino_ratio",
    "var",
    "working_capital",
]
