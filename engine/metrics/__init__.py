"""Metrics (spec §15a): ``counter``, ``gauge`` and ``histogram`` for steps, in the process's
Prometheus registry, and the engine's own run, step and error metrics computed from the run
store; ``metrics_text`` renders them in the Prometheus text format. Loads prometheus-client,
so ``engine`` imports this package only when one of its names is first used."""

from __future__ import annotations

from .custom import MetricError, counter, gauge, histogram
from .exposition import METRICS_CONTENT_TYPE, metrics_text
from .server import MetricsServer, serve_metrics
from .stored import DURATION_BUCKETS, StoreMetrics

__all__ = [
    "DURATION_BUCKETS",
    "METRICS_CONTENT_TYPE",
    "MetricError",
    "MetricsServer",
    "StoreMetrics",
    "counter",
    "gauge",
    "histogram",
    "metrics_text",
    "serve_metrics",
]
