"""Workflow versions (spec section 9): every definition a run used, published once by checksum,
listed, diffed and rolled back. ``store`` keeps them in the run store's ``workflow_versions``
table; ``diff`` compares two definitions field by field."""

from .diff import FieldChange, StepChange, VersionDiff, diff_definitions
from .store import (
    UnknownVersionError,
    VersionInfo,
    VersionNotReplayableError,
    WorkflowVersionStore,
    version_for_run,
)

__all__ = ["FieldChange", "StepChange", "UnknownVersionError", "VersionDiff", "VersionInfo",
           "VersionNotReplayableError", "WorkflowVersionStore", "diff_definitions",
           "version_for_run"]
