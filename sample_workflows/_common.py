"""Shared helpers for the sample workflows: bundled data paths, scratch databases, printing."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine import Workflow, WorkflowResult, WorkflowRunner, format_result

DATA_DIR = Path(__file__).parent / "data"

#: Where samples that write (SQLite tables) put their files unless a ``db_path`` is given.
SCRATCH_ENV = "SPINE_SAMPLES_SCRATCH"


def data_file(name: str) -> Path:
    """A file bundled under ``sample_workflows/data/``."""
    return DATA_DIR / name


def scratch_path(name: str) -> Path:
    """A writable path for sample output (``$SPINE_SAMPLES_SCRATCH`` or the temp folder)."""
    folder = Path(os.environ.get(SCRATCH_ENV) or Path(tempfile.gettempdir()) / "spine-samples")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def run_and_show(workflow: Workflow, params: Mapping[str, Any] | None = None) -> WorkflowResult:
    """Run a plain ``Workflow`` in memory and print the same report ``ManagedWorkflow.show`` does."""
    result = WorkflowRunner().execute(workflow, params)
    print(format_result(workflow, result))
    return result
