"""Spec R3's dependency container and R6's backward-compatible adapter around the silver
pipeline.

``DependencyContainer`` assembles what ``SilverPipeline`` runs on (the connection, R8's tag
mapping, the dead-letter queue, settings); tests swap a piece through it, e.g. a tag resolver
that fails halfway, without touching the pipeline. ``SilverLayerTransformerAdapter`` keeps the
old one-call interface (``transform_bronze_to_silver`` returning the legacy stats dict) while
the staged pipeline does the work, so callers written against it never change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engine import DLQManager
from sample_workflows.medallion.schema import connect, ensure_schema
from sample_workflows.medallion.silver import (
    PipelineResult,
    SilverDependencies,
    SilverPipeline,
    SilverSettings,
)
from sample_workflows.medallion.tags import TagMappingService


class DependencyContainer:
    """Build ``SilverDependencies`` for one database; ``tag_mapping`` overrides R8's service
    (a factory taking the connection)."""

    def __init__(self, db_path: str | Path, settings: SilverSettings | None = None,
                 dlq: DLQManager | None = None,
                 tag_mapping: Callable[[Any], Any] = TagMappingService) -> None:
        self.db_path = Path(db_path)
        self.settings = settings or SilverSettings()
        self.dlq = dlq
        self.tag_mapping = tag_mapping

    def build(self) -> SilverDependencies:
        conn = connect(self.db_path)
        ensure_schema(conn)
        return SilverDependencies(conn=conn, tag_mapping=self.tag_mapping(conn), dlq=self.dlq,
                                  settings=self.settings)


class SilverLayerTransformerAdapter:
    """The legacy interface: one call, a flat stats dict; the staged pipeline underneath."""

    def __init__(self, db_path: str | Path, batch_size: int = 500_000,
                 dlq: DLQManager | None = None) -> None:
        self.db_path = Path(db_path)
        self.batch_size = batch_size
        self._container = DependencyContainer(db_path, SilverSettings(batch_size=batch_size),
                                              dlq=dlq)

    def transform_bronze_to_silver(self, load_ids: Sequence[int] | None = None
                                   ) -> dict[str, Any]:
        """Run every stage over the pending bronze loads; the legacy dict format."""
        deps = self._container.build()
        try:
            result = SilverPipeline(deps).transform(load_ids=load_ids)
        finally:
            deps.conn.close()
        return to_stats_dict(result)


def to_stats_dict(result: PipelineResult) -> dict[str, Any]:
    """A ``PipelineResult`` in the legacy flat format."""
    return {"status": "success" if result.success else "failed",
            "silver_load_id": result.silver_load_id, "load_ids": result.bronze_load_ids,
            "companies": result.companies_processed, "filings": result.filings_processed,
            "facts_inserted": result.facts_written, "facts_skipped": result.facts_skipped,
            "facts_failed": result.facts_failed,
            "duration_seconds": round(result.duration_seconds, 3),
            "facts_per_second": round(result.throughput, 1)}
