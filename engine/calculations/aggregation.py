"""``TimeSeriesAggregation``: spec §8's per-group time-series step — ``pct_change``,
``rolling_mean_N``, ``rolling_std_N`` by ``engine.finance``'s kernels — optionally rolled up
to periods (weeks, months, quarters, years)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..policies import ErrorCategory
from .base import CalculationError, names
from .metric_names import TIME_SERIES_OPERATION
from .tables import TableCalculation, pandas

if TYPE_CHECKING:
    import pandas as pd

#: the periods rows can be rolled up to (pandas period aliases)
PERIODS = {"D": "D", "W": "W", "M": "M", "Q": "Q", "Y": "Y", "day": "D", "week": "W",
           "month": "M", "quarter": "Q", "year": "Y"}
#: how a column's rows combine within a period; ``compound`` chains returns: prod(1 + r) - 1
PERIOD_FUNCTIONS = ("last", "first", "sum", "mean", "min", "max", "std", "count", "compound")


@dataclass(frozen=True)
class TimeSeriesAggregation(TableCalculation):
    """New columns ``{value}_{operation}`` (``close_pct_change``, ``close_rolling_mean_20``)
    computed per group in time order, over the rows a reference names.

    With ``period`` (``W``, ``M``, ``Q``, ``Y`` or ``week``...``year``) the rows are then
    rolled up to one per group and period, with a ``period`` column (``2024-01``,
    ``2024Q1``): each column as ``period_aggregations`` says, by default ``compound`` for a
    one-step ``pct_change`` column (the period's return) and ``last`` for the others (the
    close, the moving average at period end). A change from a zero or missing value is NaN.
    """

    input_ref: Any = None
    time_column: str = "date"
    value_columns: Iterable[str] = ()
    operations: Iterable[str] = ("pct_change",)
    group_by: Iterable[str] = ()
    period: str | None = None
    period_aggregations: Mapping[str, str] = field(default_factory=dict)
    output_format: str | None = None

    kind = "aggregate"

    def __post_init__(self) -> None:
        owner = "TimeSeriesAggregation"
        for name in ("value_columns", "operations", "group_by"):
            object.__setattr__(self, name, names(owner, name, getattr(self, name)))
        object.__setattr__(self, "period_aggregations", dict(self.period_aggregations or {}))
        self.check_table_fields(owner)
        if not self.value_columns:
            raise ValueError(f"{owner}: value_columns is empty; name the columns to compute "
                             "over, e.g. ['close']")
        if not self.operations and self.period is None:
            raise ValueError(f"{owner}: give operations, a period, or both")
        for operation in self.operations:
            if not TIME_SERIES_OPERATION.fullmatch(operation):
                raise ValueError(f"{owner}: unknown operation {operation!r}; use pct_change, "
                                 "pct_change_N, rolling_mean_N or rolling_std_N (N rows)")
        if self.period is not None and self.period not in PERIODS:
            raise ValueError(f"{owner}: unknown period {self.period!r}; use one of "
                             f"{', '.join(PERIODS)}")
        if self.period_aggregations and self.period is None:
            raise ValueError(f"{owner}: period_aggregations needs a period")
        for column, how in self.period_aggregations.items():
            if how not in PERIOD_FUNCTIONS:
                raise ValueError(f"{owner}: period_aggregations[{column!r}] = {how!r}; use "
                                 f"one of {', '.join(PERIOD_FUNCTIONS)}")

    def describe(self) -> str:
        what = ", ".join(self.operations) or "roll-up"
        by = f" by {', '.join(self.group_by)}" if self.group_by else ""
        per = f" per {self.period}" if self.period else ""
        return f"{what} of {', '.join(self.value_columns)} over {self.input_ref}{by}{per}"

    def compute(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The result table for ``frame`` (what the step publishes)."""
        from engine.finance import apply_operations  # deliberate lazy load: numba on use

        pd = pandas()
        wanted = [*self.group_by, self.time_column, *self.value_columns]
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise CalculationError(f"columns {missing} are not in the input (it has "
                                   f"{list(frame.columns)})", ErrorCategory.DATA_QUALITY)
        frame = frame.copy()
        try:
            frame[self.time_column] = pd.to_datetime(frame[self.time_column])
        except (ValueError, TypeError) as exc:
            raise CalculationError(f"time column {self.time_column!r} holds a value that is "
                                   f"not a date: {exc}", ErrorCategory.DATA_QUALITY) from None
        for column in self.value_columns:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        order = [*self.group_by, self.time_column]
        frame = frame.sort_values(order, kind="stable").reset_index(drop=True)
        if self.operations:
            frame = apply_operations(frame, self.time_column, list(self.value_columns),
                                     list(self.operations), list(self.group_by) or None)
        return self._roll_up(frame) if self.period else frame

    def _roll_up(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One row per group and period, each column combined as ``period_aggregations`` says."""
        columns = [c for c in frame.columns
                   if c not in (*self.group_by, self.time_column)
                   and pandas().api.types.is_numeric_dtype(frame[c])]
        unknown = [c for c in self.period_aggregations if c not in columns]
        if unknown:
            raise CalculationError(f"period_aggregations names {unknown}, which are not "
                                   f"numeric result columns ({columns})")
        frame = frame.assign(period=frame[self.time_column].dt.to_period(
            PERIODS[str(self.period)]).astype(str))
        keys = [*self.group_by, "period"]
        grouped = frame.groupby(keys, sort=True)
        parts = {}
        for column in columns:
            how = self.period_aggregations.get(column) or (
                "compound" if column.endswith("_pct_change") else "last")
            if how == "compound":
                parts[column] = grouped[column].agg(_compound)
            else:
                parts[column] = grouped[column].agg(how)
        parts[self.time_column] = grouped[self.time_column].agg("last")
        out = pandas().DataFrame(parts).reset_index()
        return out[[*keys, self.time_column, *columns]]


def _compound(returns: pd.Series) -> float:
    """The return over a period of per-step returns: prod(1 + r) - 1, skipping missing ones
    (NaN when there are none)."""
    import numpy as np  # deliberate lazy load: numpy only when a step runs

    values = returns.to_numpy(dtype="float64")
    values = values[~np.isnan(values)]
    return float(np.prod(1.0 + values) - 1.0) if values.size else float("nan")
