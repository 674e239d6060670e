"""Textual screens of the workbench: one module and one ``.tcss`` file per screen."""

from __future__ import annotations

from pathlib import Path

from .catalog import CatalogScreen
from .help import HelpScreen
from .run_detail import RunDetailScreen
from .run_params import RunParamsScreen
from .runs import RunsScreen
from .workflow import WorkflowScreen

_HERE = Path(__file__).parent
CSS_PATHS: list[Path] = sorted(_HERE.glob("*.tcss"))
"""Every screen's stylesheet, for the App's ``CSS_PATH`` (each rule is scoped by screen)."""

__all__ = ["CSS_PATHS", "CatalogScreen", "HelpScreen", "RunDetailScreen", "RunParamsScreen",
           "RunsScreen", "WorkflowScreen"]
