"""Shared by the medallion tests: one run of ``sec.medallion`` over a small generated data set,
and reading its SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engine import RunStatus, WorkflowResult, WorkflowRunner, generate_sec_dataset
from sample_workflows.medallion.workflow import wf


def run_medallion(folder: Path, *, companies: int = 60, fixture_count: int = 0) -> WorkflowResult:
    """Generate ``companies`` (seed 7) into ``folder/sec`` and run the pipeline into
    ``folder/m.sqlite``, with the run store in ``folder`` too."""
    generate_sec_dataset(folder / "sec", companies=companies, seed=7)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPINE_DB", str(folder / "spine.db"))
        result = WorkflowRunner().execute(wf.workflow, {"data_dir": str(folder / "sec"),
                                                        "db_path": str(folder / "m.sqlite"),
                                                        "fixture_count": fixture_count})
    assert result.status is RunStatus.COMPLETED, (result.error_step, result.error)
    return result


def rows(db: Path, sql: str, *args: Any) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()
