"""``RunAnalytics``: success rates, duration percentiles, failure causes and daily trends.

Every figure is aggregated inside SQLite over indexed time ranges (``runs`` by
``created_at``, ``step_runs`` by ``started_at``); only aggregates or one narrow column ever
reach Python, so each call stays well under a second on a store with millions of step rows.
pandas and numpy are imported inside the methods that need them: ``import engine`` stays light.

Status semantics (shared with ``WorkflowCatalog``): a run *succeeded* when it is
``completed``; it *finished* when it is ``completed``, ``failed`` or ``interrupted`` (its
process died). ``cancelled`` runs (an operator's decision) and ``skipped`` runs (a partition
that had already completed) are neither, and in-flight runs are not counted yet.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .store.records import to_datetime
from .store.runs import StoreLike, open_store

if TYPE_CHECKING:
    import pandas as pd

SUCCESS_STATUSES: tuple[str, ...] = ("completed",)
FAILURE_STATUSES: tuple[str, ...] = ("failed", "interrupted")
FINISHED_STATUSES: tuple[str, ...] = SUCCESS_STATUSES + FAILURE_STATUSES
UNKNOWN_CATEGORY = "UNKNOWN"
TREND_METRICS: tuple[str, ...] = ("runs", "success_rate", "duration_p50", "failures")
_METRIC_ALIASES = {"duration": "duration_p50"}
_DAY = 86_400.0

_FINISHED_SQL = ", ".join(f"'{s}'" for s in FINISHED_STATUSES)
_FAILURE_SQL = ", ".join(f"'{s}'" for s in FAILURE_STATUSES)


def percentile_key(p: float) -> str:
    """``50`` -> ``"p50"``, ``99.9`` -> ``"p99.9"``."""
    return f"p{p:g}"


class RunAnalytics:
    """Analytics over the run history of one store (a path, ``RunStore`` or ``Database``).

    ``workflow=None`` means every workflow; ``window_days`` counts back from now (``None``
    means all history). ``clock`` returns "now" in unix seconds, so reports are reproducible.
    """

    def __init__(self, store: StoreLike | Any = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = open_store(store)
        self._clock = clock

    # ------------------------------------------------------------------ run level
    def success_rate(self, workflow: str | None = None, window_days: float | None = 30) -> float:
        """Completed runs / finished runs (see the module docstring); 0.0 when none finished."""
        completed, finished = self._execute(
            f"SELECT count(*) FILTER (WHERE status = 'completed'), "
            f"count(*) FILTER (WHERE status IN ({_FINISHED_SQL})) FROM runs WHERE 1",
            workflow, window_days).fetchone()
        return completed / finished if finished else 0.0

    def duration_percentiles(self, workflow: str | None = None, window_days: float | None = 30,
                             percentiles: Sequence[float] = (50, 90, 99)
                             ) -> dict[str, float | None]:
        """Percentiles of completed runs' durations in seconds, e.g. ``{"p50": 12.3, ...}``.

        Interpolated linearly between the two nearest durations, as ``numpy.percentile`` and
        ``pandas.Series.quantile`` do; every value is ``None`` when no run completed.
        """
        import numpy as np

        cursor = self._execute(
            "SELECT duration_seconds FROM runs WHERE status = 'completed' "
            "AND duration_seconds IS NOT NULL", workflow, window_days)
        durations = np.fromiter((row[0] for row in cursor), dtype=float)
        keys = [percentile_key(p) for p in percentiles]
        if durations.size == 0:
            return dict.fromkeys(keys)
        values = np.percentile(durations, list(percentiles))
        return {key: float(value) for key, value in zip(keys, values, strict=True)}

    # ------------------------------------------------------------------ step level
    def failure_breakdown(self, workflow: str | None = None, window_days: float | None = 30
                          ) -> dict[str, int]:
        """Failed steps per error category, most frequent first (``UNKNOWN`` when none was set).

        Counts each step's final status, by when it started; a step that failed and then
        succeeded on retry is not a failure here.
        """
        rows = self._execute_steps(
            f"SELECT COALESCE(NULLIF(error_category, ''), '{UNKNOWN_CATEGORY}') AS category, "
            "count(*) AS n FROM step_runs WHERE status = 'failed'",
            workflow, window_days, "GROUP BY category ORDER BY n DESC, category").fetchall()
        return {category: int(n) for category, n in rows}

    def slowest_steps(self, workflow: str | None = None, window_days: float | None = 30,
                      limit: int = 10) -> list[dict[str, Any]]:
        """Steps by mean duration of their completed runs, slowest first.

        Each row: ``workflow``, ``step``, ``runs``, ``avg_seconds``, ``max_seconds``,
        ``total_seconds`` (the last shows where the time goes across all runs). A map's
        per-item steps (``fan[3].inner``) are one row, ``fan[*].inner``, whose ``runs`` counts
        every item's execution — otherwise one wide map would fill the table with its items.
        """
        # The inner GROUP BY step first: grouping by the index's leading column would make
        # SQLite walk the (workflow, started_at) index and look up every row instead of
        # scanning once. Folding items happens on those few grouped rows (an expression in
        # the scan itself would cost a temp B-tree over every row: 2-3x slower at 1M rows).
        rows = self._execute_steps(
            f"SELECT workflow, {_ITEM_KEY} AS key, sum(n) AS runs, "
            "total(seconds) / sum(n) AS avg_seconds, max(longest) AS max_seconds, "
            "total(seconds) AS total_seconds FROM (SELECT workflow, step, count(*) AS n, "
            "max(duration_seconds) AS longest, total(duration_seconds) AS seconds "
            "FROM step_runs WHERE status = 'completed' AND duration_seconds IS NOT NULL",
            workflow, window_days,
            "GROUP BY step, workflow) GROUP BY key, workflow "
            "ORDER BY avg_seconds DESC, workflow, key LIMIT ?", [limit]).fetchall()
        names = ("workflow", "step", "runs", "avg_seconds", "max_seconds", "total_seconds")
        return [dict(zip(names, row, strict=True)) for row in rows]

    # ------------------------------------------------------------------ trends
    def trending_frame(self, workflow: str | None = None, window_days: int = 30
                       ) -> pd.DataFrame:
        """One row per UTC day of the last ``window_days`` days (today included), oldest first.

        Columns: ``runs`` (created that day), ``completed``, ``failures`` (failed or
        interrupted), ``success_rate`` and ``duration_p50`` (seconds, completed runs);
        the last two are NaN on days with nothing to measure.
        """
        import numpy as np
        import pandas as pd

        days = max(int(window_days), 1)
        today = datetime.fromtimestamp(self._clock(), UTC).date()
        first = pd.Timestamp(today) - pd.Timedelta(days=days - 1)
        start = first.tz_localize(UTC).timestamp()
        day_expr = "CAST((created_at - ?) / 86400 AS INTEGER)"
        counts = self._execute(
            f"SELECT {day_expr} AS day, count(*), count(*) FILTER (WHERE status = 'completed'), "
            f"count(*) FILTER (WHERE status IN ({_FAILURE_SQL})) FROM runs WHERE 1",
            workflow, None, since=start, tail="GROUP BY day", head_params=[start]).fetchall()
        index = pd.date_range(first, periods=days, freq="D", name="date")
        frame = pd.DataFrame(0, index=range(days), columns=["runs", "completed", "failures"])
        for day, runs, completed, failures in counts:
            if 0 <= day < days:
                frame.loc[day] = (runs, completed, failures)
        finished = frame["completed"] + frame["failures"]
        frame["success_rate"] = (frame["completed"] / finished.where(finished > 0)).astype(float)
        pairs = self._execute(
            f"SELECT {day_expr}, duration_seconds FROM runs WHERE status = 'completed' "
            "AND duration_seconds IS NOT NULL", workflow, None, since=start,
            head_params=[start]).fetchall()
        medians = (pd.DataFrame.from_records(pairs, columns=["day", "seconds"])
                   .groupby("day")["seconds"].median()) if pairs else pd.Series(dtype=float)
        frame["duration_p50"] = medians.reindex(range(days)).to_numpy(dtype=float, na_value=np.nan)
        frame.index = index
        return frame

    def trending(self, workflow: str | None = None, metric: str = "duration",
                 window_days: int = 30) -> list[dict[str, Any]]:
        """Daily values of one metric: ``[{"date": "2025-01-31", "value": 12.3}, ...]``.

        ``metric`` is one of ``runs``, ``success_rate``, ``duration_p50`` (alias
        ``duration``) or ``failures``; ``value`` is ``None`` on days with nothing to measure.
        Use ``trending_frame`` for every metric at once as a pandas DataFrame.
        """
        column = _METRIC_ALIASES.get(metric, metric)
        if column not in TREND_METRICS:
            raise ValueError(f"unknown trend metric {metric!r}; choose one of "
                             f"{', '.join(TREND_METRICS)} (or 'duration' for duration_p50)")
        series = self.trending_frame(workflow, window_days)[column]
        return [{"date": stamp.date().isoformat(), "value": _plain(value)}
                for stamp, value in series.items()]

    # ------------------------------------------------------------------ overview
    def summary(self, workflow: str | None = None, window_days: float | None = 30
                ) -> dict[str, Any]:
        """Everything the CLI and the TUI show at once, JSON-ready."""
        by_status = {status: int(n) for status, n in self._execute(
            "SELECT status, count(*) FROM runs WHERE 1", workflow, window_days,
            "GROUP BY status ORDER BY status").fetchall()}
        completed = sum(by_status.get(s, 0) for s in SUCCESS_STATUSES)
        finished = sum(by_status.get(s, 0) for s in FINISHED_STATUSES)
        last = self._execute("SELECT run_id, status, created_at FROM runs WHERE 1", workflow,
                             None, "ORDER BY created_at DESC LIMIT 1").fetchone()
        return {
            "workflow": workflow,
            "window_days": window_days,
            "total_runs": sum(by_status.values()),
            "finished_runs": finished,
            "by_status": by_status,
            "success_rate": completed / finished if finished else 0.0,
            "duration_seconds": self.duration_percentiles(workflow, window_days),
            "failure_breakdown": self.failure_breakdown(workflow, window_days),
            "last_run": None if last is None else {
                "run_id": last[0], "status": last[1],
                "created_at": _iso(to_datetime(last[2]))},
        }

    # ------------------------------------------------------------------ helpers
    def _cutoff(self, window_days: float | None) -> float | None:
        return None if window_days is None else self._clock() - float(window_days) * _DAY

    def _execute(self, head: str, workflow: str | None, window_days: float | None,
                 tail: str = "", params: Iterable[Any] = (), *, since: float | None = None,
                 head_params: Iterable[Any] = ()) -> Any:
        """Run ``head`` (ending in a WHERE clause) over ``runs``, filtered by workflow/window."""
        sql, args = [head], list[Any](head_params)
        if workflow is not None:
            sql.append("AND workflow = ?")
            args.append(workflow)
        since = since if since is not None else self._cutoff(window_days)
        if since is not None:
            sql.append("AND created_at >= ?")
            args.append(since)
        sql.append(tail)
        return self.store.db.connection().execute(" ".join(sql), [*args, *params])

    def _execute_steps(self, head: str, workflow: str | None, window_days: float | None,
                       tail: str = "", params: Iterable[Any] = ()) -> Any:
        """Like ``_execute`` over ``step_runs``, windowed by the steps' start times.

        With a workflow, the ``(workflow, started_at)`` index narrows the scan; across all
        workflows one sequential table scan beats walking that index (``+`` disables it).
        """
        sql, args = [head], list[Any]()
        cutoff = self._cutoff(window_days)
        if workflow is not None:
            sql.append("AND workflow = ?")
            args.append(workflow)
            if cutoff is not None:
                sql.append("AND started_at >= ?")
                args.append(cutoff)
        elif cutoff is not None:
            sql.append("AND +started_at >= ?")
            args.append(cutoff)
        sql.append(tail)
        return self.store.db.connection().execute(" ".join(sql), [*args, *params])


#: ``fan[12].inner`` -> ``fan[*].inner`` in SQL: the first level of map items folded together
_ITEM_KEY = ("CASE WHEN instr(step, '[') > 0 THEN substr(step, 1, instr(step, '[')) || '*' || "
             "substr(step, instr(step, ']')) ELSE step END")


def _plain(value: Any) -> int | float | None:
    """numpy scalars as JSON-ready Python numbers; NaN (nothing measured) as ``None``."""
    if isinstance(value, numbers.Integral):
        return int(value)
    number = float(value)
    return None if math.isnan(number) else number


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
