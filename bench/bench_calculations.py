"""Benchmark spec §8's calculation steps against the pandas a user would write by hand.

Measures (medians of ``--repeats``, contenders alternating so load from elsewhere hits both):
- ``FinancialCalculation.compute``: three ratios over ``--rows`` rows (per row, and grouped by
  company and year) vs the same in plain pandas (division, inf → NaN);
- ``TimeSeriesAggregation.compute``: pct_change, rolling_mean_20, rolling_std_20 per ticker
  over ``--rows`` rows vs pandas ``groupby().pct_change()/rolling()``;
- ``ComplianceRules``: CEL rule evaluations per second over 10,000 rows × 3 rules (the step
  evaluates each rule per row; this is its cost per row).

Usage: python bench/bench_calculations.py [--rows 1000000] [--repeats 5] [--append]
``--append`` adds a section to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import (  # noqa: E402
    ComplianceRules,
    FinancialCalculation,
    Step,
    TimeSeriesAggregation,
    Workflow,
    WorkflowRunner,
)


def race(contenders: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median seconds of each contender, run in turn ``repeats`` times after one warm-up."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for fn in contenders.values():
        fn()
    for _ in range(repeats):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def statements(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "company_id": rng.integers(0, rows // 10, rows),
        "fiscal_year": rng.integers(2015, 2025, rows),
        "debt": rng.uniform(0, 100, rows), "equity": rng.uniform(-5, 100, rows),
        "current_assets": rng.uniform(0, 50, rows), "current_liabilities": rng.uniform(0, 40, rows),
        "inventory": rng.uniform(0, 10, rows)})
    frame.loc[::97, "equity"] = 0.0
    return frame


def pandas_ratios(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["debt_to_equity"] = frame["debt"] / frame["equity"]
    out["current_ratio"] = frame["current_assets"] / frame["current_liabilities"]
    out["quick_ratio"] = (frame["current_assets"] - frame["inventory"]) / \
        frame["current_liabilities"]
    return out.replace([np.inf, -np.inf], np.nan)


def pandas_grouped(frame: pd.DataFrame) -> pd.DataFrame:
    sums = frame.groupby(["company_id", "fiscal_year"]).sum().reset_index()
    return pandas_ratios(sums)


def prices(rows: int) -> pd.DataFrame:
    tickers, days = 500, rows // 500
    rng = np.random.default_rng(2)
    close = 100 * np.cumprod(1 + rng.normal(0.0003, 0.02, (tickers, days)), axis=1)
    dates = pd.bdate_range("2010-01-01", periods=days)
    return pd.DataFrame({"ticker": np.repeat(np.arange(tickers), days),
                         "date": np.tile(dates, tickers), "close": close.reshape(-1)})


def pandas_series(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)
    grouped = out.groupby("ticker")["close"]
    out["close_pct_change"] = grouped.pct_change()
    out["close_rolling_mean_20"] = grouped.rolling(20).mean().to_numpy()
    out["close_rolling_std_20"] = grouped.rolling(20).std().to_numpy()
    return out


def rules_run(rows: int) -> float:
    rng = np.random.default_rng(3)
    positions = [{"ticker": f"T{i}", "weight": float(w), "sector": "tech" if i % 3 else "energy"}
                 for i, w in enumerate(rng.uniform(0, 0.12, rows))]
    rules = ComplianceRules(rules=[
        {"name": "limit", "expression": "row.weight <= 0.10", "severity": "warning"},
        {"name": "sector", "expression": 'row.sector != "energy" || row.weight < 0.05',
         "severity": "warning"},
        {"name": "named", "expression": 'row.ticker.startsWith("T")', "severity": "warning"}],
        input_ref="$.outputs.load.rows")
    wf = Workflow("bench.rules", steps=[Step.lambda_("load", lambda ctx, cfg: {"rows": positions}),
                                        Step.validate("check", rules)])
    start = time.perf_counter()
    result = WorkflowRunner(capture_logs=False).execute(wf)
    elapsed = time.perf_counter() - start
    assert result.outputs["check"]["checked_rows"] == rows
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--append", action="store_true")
    args = parser.parse_args()

    frame = statements(args.rows)
    per_row = FinancialCalculation(metrics=["debt_to_equity", "current_ratio", "quick_ratio"],
                                   input_ref="$.artifacts.x")
    grouped = FinancialCalculation(metrics=["debt_to_equity", "current_ratio", "quick_ratio"],
                                   input_ref="$.artifacts.x",
                                   group_by=["company_id", "fiscal_year"])
    ratio_times = race({"step": lambda: per_row.compute(frame),
                        "pandas": lambda: pandas_ratios(frame)}, args.repeats)
    group_times = race({"step": lambda: grouped.compute(frame),
                        "pandas": lambda: pandas_grouped(frame)}, args.repeats)
    series = prices(args.rows)
    agg = TimeSeriesAggregation(input_ref="$.artifacts.p", value_columns=["close"],
                                operations=["pct_change", "rolling_mean_20", "rolling_std_20"],
                                group_by=["ticker"])
    series_times = race({"step": lambda: agg.compute(series),
                         "pandas": lambda: pandas_series(series)}, args.repeats)
    rule_rows = 10_000
    rule_seconds = statistics.median(rules_run(rule_rows) for _ in range(args.repeats))

    lines = [
        f"## Calculation steps (spec §8) — {datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
        "",
        f"`python bench/bench_calculations.py --rows {args.rows} --repeats {args.repeats}` "
        "(medians; step and pandas alternate; warm numba cache).",
        "",
        "| what | step | plain pandas | step ÷ pandas time |",
        "|---|---|---|---|",
    ]
    for label, times in (("3 ratios per row", ratio_times),
                         ("3 ratios grouped by company, year", group_times),
                         ("pct_change + rolling mean/std 20, 500 tickers", series_times)):
        lines.append(f"| {label}, {args.rows:,} rows | {times['step'] * 1000:.0f} ms | "
                     f"{times['pandas'] * 1000:.0f} ms | "
                     f"{times['step'] / times['pandas']:.2f} |")
    evals = rule_rows * 3 / rule_seconds
    lines += ["", f"- ComplianceRules over {rule_rows:,} rows × 3 rules, whole run: "
              f"{rule_seconds * 1000:.0f} ms ({evals:,.0f} rule evaluations/s)."]
    text = "\n".join(lines)
    print(text)
    if args.append:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as handle:
            handle.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
