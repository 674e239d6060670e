"""Workflow versions (spec section 9): every definition a run used, published once by checksum,
listed, diffed and rolled back. ``store`` keeps them in the run store's ``workflow_versions``
table; ``diff`` compares two definitions field by field."""

from .diff import FieldChange, StepChange, VersionDiff, WorkflowDiff, diff_definitions
from .store import (
    MigrationScriptError,
    UnknownVersionError,
    VersionInfo,
    VersionNotReplayableError,
    WorkflowVersion,
    WorkflowVersionStore,
    version_for_run,
)

__all__ = ["FieldChange", "MigrationScriptError", "StepChange", "UnknownVersionError",
           "VersionDiff", "VersionInfo", "VersionNotReplayableError", "WorkflowDiff",
           "WorkflowVersion", "WorkflowVersionStore", "diff_definitions", "version_for_run"]
