"""spine engine: define workflows, run them, and inspect the results; no UI imports here."""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from .adapters import WorkflowStepFunction, workflow_step
from .adaptive.changes import AdaptiveChangeError, ChangeKind, GraphChange
from .analytics import TREND_METRICS, RunAnalytics
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
    default_artifact_root,
    delete_run_artifacts,
)
from .catalog import WorkflowCatalog, WorkflowInfo, WorkflowNotFoundError
from .checkpoints import CheckpointError, CheckpointRef, CheckpointStore, WorkflowState
from .context import WorkflowContext
from .control import RunControl
from .cron import CronError, CronSchedule
from .definitions import DefinitionNotFoundError, StoredRuns, recorded_run, workflow_for_run
from .discovery import (
    PYTHON_SUFFIXES,
    YAML_SUFFIXES,
    Catalog,
    DiscoveredWorkflow,
    LoadError,
    default_paths,
    discover,
    load_file,
    resolve_workflow,
)
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
    Lineage,
    LogLine,
    RunFinished,
    RunInterrupted,
    RunOrigin,
    RunPaused,
    RunPending,
    RunQueued,
    RunResumed,
    RunSkipped,
    RunStarted,
    RunWaiting,
    StepFinished,
    StepRetrying,
    StepStarted,
)
from .executed_graph import RunChange, RunGraph, run_graph
from .expressions import Expression, ExpressionError
from .feature_flags import FeatureFlags
from .graph import Plan, build_plan
from .ids import new_run_id
from .invoke import MissingArgumentError
from .lifecycle import LIVE as LIVE_STATUSES
from .lifecycle import RESUMABLE as RESUMABLE_STATUSES
from .lifecycle import RETRYABLE as RETRYABLE_STATUSES
from .lifecycle import IllegalTransitionError
from .managed import ManagedWorkflow, format_result
from .params import parse_param, parse_params
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
    missing_references,
    register_pipeline,
    register_workflow,
    unregister_pipeline,
    unregister_workflow,
)
from .results import RunStatus, StepResult, StepRun, WorkflowResult
from .runner import WorkflowRunner
from .schedules import (
    MisfirePolicy,
    ScheduleError,
    ScheduleFire,
    ScheduleLoop,
    Schedules,
    SyncReport,
)
from .serialization import to_json
from .signals import RunSignals
from .sources import SourceRef
from .start import RunHandle, start_replay, start_resume, start_retry, start_run
from .step_names import MAP_ITEM_SCOPE, is_map_item, map_item_name
from .steps import ApprovalGate, Step, StepType
from .store.control_requests import RunControlError
from .store.records import (
    ApprovalRecord,
    ArtifactRecord,
    EventRecord,
    LogRecord,
    RunRecord,
    StepOutput,
    StepRecord,
)
from .store.runs import RunStore, UnknownRunError
from .store.schema import StoreError, StoreFileError
from .store.time_window import TimeWindow, TimeWindowError
from .templates import etl_pipeline, scheduled_batch
from .tracking import TrackedWorkflowRunner
from .triggers import (
    WEBHOOK_SIGNATURE_HEADER,
    EventRouter,
    EventSource,
    EventTrigger,
    FileSource,
    PollingSource,
    TriggerDefinitionError,
    TriggerError,
    TriggerFilterError,
    TriggerFire,
    TriggerPayloadError,
    TriggerSignatureError,
    TriggerStartError,
    TriggerWorkflowError,
    UnknownTriggerError,
    WebhookSource,
    sign_webhook,
)
from .versions import (
    MigrationScriptError,
    UnknownVersionError,
    VersionDiff,
    VersionInfo,
    VersionNotReplayableError,
    WorkflowDiff,
    WorkflowVersion,
    WorkflowVersionStore,
)
from .workflow import CheckpointConfig, ConcurrencyPolicy, OnConflict, Workflow

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
    "CheckpointConfig",
    "CheckpointError",
    "CheckpointRef",
    "CheckpointStore",
    "ConcurrencyPolicy",
    "CronError",
    "CronSchedule",
    "DefinitionNotFoundError",
    "DependencyCycleError",
    "DiscoveredWorkflow",
    "DuplicateStepError",
    "ErrorCategory",
    "ErrorPolicy",
    "Event",
    "EventRecord",
    "EventRouter",
    "EventSource",
    "EventTrigger",
    "ExecutionMode",
    "Expression",
    "ExpressionError",
    "FeatureFlags",
    "FileSource",
    "GraphChange",
    "IllegalTransitionError",
    "InvalidArtifactKeyError",
    "InvalidReturnTypeError",
    "LIVE_STATUSES",
    "Lineage",
    "LoadError",
    "LocalArtifactStore",
    "LogLine",
    "LogRecord",
    "MAP_ITEM_SCOPE",
    "ManagedWorkflow",
    "MigrationScriptError",
    "MisfirePolicy",
    "MissingArgumentError",
    "OnConflict",
    "OutputNotSerializableError",
    "PYTHON_SUFFIXES",
    "Plan",
    "PlaygroundError",
    "PollingSource",
    "RESUMABLE_STATUSES",
    "RETRYABLE_STATUSES",
    "RecordedRun",
    "RetryPolicy",
    "RunAnalytics",
    "RunChange",
    "RunControl",
    "RunControlError",
    "RunFinished",
    "RunGraph",
    "RunHandle",
    "RunInterrupted",
    "RunOrigin",
    "RunPaused",
    "RunPending",
    "RunQueued",
    "RunRecord",
    "RunResumed",
    "RunSignals",
    "RunSkipped",
    "RunSource",
    "RunStarted",
    "RunStatus",
    "RunStore",
    "RunWaiting",
    "ScheduleError",
    "ScheduleFire",
    "ScheduleLoop",
    "Schedules",
    "Snapshot",
    "SourceRef",
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
    "StoredRuns",
    "SyncReport",
    "TREND_METRICS",
    "TimeWindow",
    "TimeWindowError",
    "TrackedWorkflowRunner",
    "TriggerDefinitionError",
    "TriggerError",
    "TriggerFilterError",
    "TriggerFire",
    "TriggerPayloadError",
    "TriggerSignatureError",
    "TriggerStartError",
    "TriggerWorkflowError",
    "UnknownDependencyError",
    "UnknownPipelineError",
    "UnknownRunError",
    "UnknownStepError",
    "UnknownTriggerError",
    "UnknownVersionError",
    "UnknownWorkflowError",
    "VersionDiff",
    "VersionInfo",
    "VersionNotReplayableError",
    "WEBHOOK_SIGNATURE_HEADER",
    "WebhookSource",
    "Workflow",
    "WorkflowCatalog",
    "WorkflowContext",
    "WorkflowCycleError",
    "WorkflowDiff",
    "WorkflowError",
    "WorkflowExecutionPolicy",
    "WorkflowInfo",
    "WorkflowNotFoundError",
    "WorkflowPlayground",
    "WorkflowResult",
    "WorkflowRunner",
    "WorkflowSpec",
    "WorkflowSpecError",
    "WorkflowState",
    "WorkflowStepFunction",
    "WorkflowValidationError",
    "WorkflowVersion",
    "WorkflowVersionStore",
    "YAML_SUFFIXES",
    "build_plan",
    "default_artifact_root",
    "default_paths",
    "delete_run_artifacts",
    "discover",
    "etl_pipeline",
    "expression_condition",
    "format_result",
    "get_pipeline",
    "get_workflow",
    "is_map_item",
    "list_pipelines",
    "list_workflows",
    "load_file",
    "map_item_name",
    "missing_references",
    "new_run_id",
    "parse_param",
    "parse_params",
    "recorded_run",
    "register_pipeline",
    "register_workflow",
    "resolve_workflow",
    "run_graph",
    "scheduled_batch",
    "sign_webhook",
    "start_replay",
    "start_resume",
    "start_retry",
    "start_run",
    "to_json",
    "unregister_pipeline",
    "unregister_workflow",
    "workflow_for_run",
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
