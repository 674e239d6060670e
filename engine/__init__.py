"""spine engine: define workflows, run them, and inspect the results; no UI imports here."""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from .adapters import WorkflowStepFunction, workflow_step
from .adaptive.changes import AdaptiveChangeError, ChangeKind, GraphChange
from .analytics import RunAnalytics
from .artifacts import (
    ArtifactChecksumError,
    ArtifactError,
    ArtifactNotFoundError,
    ArtifactRef,
    ArtifactRetention,
    ArtifactStore,
    AsyncArtifactStore,
    InvalidArtifactKeyError,
    LocalArtifactStore,
    delete_run_artifacts,
)
from .catalog import WorkflowCatalog, WorkflowInfo, WorkflowNotFoundError
from .context import WorkflowContext
from .discovery import Catalog, DiscoveredWorkflow, LoadError, discover
from .errors import (
    DependencyCycleError,
    DuplicateStepError,
    InvalidReturnTypeError,
    OutputNotSerializableError,
    StepOutputError,
    StepTimeoutError,
    UnknownDependencyError,
    UnknownPipelineError,
    UnknownStepError,
    UnknownWorkflowError,
    WorkflowCycleError,
    WorkflowError,
    WorkflowSpecError,
    WorkflowValidationError,
)
from .events import (
    AdaptiveChange,
    Event,
    LogLine,
    RunFinished,
    RunStarted,
    StepFinished,
    StepRetrying,
    StepStarted,
)
from .feature_flags import FeatureFlags
from .graph import Plan
from .invoke import MissingArgumentError
from .managed import ManagedWorkflow, format_result
from .playground import (
    PlaygroundError,
    RecordedRun,
    RunSource,
    Snapshot,
    WorkflowPlayground,
    expression_condition,
)
from .policies import (
    ErrorCategory,
    ErrorPolicy,
    ExecutionMode,
    RetryPolicy,
    WorkflowExecutionPolicy,
)
from .registry import (
    get_pipeline,
    get_workflow,
    list_pipelines,
    list_workflows,
    register_pipeline,
    register_workflow,
    unregister_pipeline,
    unregister_workflow,
)
from .results import RunStatus, StepResult, StepRun, WorkflowResult
from .runner import WorkflowRunner
from .signals import RunSignals
from .steps import ApprovalGate, Step, StepType
from .store.commands import ApprovalRecord, RunControlError
from .store.control import RunControl
from .store.records import (
    ArtifactRecord,
    EventRecord,
    LogRecord,
    RunRecord,
    StepOutput,
    StepRecord,
)
from .store.replay import DefinitionNotFoundError
from .store.run_graph import RunChange, RunGraph, run_graph
from .store.runs import RunStore, UnknownRunError
from .store.schema import StoreError, StoreFileError
from .store.time_window import TimeWindow, TimeWindowError
from .store.version_diff import VersionDiff
from .store.versions import (
    UnknownVersionError,
    VersionInfo,
    VersionNotReplayableError,
    WorkflowVersionStore,
)
from .templates import etl_pipeline, scheduled_batch
from .tracked import TrackedWorkflowRunner
from .workflow import ConcurrencyPolicy, OnConflict, Workflow

__all__ = [
    "AdaptiveChange",
    "AdaptiveChangeError",
    "ApprovalGate",
    "ApprovalRecord",
    "ArtifactChecksumError",
    "ArtifactError",
    "ArtifactNotFoundError",
    "ArtifactRecord",
    "ArtifactRef",
    "ArtifactRetention",
    "ArtifactStore",
    "AsyncArtifactStore",
    "Catalog",
    "ChangeKind",
    "ConcurrencyPolicy",
    "DefinitionNotFoundError",
    "DependencyCycleError",
    "DiscoveredWorkflow",
    "DuplicateStepError",
    "ErrorCategory",
    "ErrorPolicy",
    "Event",
    "EventRecord",
    "ExecutionMode",
    "FeatureFlags",
    "GraphChange",
    "InvalidArtifactKeyError",
    "InvalidReturnTypeError",
    "LoadError",
    "LocalArtifactStore",
    "LogLine",
    "LogRecord",
    "ManagedWorkflow",
    "MissingArgumentError",
    "OnConflict",
    "OutputNotSerializableError",
    "Plan",
    "PlaygroundError",
    "RecordedRun",
    "RetryPolicy",
    "RunAnalytics",
    "RunChange",
    "RunControl",
    "RunControlError",
    "RunFinished",
    "RunGraph",
    "RunRecord",
    "RunSignals",
    "RunSource",
    "RunStarted",
    "RunStatus",
    "RunStore",
    "Snapshot",
    "Step",
    "StepFinished",
    "StepOutput",
    "StepOutputError",
    "StepRecord",
    "StepResult",
    "StepRetrying",
    "StepRun",
    "StepStarted",
    "StepTimeoutError",
    "StepType",
    "StoreError",
    "StoreFileError",
    "TimeWindow",
    "TimeWindowError",
    "TrackedWorkflowRunner",
    "UnknownDependencyError",
    "UnknownPipelineError",
    "UnknownRunError",
    "UnknownStepError",
    "UnknownVersionError",
    "UnknownWorkflowError",
    "VersionDiff",
    "VersionInfo",
    "VersionNotReplayableError",
    "Workflow",
    "WorkflowCatalog",
    "WorkflowContext",
    "WorkflowCycleError",
    "WorkflowError",
    "WorkflowExecutionPolicy",
    "WorkflowInfo",
    "WorkflowNotFoundError",
    "WorkflowPlayground",
    "WorkflowResult",
    "WorkflowRunner",
    "WorkflowSpec",
    "WorkflowSpecError",
    "WorkflowStepFunction",
    "WorkflowValidationError",
    "WorkflowVersionStore",
    "delete_run_artifacts",
    "discover",
    "etl_pipeline",
    "expression_condition",
    "format_result",
    "get_pipeline",
    "get_workflow",
    "list_pipelines",
    "list_workflows",
    "register_pipeline",
    "register_workflow",
    "run_graph",
    "scheduled_batch",
    "unregister_pipeline",
    "unregister_workflow",
    "workflow_step",
]

if _TYPE_CHECKING:
    from .spec import WorkflowSpec

_LAZY = {"WorkflowSpec": "spec"}  # pydantic models take ~0.1 s to build: load on use


def __getattr__(name: str) -> _Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
