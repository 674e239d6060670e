"""The Prometheus text format (version 0.0.4) of the store's metrics, and optionally the
process registry's (custom step metrics, Python and process metrics)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ..store.db import Database
from ..store.runs import RunStore, StoreLike, open_store
from .stored import StoreMetrics

#: the Content-Type of ``metrics_text``: what Prometheus scrapers expect from /metrics
METRICS_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class Together(Collector):
    """Several collectors read as one (what ``generate_latest`` takes)."""

    def __init__(self, *collectors: Collector) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def metrics_text(store: StoreLike | Database | None = None, *, process: bool = False) -> str:
    """The store's run, step, error and alert metrics in the Prometheus text format; with
    ``process``, also this process's registry (metrics steps recorded here with ``counter``,
    ``gauge``, ``histogram``, and prometheus-client's Python and process metrics)."""
    opened = None if isinstance(store, Database | RunStore) else open_store(store)
    db = store if isinstance(store, Database) else (opened or open_store(store)).db
    collectors: tuple[Collector, ...] = (StoreMetrics(db), REGISTRY) if process else (
        StoreMetrics(db),)
    try:
        return generate_latest(Together(*collectors)).decode("utf-8")
    finally:
        if opened is not None:  # opened here from a path: closed here
            opened.close()
