"""Time-series operations of spec §8 — ``pct_change``, ``rolling_mean_N``, ``rolling_std_N`` —
per group (a ticker, a company), over numpy arrays or a pandas DataFrame.

``pct_change``/``rolling_mean``/``rolling_std`` take values already in time order within each
group; ``groups`` labels the rows (they need not be contiguous: rows are grouped, computed and
put back in their original order). ``apply_operations`` takes the fields of the spec's
``TimeSeriesAggregation`` and sorts by group and time itself.

The figures match pandas' ``groupby(...).pct_change()`` / ``.rolling(N).mean()`` /
``.rolling(N).std()`` (sample std, ``ddof=1``; a window needs ``min_periods`` non-missing values,
by default all N), except that a change from zero is NaN where pandas gives ±inf: a division
by zero is NaN throughout this package. Each window is summed afresh (two-pass for the std),
O(rows × N), so long windows cost more but no rounding error accumulates down a long series.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import prange

from ._array import FloatArray, Result, Values, as_float_array, loaded_pandas, readonly
from ._jit import launch, parallel

__all__ = ["DEFAULT_OPERATIONS", "apply_operations", "pct_change", "rolling_mean", "rolling_std"]

#: the operations of the spec's ``TimeSeriesAggregation`` example
DEFAULT_OPERATIONS = ("pct_change", "rolling_mean_20", "rolling_std_20")
_OPERATION = re.compile(r"(pct_change|rolling_mean|rolling_std)(?:_(\d+))?")

IntArray = npt.NDArray[np.int64]


@parallel
def _pct_change_kernel(values: FloatArray, first_row: IntArray, periods: int) -> FloatArray:
    """Change over ``periods`` rows, NaN where the earlier row is in another group."""
    out = np.empty(values.size)
    for i in prange(values.size):
        j = i - periods
        if j < first_row[i]:
            out[i] = np.nan
        else:
            previous = values[j]
            out[i] = values[i] / previous - 1.0 if previous != 0.0 else np.nan
    return out


@parallel
def _rolling_kernel(values: FloatArray, first_row: IntArray, window: int, min_periods: int,
                    want_std: bool) -> FloatArray:
    """Rolling mean or std of each row's window, cut at its group's first row."""
    out = np.empty(values.size)
    for i in prange(values.size):
        first = max(first_row[i], i - window + 1)
        count, total = 0, 0.0
        for j in range(first, i + 1):
            if not np.isnan(values[j]):
                count += 1
                total += values[j]
        if count < min_periods or count == 0 or (want_std and count < 2):
            out[i] = np.nan
            continue
        mean = total / count
        if not want_std:
            out[i] = mean
            continue
        squares = 0.0
        for j in range(first, i + 1):
            if not np.isnan(values[j]):
                squares += (values[j] - mean) ** 2
        out[i] = math.sqrt(squares / (count - 1))
    return out


def _group_codes(groups: Any) -> IntArray:
    """Integer codes of group labels (pandas' hashing when loaded, else a sort)."""
    pandas = loaded_pandas()
    if pandas is not None:
        labels = groups if hasattr(groups, "dtype") else np.asarray(groups, dtype=object)
        codes, _ = pandas.factorize(labels)
        return np.asarray(codes, dtype=np.int64)
    _, codes = np.unique(np.asarray(groups), return_inverse=True)
    return np.asarray(codes, dtype=np.int64).reshape(-1)


def _layout(codes: IntArray) -> tuple[IntArray | None, IntArray]:
    """The row order that makes each group contiguous (None if it already is) and, in that
    order, each row's group's first row."""
    n = codes.size
    order: IntArray | None = None
    runs = np.flatnonzero(np.diff(codes)) + 1
    if runs.size + 1 != np.unique(codes).size and n:
        order = np.argsort(codes, kind="stable")
        runs = np.flatnonzero(np.diff(codes[order])) + 1
    starts = np.concatenate(([0], runs)).astype(np.int64)
    first_row = np.repeat(starts, np.diff(np.append(starts, n)))
    return order, readonly(first_row)


def _per_group(values: Values, groups: Any, compute: Any) -> Result:
    """Run ``compute(sorted_values, first_row)`` with each group's rows together, then put the
    result back in the caller's row order and shape."""
    pandas = loaded_pandas()
    index = values.index if pandas is not None and isinstance(values, pandas.Series) else None
    flat = as_float_array(values).reshape(-1)
    if groups is None:
        order, first_row = None, readonly(np.zeros(flat.size, dtype=np.int64))
    else:
        codes = _group_codes(groups)
        if codes.size != flat.size:
            raise ValueError(f"groups has {codes.size} labels for {flat.size} values")
        order, first_row = _layout(codes)
    if order is None:
        out = compute(readonly(flat), first_row)
    else:
        out = np.empty(flat.size)
        out[order] = compute(readonly(flat[order]), first_row)
    if index is not None:
        return pandas.Series(out, index=index)
    return out


def _check_window(window: int, min_periods: int | None) -> int:
    """The effective ``min_periods``, refusing windows that cannot hold a value."""
    if int(window) != window or window < 1:
        raise ValueError(f"window must be a positive whole number of rows, got {window!r}")
    minimum = window if min_periods is None else min_periods
    if not 0 <= minimum <= window:
        raise ValueError(f"min_periods must lie between 0 and the window ({window}), "
                         f"got {min_periods!r}")
    return int(minimum)


def pct_change(values: Values, groups: Any = None, periods: int = 1) -> Result:
    """``values[t] / values[t - periods] - 1`` within each group: simple returns from prices."""
    if int(periods) != periods or periods < 1:
        raise ValueError(f"periods must be a positive whole number, got {periods!r}")
    return _per_group(values, groups,
                      lambda v, first: launch(_pct_change_kernel, v, first, int(periods)))


def rolling_mean(values: Values, window: int, groups: Any = None,
                 min_periods: int | None = None) -> Result:
    """The mean of the last ``window`` rows within each group (a moving average)."""
    minimum = _check_window(window, min_periods)
    return _per_group(values, groups, lambda v, first: launch(
        _rolling_kernel, v, first, int(window), minimum, False))


def rolling_std(values: Values, window: int, groups: Any = None,
                min_periods: int | None = None) -> Result:
    """The sample standard deviation of the last ``window`` rows within each group (rolling
    volatility)."""
    minimum = _check_window(window, min_periods)
    return _per_group(values, groups, lambda v, first: launch(
        _rolling_kernel, v, first, int(window), minimum, True))


def _parse(operation: str) -> tuple[str, int]:
    """``rolling_mean_20`` → ``("rolling_mean", 20)``, ``pct_change`` → ``("pct_change", 1)``:
    the spec's operation names, checked once before any work."""
    match = _OPERATION.fullmatch(operation)
    if match is None or (match.group(1) != "pct_change" and match.group(2) is None):
        raise ValueError(f"unknown time-series operation {operation!r}: use pct_change, "
                         "pct_change_N, rolling_mean_N or rolling_std_N (N a number of rows)")
    number = int(match.group(2) or 1)
    if number < 1:
        raise ValueError(f"operation {operation!r} needs N >= 1")
    return match.group(1), number


def apply_operations(frame: Any, time_column: str | None, value_columns: Sequence[str],
                     operations: Sequence[str] = DEFAULT_OPERATIONS,
                     group_by: Sequence[str] | None = None) -> Any:
    """A copy of ``frame`` with one new column ``{value}_{operation}`` per value column and
    operation (``close_rolling_mean_20``), computed per group in time order; rows keep their
    order. The arguments are the fields of the spec's ``TimeSeriesAggregation``."""
    parsed = [(op, *_parse(op)) for op in operations]
    keys = list(group_by or [])
    wanted = [*keys, *value_columns, *([time_column] if time_column else [])]
    missing = [name for name in wanted if name not in frame.columns]
    if missing:
        raise KeyError(f"columns {missing} are not in the frame (it has {list(frame.columns)})")
    sort_keys = [*keys, *([time_column] if time_column else [])]
    n = len(frame)
    order = (frame[sort_keys].reset_index(drop=True).sort_values(sort_keys, kind="stable")
             .index.to_numpy() if sort_keys else np.arange(n))
    if keys:
        codes = frame.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()[order]
        _, first_row = _layout(np.asarray(codes, dtype=np.int64))
    else:
        first_row = readonly(np.zeros(n, dtype=np.int64))
    out = frame.copy()
    for column in value_columns:
        values = readonly(as_float_array(frame[column].to_numpy())[order])
        for name, kind, number in parsed:
            if kind == "pct_change":
                result = launch(_pct_change_kernel, values, first_row, number)
            else:
                result = launch(_rolling_kernel, values, first_row, number, number,
                                kind == "rolling_std")
            placed = np.empty(n)
            placed[order] = result
            out[f"{column}_{name}"] = placed
    return out
