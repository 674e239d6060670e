"""§8's time-series operations per group, against pandas' own groupby/rolling on shuffled
panels with gaps, and ``apply_operations`` with the fields of ``TimeSeriesAggregation``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.finance import (
    DEFAULT_OPERATIONS,
    apply_operations,
    pct_change,
    rolling_mean,
    rolling_std,
)


def panel(rows_per_ticker: int = 60, seed: int = 3) -> pd.DataFrame:
    """Daily closes of four tickers, rows shuffled, a few closes missing."""
    rng = np.random.default_rng(seed)
    frames = []
    for n, ticker in enumerate(["MSFT", "AAPL", "NVDA", "GE"]):
        close = 100 * np.cumprod(1 + rng.normal(0, 0.02, rows_per_ticker)) + n
        frames.append(pd.DataFrame({
            "ticker": ticker,
            "date": pd.bdate_range("2024-01-01", periods=rows_per_ticker),
            "close": close,
            "volume": rng.integers(1_000, 5_000, rows_per_ticker).astype(float),
        }))
    frame = pd.concat(frames, ignore_index=True)
    frame.loc[rng.choice(len(frame), 8, replace=False), "close"] = np.nan
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def pandas_reference(frame: pd.DataFrame, column: str, op: str, n: int) -> pd.Series:
    ordered = frame.sort_values(["ticker", "date"])
    grouped = ordered.groupby("ticker", sort=False)[column]
    if op == "pct_change":
        result = grouped.pct_change(periods=n)
    elif op == "rolling_mean":
        result = grouped.rolling(n).mean().reset_index(level=0, drop=True)
    else:
        result = grouped.rolling(n).std().reset_index(level=0, drop=True)
    return result.reindex(frame.index)


def test_apply_operations_matches_pandas_groupby() -> None:
    frame = panel()
    out = apply_operations(frame, time_column="date", value_columns=["close", "volume"],
                           operations=["pct_change", "rolling_mean_20", "rolling_std_20",
                                       "pct_change_5", "rolling_mean_3"],
                           group_by=["ticker"])
    assert out.index.equals(frame.index)
    pd.testing.assert_frame_equal(out[frame.columns], frame)  # inputs untouched, rows in place
    for column in ("close", "volume"):
        for name, op, n in [("pct_change", "pct_change", 1),
                            ("rolling_mean_20", "rolling_mean", 20),
                            ("rolling_std_20", "rolling_std", 20),
                            ("pct_change_5", "pct_change", 5),
                            ("rolling_mean_3", "rolling_mean", 3)]:
            expected = pandas_reference(frame, column, op, n)
            np.testing.assert_allclose(out[f"{column}_{name}"], expected, rtol=1e-9,
                                       equal_nan=True, err_msg=f"{column}_{name}")


def test_the_specs_default_operations() -> None:
    assert DEFAULT_OPERATIONS == ("pct_change", "rolling_mean_20", "rolling_std_20")
    out = apply_operations(panel(), "date", ["close"], group_by=["ticker"])
    assert [c for c in out.columns if c.startswith("close_")] == [
        "close_pct_change", "close_rolling_mean_20", "close_rolling_std_20"]


def test_several_group_keys_and_no_groups() -> None:
    frame = panel()
    frame["exchange"] = np.where(frame["ticker"].isin(["GE", "MSFT"]), "NYSE", "NASDAQ")
    by_two = apply_operations(frame, "date", ["close"], ["rolling_mean_5"],
                              group_by=["exchange", "ticker"])
    by_one = apply_operations(frame, "date", ["close"], ["rolling_mean_5"], group_by=["ticker"])
    np.testing.assert_allclose(by_two["close_rolling_mean_5"], by_one["close_rolling_mean_5"],
                               equal_nan=True)
    single = frame[frame["ticker"] == "GE"]
    alone = apply_operations(single, "date", ["close"], ["pct_change"])
    expected = single.sort_values("date")["close"].pct_change().reindex(single.index)
    np.testing.assert_allclose(alone["close_pct_change"], expected, equal_nan=True)


def test_bad_operation_names_and_columns_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="rolling_mean_N"):
        apply_operations(panel(), "date", ["close"], ["rolling_mean"], ["ticker"])
    with pytest.raises(ValueError, match="unknown time-series operation 'ewm_20'"):
        apply_operations(panel(), "date", ["close"], ["ewm_20"], ["ticker"])
    with pytest.raises(KeyError, match="'price'"):
        apply_operations(panel(), "date", ["price"], ["pct_change"], ["ticker"])


def test_array_functions_with_interleaved_groups() -> None:
    values = np.array([10.0, 100.0, 11.0, 110.0, 12.1, 99.0])
    groups = ["a", "b", "a", "b", "a", "b"]
    np.testing.assert_allclose(pct_change(values, groups), [np.nan, np.nan, 0.1, 0.1, 0.1, -0.1],
                               equal_nan=True)
    np.testing.assert_allclose(rolling_mean(values, 2, groups),
                               [np.nan, np.nan, 10.5, 105.0, 11.55, 104.5], equal_nan=True)
    np.testing.assert_allclose(rolling_std(values, 2, groups)[2:4],
                               [np.std([10, 11], ddof=1), np.std([100, 110], ddof=1)])


def test_without_groups_and_with_series() -> None:
    prices = pd.Series([100.0, 110.0, 99.0, np.nan, 120.0], index=list("vwxyz"))
    changes = pct_change(prices)
    assert isinstance(changes, pd.Series) and list(changes.index) == list("vwxyz")
    pd.testing.assert_series_equal(changes, prices.pct_change())
    pd.testing.assert_series_equal(rolling_mean(prices, 2, min_periods=1),
                                   prices.rolling(2, min_periods=1).mean())
    pd.testing.assert_series_equal(rolling_std(prices, 3, min_periods=2),
                                   prices.rolling(3, min_periods=2).std())


def test_a_change_from_zero_is_nan_not_inf() -> None:
    assert np.isnan(pct_change([0.0, 5.0])[1])


def test_window_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="window"):
        rolling_mean([1.0, 2.0], 0)
    with pytest.raises(ValueError, match="min_periods"):
        rolling_std([1.0, 2.0], 2, min_periods=3)
    with pytest.raises(ValueError, match="periods"):
        pct_change([1.0, 2.0], periods=0)
    with pytest.raises(ValueError, match="labels"):
        pct_change([1.0, 2.0], groups=["a"])
