"""The engine's own metrics, aggregated in SQL from the run store (spec §15a).

Computed from the store rather than counted in memory, so they cover every process that
runs workflows on it (CLI, TUI, ``serve``, scripts) and survive restarts: each scrape is
three grouped scans (``bench/bench_metrics.py``: 100,000 runs in about 0.25 s). Counters
count finished runs and steps in the stored history: deleting runs (retention) lowers them,
which Prometheus reads as a counter reset. A step's figures are those of its last attempt
(what the store keeps). Step names of map items (``fan[3].clean``) are folded into one
series (``fan[*].clean``) so labels stay few.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ..lifecycle import LIVE
from ..step_names import MAP_ITEM_SCOPE
from ..store.alerts import ALERT_STATUSES
from ..store.db import Database

#: upper bounds (seconds) of the run and step duration histograms
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
#: step statuses ``spine_workflow_steps_total`` counts (the others are not final)
STEP_STATUSES = ("completed", "failed", "skipped", "cancelled", "interrupted")
_LIVE = frozenset(s.value for s in LIVE)


def _at_most(column: str, bounds: Sequence[float]) -> str:
    """One count per bucket of rows at or under its bound (cumulative, as Prometheus wants).

    Grouping in index order with these is about twice as fast as grouping by a per-row bucket
    number, which sorts every row in a temporary b-tree (measured in bench_metrics.py).
    """
    return ", ".join(f"count(CASE WHEN {column} <= {b!r} THEN 1 END)" for b in bounds)


# A table scan and a small sort beat walking runs_workflow_created (a table lookup per row).
_RUNS_SQL = ("SELECT workflow, status, count(*), count(duration_seconds), "
             f"total(duration_seconds), {_at_most('duration_seconds', DURATION_BUCKETS)} "
             "FROM runs NOT INDEXED GROUP BY workflow, status")
# Grouped in the order of the covering index step_runs_stats: no temporary b-tree.
_STEPS_SQL = ("SELECT workflow, step, count(duration_seconds), total(duration_seconds), "
              f"{_at_most('duration_seconds', DURATION_BUCKETS)}, "
              + ", ".join(f"count(CASE WHEN status = '{s}' THEN 1 END)" for s in STEP_STATUSES)
              + " FROM step_runs GROUP BY workflow, step")
_ERRORS_SQL = ("SELECT workflow, error_category, count(*) FROM step_runs "
               "WHERE status = 'failed' GROUP BY workflow, error_category")


class _Histograms:
    """Cumulative bucket counts, totals and sums per label set, merged across rows."""

    def __init__(self) -> None:
        self.buckets: dict[tuple[str, ...], list[int]] = defaultdict(
            lambda: [0] * (len(DURATION_BUCKETS) + 1))
        self.sums: dict[tuple[str, ...], float] = defaultdict(float)

    def add(self, labels: tuple[str, ...], at_most: Sequence[int], count: int,
            total: float) -> None:
        merged = self.buckets[labels]
        for i, value in enumerate((*at_most, count)):
            merged[i] += value
        self.sums[labels] += total

    def family(self, name: str, doc: str, label_names: list[str]) -> HistogramMetricFamily:
        family = HistogramMetricFamily(name, doc, labels=label_names)
        bounds = [*(repr(float(b)) for b in DURATION_BUCKETS), "+Inf"]
        for labels in sorted(self.buckets):
            family.add_metric(list(labels), list(zip(bounds, self.buckets[labels], strict=True)),
                              sum_value=self.sums[labels])
        return family


class StoreMetrics(Collector):
    """A prometheus-client collector over one run store: each ``collect()`` reads it anew."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        conn = self.db.connection()
        conn.execute("BEGIN")  # one snapshot: runs, steps and alerts agree with each other
        try:
            run_rows = conn.execute(_RUNS_SQL).fetchall()
            step_rows = conn.execute(_STEPS_SQL).fetchall()
            error_rows = conn.execute(_ERRORS_SQL).fetchall()
            alert_rows = conn.execute("SELECT status, count(*) FROM alert_outbox "
                                      "GROUP BY status").fetchall()
        finally:
            conn.execute("COMMIT")
        yield from _run_families(run_rows)
        yield from _step_families(step_rows, error_rows)
        alerts = GaugeMetricFamily("spine_alerts", "Alerts in the outbox, by delivery status",
                                   labels=["status"])
        found = {str(status): int(count) for status, count in alert_rows}
        for status in ALERT_STATUSES:
            alerts.add_metric([status], found.get(status, 0))
        yield alerts


def _run_families(rows: list[tuple[Any, ...]]) -> Iterator[Metric]:
    finished = CounterMetricFamily("spine_workflow_runs", "Finished runs, by workflow and "
                                   "final status", labels=["workflow", "status"])
    active = GaugeMetricFamily("spine_workflow_runs_active", "Runs not finished yet, by "
                               "workflow and status", labels=["workflow", "status"])
    durations = _Histograms()
    for workflow, status, count, timed, total, *at_most in rows:
        if status in _LIVE:
            active.add_metric([workflow, status], count)
            continue
        finished.add_metric([workflow, status], count)
        if timed:
            durations.add((workflow, status), at_most, timed, total)
    yield durations.family("spine_workflow_duration_seconds", "Duration of finished runs",
                           ["workflow", "status"])
    yield finished
    yield active


def _step_families(rows: list[tuple[Any, ...]], error_rows: list[tuple[Any, ...]]
                   ) -> Iterator[Metric]:
    durations = _Histograms()
    totals: dict[tuple[str, str, str], int] = defaultdict(int)
    for workflow, step, timed, total, *counts in rows:
        name = MAP_ITEM_SCOPE.sub("[*].", step)
        at_most, by_status = counts[:len(DURATION_BUCKETS)], counts[len(DURATION_BUCKETS):]
        if timed:
            durations.add((workflow, name), at_most, timed, total)
        for status, count in zip(STEP_STATUSES, by_status, strict=True):
            if count:
                totals[(workflow, name, status)] += count
    steps = CounterMetricFamily("spine_workflow_steps", "Finished steps (the last attempt of "
                                "each), by workflow, step and status",
                                labels=["workflow", "step", "status"])
    for key, count in sorted(totals.items()):
        steps.add_metric(list(key), count)
    errors = CounterMetricFamily("spine_workflow_error", "Failed steps, by workflow and error "
                                 "category", labels=["workflow", "category"])
    failures: dict[tuple[str, str], int] = defaultdict(int)
    for workflow, category, count in error_rows:
        failures[(workflow, category or "UNKNOWN")] += count
    for pair, count in sorted(failures.items()):
        errors.add_metric(list(pair), count)
    yield durations.family("spine_workflow_step_duration_seconds", "Duration of finished "
                           "steps (the last attempt of each)", ["workflow", "step"])
    yield steps
    yield errors
