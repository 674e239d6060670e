"""Textual screens of the workbench: one module and one ``.tcss`` file per screen."""

from __future__ import annotations

from pathlib import Path

from .analytics import AnalyticsScreen
from .catalog import CatalogScreen
from .help import HelpScreen
from .operations import OperationsScreen
from .playground import PlaygroundScreen
from .playground_dialogs import OutputEditScreen, ParamEditScreen, SnapshotDiffScreen
from .run_detail import RunDetailScreen
from .run_params import RunParamsScreen
from .runs import RunsScreen
from .schedules import SchedulesScreen
from .versions import VersionsScreen
from .workflow import WorkflowScreen
from .workflow_yaml import YamlScreen

_HERE = Path(__file__).parent
CSS_PATHS: list[Path] = sorted(_HERE.glob("*.tcss"))
"""Every screen's stylesheet, for the App's ``CSS_PATH`` (each rule is scoped by screen)."""

__all__ = ["CSS_PATHS", "AnalyticsScreen", "CatalogScreen", "HelpScreen", "OperationsScreen", "OutputEditScreen", "ParamEditScreen",
           "PlaygroundScreen", "RunDetailScreen", "RunParamsScreen", "RunsScreen",
           "SchedulesScreen", "SnapshotDiffScreen", "VersionsScreen", "WorkflowScreen", "YamlScreen"]
