"""``RiskCalculation``: spec §8's portfolio risk (VaR, CVaR, Sharpe, Sortino, beta, maximum
drawdown, volatility) over a returns series built from prices and holdings, by the
``engine.finance`` kernels."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..policies import ErrorCategory
from ..results import StepResult
from .base import Calculation, CalculationError, check_reference, names
from .metric_names import parse_risk_metric
from .tables import json_safe, pandas, read_table

if TYPE_CHECKING:
    import pandas as pd

    from ..context import WorkflowContext


@dataclass(frozen=True)
class RiskCalculation(Calculation):
    """Risk figures of a portfolio, of each instrument, or of a returns series.

    ``prices_ref`` is a table of prices, long (``date``, ``ticker``, ``close``: see the
    ``*_column`` fields) or wide (a ``date`` column and one column per ticker). With
    ``portfolio_ref`` (rows of ``ticker`` and ``quantity`` — a buy-and-hold book valued each
    day — or ``ticker`` and ``weight`` — a book rebalanced to those weights each day) the step
    computes the portfolio's daily returns and its figures; without it, each ticker's.
    ``returns_ref`` instead reads a series of returns (``returns_column``) directly.

    ``metrics``: ``var``/``cvar`` at ``confidence`` or ``var_NN``/``cvar_NN`` at NN percent
    (historical, positive = a loss), ``sharpe``/``sortino`` (annualised over
    ``periods_per_year`` with an annual ``risk_free_rate``), ``beta`` against the
    ``benchmark`` ticker (or returns column), ``max_drawdown`` (≤ 0, of the growth of 1 over
    the window) and ``volatility`` (annualised sample standard deviation). Only the last
    ``lookback_days`` returns count (None: all). A figure that cannot be formed (too few
    observations, zero variance) is ``None``, never a failure.

    Output: ``{"metrics": {name: value}, "observations", "start", "end"}`` for one series, or
    ``{"metrics": {ticker: {name: value}}, "observations": {ticker: n}, ...}`` per ticker.
    """

    portfolio_ref: Any = None
    prices_ref: Any = None
    metrics: Iterable[str] = ("var_95", "cvar_95", "sharpe", "sortino")
    lookback_days: int | None = 252
    returns_ref: Any = None
    confidence: float = 0.95
    risk_free_rate: float = 0.0
    periods_per_year: float = 252
    benchmark: str | None = None
    time_column: str = "date"
    ticker_column: str = "ticker"
    price_column: str = "close"
    quantity_column: str = "quantity"
    weight_column: str = "weight"
    returns_column: str = "returns"

    kind = "calculate"

    def __post_init__(self) -> None:
        owner = "RiskCalculation"
        object.__setattr__(self, "metrics", names(owner, "metrics", self.metrics))
        if not self.metrics:
            raise ValueError(f"{owner}: metrics is empty; e.g. ['var_95', 'sharpe']")
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"{owner}: confidence must lie strictly between 0 and 1 (e.g. "
                             f"0.95), got {self.confidence!r}")
        for metric in self.metrics:
            try:
                parse_risk_metric(metric, self.confidence)
            except ValueError as exc:
                raise ValueError(f"{owner}: {exc}") from None
        if (self.prices_ref is None) == (self.returns_ref is None):
            raise ValueError(f"{owner}: give prices_ref (with or without portfolio_ref) or "
                             "returns_ref, one of the two")
        check_reference(owner, "prices_ref", self.prices_ref, required=False)
        check_reference(owner, "returns_ref", self.returns_ref, required=False)
        check_reference(owner, "portfolio_ref", self.portfolio_ref, required=False)
        if self.portfolio_ref is not None and self.prices_ref is None:
            raise ValueError(f"{owner}: portfolio_ref values holdings at prices; give "
                             "prices_ref too")
        if self.lookback_days is not None and (int(self.lookback_days) != self.lookback_days
                                               or self.lookback_days < 2):
            raise ValueError(f"{owner}: lookback_days must be a whole number >= 2 (or None "
                             f"for all), got {self.lookback_days!r}")
        if self.periods_per_year <= 0:
            raise ValueError(f"{owner}: periods_per_year must be positive (252 for daily)")
        wants_beta = any(parse_risk_metric(m, self.confidence)[0] == "beta"  # type: ignore[index]
                         for m in self.metrics)
        if wants_beta and not self.benchmark:
            raise ValueError(f"{owner}: beta needs a benchmark (a ticker in the prices, or a "
                             "column of the returns table), e.g. benchmark='SPY'")

    def describe(self) -> str:
        source = self.returns_ref or (f"{self.portfolio_ref} at {self.prices_ref}"
                                      if self.portfolio_ref else str(self.prices_ref))
        window = f", last {self.lookback_days} returns" if self.lookback_days else ""
        return f"{', '.join(self.metrics)} of {source}{window}"

    def run(self, ctx: WorkflowContext, config: Mapping[str, Any]) -> StepResult:
        if self.returns_ref is not None:
            returns, market = self._returns_table(read_table(ctx, self.returns_ref,
                                                             "returns_ref"))
            return StepResult.ok(self._figures(returns, market))
        prices = self._wide_prices(read_table(ctx, self.prices_ref, "prices_ref"))
        market = _pct_change(prices[self.benchmark]) if self.benchmark else None
        if self.portfolio_ref is not None:
            book = read_table(ctx, self.portfolio_ref, "portfolio_ref")
            output = self._figures(self._portfolio_returns(prices, book), market)
            output["holdings"] = int(len(book))
            return StepResult.ok(output)
        per_ticker = {str(t): self._figures(_pct_change(prices[t]), market)
                      for t in prices.columns}
        first = next(iter(per_ticker.values()), {})
        return StepResult.ok({
            "metrics": {t: f["metrics"] for t, f in per_ticker.items()},
            "observations": {t: f["observations"] for t, f in per_ticker.items()},
            "start": first.get("start"), "end": first.get("end")})

    # ------------------------------------------------------------------ inputs
    def _wide_prices(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Prices as one column per ticker, indexed by time in order."""
        pd = pandas()
        if self.time_column not in frame.columns:
            raise _data(f"prices_ref has no time column {self.time_column!r} (it has "
                        f"{list(frame.columns)}); set time_column")
        if self.ticker_column in frame.columns:
            if self.price_column not in frame.columns:
                raise _data(f"prices_ref has no price column {self.price_column!r} (it has "
                            f"{list(frame.columns)}); set price_column")
            dupes = frame.duplicated([self.time_column, self.ticker_column])
            if dupes.any():
                row = frame[dupes].iloc[0]
                raise _data(f"prices_ref has two prices for {row[self.ticker_column]!r} on "
                            f"{row[self.time_column]!r}")
            wide = frame.pivot(index=self.time_column, columns=self.ticker_column,
                               values=self.price_column)
        else:
            wide = frame.set_index(self.time_column)
        wide.index = _times(wide.index, "prices_ref")
        wide = wide.sort_index().apply(lambda c: pd.to_numeric(c, errors="coerce"))
        if self.benchmark and self.benchmark not in wide.columns:
            raise _data(f"benchmark {self.benchmark!r} is not among the prices' tickers "
                        f"({', '.join(map(str, wide.columns))})")
        return wide.astype("float64")

    def _portfolio_returns(self, prices: pd.DataFrame, book: pd.DataFrame) -> pd.Series:
        """The book's daily returns: from its value (quantities) or its weights."""
        pd = pandas()
        if self.ticker_column not in book.columns:
            raise _data(f"portfolio_ref has no {self.ticker_column!r} column (it has "
                        f"{list(book.columns)}); set ticker_column")
        by = self.quantity_column if self.quantity_column in book.columns else \
            self.weight_column if self.weight_column in book.columns else None
        if by is None:
            raise _data(f"portfolio_ref needs a {self.quantity_column!r} or "
                        f"{self.weight_column!r} column (it has {list(book.columns)})")
        sizes = pd.to_numeric(book[by], errors="coerce").groupby(book[self.ticker_column]).sum()
        unknown = [t for t in sizes.index if t not in prices.columns]
        if unknown:
            raise _data(f"portfolio_ref holds {unknown} with no prices in prices_ref")
        held = prices[list(sizes.index)]
        if by == self.quantity_column:
            value = (held * sizes).sum(axis=1, min_count=len(sizes)).dropna()
            return _pct_change(value)
        asset_returns = held.apply(_pct_change)
        return (asset_returns * sizes).sum(axis=1, min_count=len(sizes))

    def _returns_table(self, frame: pd.DataFrame) -> tuple[pd.Series, pd.Series | None]:
        pd = pandas()
        if self.returns_column not in frame.columns:
            raise _data(f"returns_ref has no {self.returns_column!r} column (it has "
                        f"{list(frame.columns)}); set returns_column")
        if self.time_column in frame.columns:
            frame = frame.set_index(_times(frame[self.time_column], "returns_ref")).sort_index()
        returns = pd.to_numeric(frame[self.returns_column], errors="coerce")
        market = None
        if self.benchmark:
            if self.benchmark not in frame.columns:
                raise _data(f"benchmark column {self.benchmark!r} is not in returns_ref")
            market = pd.to_numeric(frame[self.benchmark], errors="coerce")
        return returns, market

    # ------------------------------------------------------------------ figures
    def _figures(self, returns: pd.Series, market: pd.Series | None) -> dict[str, Any]:
        """The metrics of one returns series over the lookback window (JSON-safe)."""
        import numpy as np  # deliberate lazy load: numpy only when a step runs

        import engine.finance as finance  # deliberate lazy load: numba only when a step runs

        series = returns.astype("float64").replace([np.inf, -np.inf], np.nan).dropna()
        if self.lookback_days:
            series = series.iloc[-int(self.lookback_days):]
        r = series.to_numpy()
        figures: dict[str, Any] = {}
        for metric in self.metrics:
            kind, level = parse_risk_metric(metric, self.confidence)  # type: ignore[misc]
            if kind == "var":
                value = finance.var(r, level)
            elif kind == "cvar":
                value = finance.cvar(r, level)
            elif kind == "sharpe":
                value = finance.sharpe_ratio(r, self.risk_free_rate, self.periods_per_year)
            elif kind == "sortino":
                value = finance.sortino_ratio(r, self.risk_free_rate, self.periods_per_year)
            elif kind == "beta":
                assert market is not None  # checked at construction
                m = market.reindex(series.index).to_numpy(dtype="float64")
                value = finance.beta(r, m)
            elif kind == "max_drawdown":
                value = finance.max_drawdown(np.concatenate(([1.0], np.cumprod(1.0 + r))))
            else:
                value = (float(np.std(r, ddof=1)) * math.sqrt(self.periods_per_year)
                         if r.size > 1 else math.nan)
            figures[metric] = value
        index = series.index
        return {"metrics": json_safe(figures), "observations": int(r.size),
                "start": json_safe(index[0]) if len(index) else None,
                "end": json_safe(index[-1]) if len(index) else None}


def _pct_change(values: pd.Series) -> pd.Series:
    """Simple returns of a price column (NaN from a zero or missing price)."""
    import engine.finance as finance  # deliberate lazy load: numba only when a step runs

    values = values.dropna()
    return finance.pct_change(values)


def _times(values: Any, what: str) -> Any:
    """Time labels as datetimes, so they sort by time whatever their text looks like."""
    pd = pandas()
    try:
        return pd.DatetimeIndex(pd.to_datetime(values))
    except (ValueError, TypeError) as exc:
        raise _data(f"{what} has a time value that is not a date: {exc}") from None


def _data(message: str) -> CalculationError:
    return CalculationError(message, ErrorCategory.DATA_QUALITY)
