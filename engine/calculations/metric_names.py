"""The metric names calculation steps accept, known without loading numba: the row-wise
statement metrics of ``engine.finance`` and the series risk metrics, so an unknown name fails
when the workflow is built, not when the step runs."""

from __future__ import annotations

import re

#: row-wise metrics: each is the ``engine.finance`` function of that name, whose parameters
#: name the input columns (``debt_to_equity(debt, equity)`` reads columns debt and equity)
ROW_METRICS = frozenset({
    "altman_z", "cash_ratio", "current_ratio", "debt_to_assets", "debt_to_ebitda",
    "debt_to_equity", "enterprise_value", "ev_to_ebitda", "gross_margin", "interest_coverage",
    "net_margin", "operating_margin", "price_to_book", "price_to_earnings", "quick_ratio",
    "return_on_assets", "return_on_equity", "return_on_invested_capital", "roic",
    "working_capital",
})

#: series metrics of ``RiskCalculation``: ``var``/``cvar`` take ``_NN`` (a confidence in
#: percent, ``var_99``, ``var_97_5``), else the calculation's ``confidence``
RISK_METRICS = ("var", "cvar", "sharpe", "sortino", "beta", "max_drawdown", "volatility")
_RISK_ALIASES = {"sharpe_ratio": "sharpe", "sortino_ratio": "sortino"}
_RISK = re.compile(r"(var|cvar)(?:_(\d{2})(?:_(\d+))?)?|sharpe|sortino|beta|max_drawdown|"
                   r"volatility")

#: time-series operations of ``TimeSeriesAggregation`` (the grammar of
#: ``engine.finance.timeseries.apply_operations``)
TIME_SERIES_OPERATION = re.compile(r"pct_change(?:_[1-9]\d*)?|rolling_(?:mean|std)_[1-9]\d*")


def check_row_metric(owner: str, metric: str) -> None:
    """Refuse a name that is not a row-wise metric, pointing risk names at RiskCalculation."""
    if metric in ROW_METRICS:
        return
    if parse_risk_metric(metric, 0.95, strict=False) is not None:
        raise ValueError(f"{owner}: {metric!r} is a risk metric over a returns series; compute "
                         "it with RiskCalculation")
    raise ValueError(f"{owner}: unknown metric {metric!r}; known metrics: "
                     f"{', '.join(sorted(ROW_METRICS))}")


def parse_risk_metric(metric: str, confidence: float, *,
                      strict: bool = True) -> tuple[str, float] | None:
    """``var_99`` → ``("var", 0.99)``, ``sharpe_ratio`` → ``("sharpe", confidence)``; an
    unknown name is a ``ValueError`` (None when not ``strict``)."""
    name = _RISK_ALIASES.get(metric, metric)
    match = _RISK.fullmatch(name)
    if match is None:
        if not strict:
            return None
        raise ValueError(f"unknown risk metric {metric!r}; use var, var_NN (e.g. var_99), "
                         "cvar, cvar_NN, sharpe, sortino, beta, max_drawdown or volatility")
    if match.group(1):
        if match.group(2):
            level = float(f"{match.group(2)}.{match.group(3) or 0}") / 100.0
            if not 0.0 < level < 1.0:
                raise ValueError(f"risk metric {metric!r}: the confidence must lie between 0 "
                                 "and 100 percent")
            return match.group(1), level
        return match.group(1), confidence
    return name, confidence
