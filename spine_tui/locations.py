"""Where the workbench and the CLI look for workflows when no path is given.

The engine's default is ``./workflows``; the front ends fall back to the sample workflows
bundled with spine-tui, so a fresh install has a catalog to open.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from engine import default_paths
from sample_workflows import SAMPLES_DIR


def workflow_paths(paths: Iterable[str | Path] | None = None) -> list[Path]:
    """``paths`` when given, else ``./workflows`` if it exists, else the bundled samples."""
    given = [Path(p) for p in paths or ()]
    return given or default_paths() or [Path(SAMPLES_DIR)]
