"""``FinancialCalculation``: spec §8's statement metrics by name over the columns of a table,
one row per input row or per group, computed by ``engine.finance``'s numba kernels."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..policies import ErrorCategory
from .base import CalculationError, names
from .metric_names import check_row_metric
from .tables import TableCalculation, json_safe, pandas

if TYPE_CHECKING:
    import pandas as pd

#: how ``aggregate`` may combine a column's rows within a group
GROUP_FUNCTIONS = ("sum", "last", "first", "mean", "min", "max")


@dataclass(frozen=True)
class FinancialCalculation(TableCalculation):
    """Metrics by name (``debt_to_equity``, ``current_ratio``, ...) over a table's columns.

    Each metric reads the columns named like its ``engine.finance`` function's parameters
    (``quick_ratio`` reads ``current_assets``, ``current_liabilities`` and ``inventory``);
    ``columns`` renames them (``{"debt": "total_liabilities"}``), and a parameter with a
    default (``cash``, ``tax_rate`` of ROIC) uses it when its column is absent.

    Without ``group_by`` every input row gets the metric columns. With ``group_by`` each group's
    input columns are first combined (summed, unless ``aggregate`` says ``last``/``mean``/...
    for a column: use ``last`` for balance-sheet items reported per quarter), then the metrics
    are computed on the group's figures, one row per group. A zero denominator or a missing
    input gives NaN for that row (``None`` in JSON), never a failed batch.

    The step's output is the table (see ``output_format``: an artifact ref under ``artifact``,
    or inline ``rows``) plus ``summary``: per metric the count of values, of NaN, and the
    mean, min and max, which ``ComplianceRules`` can check as ``metrics``.
    """

    metrics: Iterable[str] = ()
    input_ref: Any = None
    group_by: Iterable[str] = ()
    output_format: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    aggregate: Mapping[str, str] = field(default_factory=dict)

    kind = "calculate"

    def __post_init__(self) -> None:
        owner = "FinancialCalculation"
        object.__setattr__(self, "metrics", names(owner, "metrics", self.metrics))
        object.__setattr__(self, "group_by", names(owner, "group_by", self.group_by))
        object.__setattr__(self, "columns", dict(self.columns or {}))
        object.__setattr__(self, "aggregate", dict(self.aggregate or {}))
        if not self.metrics:
            raise ValueError(f"{owner}: metrics is empty; name at least one, e.g. "
                             "['debt_to_equity', 'current_ratio']")
        for metric in self.metrics:
            check_row_metric(owner, metric)
        self.check_table_fields(owner)
        for column, how in self.aggregate.items():
            if how not in GROUP_FUNCTIONS:
                raise ValueError(f"{owner}: aggregate[{column!r}] = {how!r}; use one of "
                                 f"{', '.join(GROUP_FUNCTIONS)}")
        if self.aggregate and not self.group_by:
            raise ValueError(f"{owner}: aggregate combines rows within a group; set group_by")

    def describe(self) -> str:
        by = f" by {', '.join(self.group_by)}" if self.group_by else ""
        return f"{', '.join(self.metrics)} over {self.input_ref}{by}"

    def extra_output(self, result: pd.DataFrame) -> dict[str, Any]:
        """``summary``: per metric the count, NaN count, mean, min and max."""
        return {"summary": summarize(result, self.metrics)}

    def compute(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The metric table for ``frame`` (what the step publishes)."""
        import engine.finance as finance  # deliberate lazy load: numba only when a step runs

        functions = {m: getattr(finance, m) for m in self.metrics}
        plans = {m: self._inputs(m, fn) for m, fn in functions.items()}
        needed = sorted({c for plan in plans.values() for c, _ in plan.values() if c in frame})
        missing_keys = [k for k in self.group_by if k not in frame.columns]
        if missing_keys:
            raise CalculationError(f"group_by columns {missing_keys} are not in the input "
                                   f"(it has {list(frame.columns)})", ErrorCategory.DATA_QUALITY)
        if self.group_by:
            base = self._grouped(frame, needed)
        else:  # inputs as numbers, as in a group: a stray text cell is NaN in and out
            base = frame.copy()
            base[needed] = frame[needed].apply(_numbers)
        for metric, fn in functions.items():
            kwargs = {}
            for param, (column, default) in plans[metric].items():
                if column in base.columns:
                    kwargs[param] = base[column].to_numpy()
                elif default is not inspect.Parameter.empty:
                    kwargs[param] = default
                else:
                    raise CalculationError(
                        f"metric {metric!r} needs column {column!r} (its {param!r}), which "
                        f"the input does not have (it has {list(frame.columns)}); rename it "
                        f"with columns={{{param!r}: 'your_column'}}",
                        ErrorCategory.DATA_QUALITY)
            base[metric] = fn(**kwargs)
        return base

    def _inputs(self, metric: str, fn: Any) -> dict[str, tuple[str, Any]]:
        """Each parameter of ``fn``: the column it reads and its default."""
        return {name: (self.columns.get(name, name), p.default)
                for name, p in inspect.signature(fn).parameters.items()}

    def _grouped(self, frame: pd.DataFrame, needed: list[str]) -> pd.DataFrame:
        """One row per group: each needed column combined per ``aggregate`` (sum by default)."""
        keys = list(self.group_by)
        values = [c for c in needed if c not in keys]
        numeric = frame[values].apply(_numbers)
        table = frame[keys].join(numeric)
        how = {c: self.aggregate.get(c, "sum") for c in values}
        sums = {c: h for c, h in how.items() if h == "sum"}
        grouped = table.groupby(keys, sort=True, dropna=False)
        out = grouped.agg(how) if how else grouped.size().to_frame("rows")
        if sums:  # a group whose values are all missing sums to NaN, not 0
            counts = grouped[list(sums)].count()
            out[list(sums)] = out[list(sums)].where(counts > 0)
        return out.reset_index()


def _numbers(column: pd.Series) -> pd.Series:
    """A column as floats, anything that is not a number as NaN (one bad cell, one NaN)."""
    if column.dtype == "float64":
        return column
    return pandas().to_numeric(column, errors="coerce").astype("float64")


def summarize(frame: pd.DataFrame, metrics: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Per metric column: how many values and NaN, and their mean, min and max (JSON-safe)."""
    summary: dict[str, dict[str, Any]] = {}
    for metric in metrics:
        values = frame[metric].astype("float64")
        finite = values[values.abs() != float("inf")].dropna()
        summary[metric] = json_safe({
            "count": int(finite.size), "nan": int(values.size - finite.size),
            "mean": float(finite.mean()) if finite.size else None,
            "min": float(finite.min()) if finite.size else None,
            "max": float(finite.max()) if finite.size else None})
    return summary
