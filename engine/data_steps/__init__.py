"""Data steps (spec §3): ``Step.source``, ``Step.transform`` and ``Step.sink`` move tables
between systems and steps as artifacts, report their lineage on the run's event stream, and
read incrementally behind a cursor that moves only when a run completes."""

from __future__ import annotations

from .config import DataStepError, IncrementalConfig
from .cursors import IncrementalCursors, UnknownCursorError
from .handlers import (
    SinkStep,
    SourceStep,
    TransformStep,
    check_settings,
    data_settings,
    describe,
    incremental_of,
)
from .lineage import DataLineage, data_lineage, run_data_lineage, transform_hash

__all__ = [
    "DataLineage",
    "DataStepError",
    "IncrementalConfig",
    "IncrementalCursors",
    "SinkStep",
    "SourceStep",
    "TransformStep",
    "UnknownCursorError",
    "check_settings",
    "data_lineage",
    "data_settings",
    "describe",
    "incremental_of",
    "run_data_lineage",
    "transform_hash",
]
