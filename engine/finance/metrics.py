"""The spec's metrics library (§8, ``spine.domain.finance.metrics``) under one import path:
statement ratios from ``ratios`` and series risk statistics from ``risk``.

``from engine.finance.metrics import gross_margin, current_ratio, sharpe_ratio, ...`` works
with the spec's names; the credit scores live in ``engine.finance.scores`` and options in
``engine.finance.options`` (all re-exported by ``engine.finance``).
"""

from __future__ import annotations

from .ratios import (
    cash_ratio,
    current_ratio,
    debt_to_assets,
    debt_to_ebitda,
    debt_to_equity,
    enterprise_value,
    ev_to_ebitda,
    gross_margin,
    interest_coverage,
    net_margin,
    operating_margin,
    price_to_book,
    price_to_earnings,
    quick_ratio,
    return_on_assets,
    return_on_equity,
    return_on_invested_capital,
    working_capital,
)
from .risk import beta, cvar, max_drawdown, sharpe_ratio, sortino_ratio, var

#: R4's short name for return on invested capital
roic = return_on_invested_capital

__all__ = [
    "beta",
    "cash_ratio",
    "current_ratio",
    "cvar",
    "debt_to_assets",
    "debt_to_ebitda",
    "debt_to_equity",
    "enterprise_value",
    "ev_to_ebitda",
    "gross_margin",
    "interest_coverage",
    "max_drawdown",
    "net_margin",
    "operating_margin",
    "price_to_book",
    "price_to_earnings",
    "quick_ratio",
    "return_on_assets",
    "return_on_equity",
    "return_on_invested_capital",
    "roic",
    "sharpe_ratio",
    "sortino_ratio",
    "var",
    "working_capital",
]
