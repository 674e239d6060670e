"""spine engine: define workflows, run them, and inspect the results; no UI imports here."""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from .adapters import WorkflowStepFunction, workflow_step
from .adaptive.changes import AdaptiveChangeError, ChangeKind, GraphChange
from .alerts import (
    AlertChannel,
    AlertConfigError,
    AlertDeliveryError,
    AlertPolicy,
    AlertSender,
    ConsoleChannel,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
    describe_channel,
)
from .analytics import TREND_METRICS, RunAnalytics
from .anomalies import AnomalyCategory, AnomalyRecorder, Severity
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
from .circuit_breaker import CircuitBreaker, CircuitOpenError, CircuitState, list_breakers
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
from .dlq import DLQError, DLQManager, DLQReplay
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
from .secrets import (
    EnvSecretBackend,
    FileSecretBackend,
    MissingSecretError,
    SecretBackend,
    SecretBackendError,
    SecretError,
    SecretReferenceError,
    SecretsResolver,
    SecretValue,
    UnknownSecretBackendError,
)
from .secrets.masking import mask_data as redact_secrets
from .serialization import to_json
from .signals import RunSignals
from .sources import SourceRef
from .start import RunHandle, start_replay, start_resume, start_retry, start_run
from .step_names import MAP_ITEM_SCOPE, is_map_item, map_item_name
from .steps import ApprovalGate, Step, StepType
from .store.anomalies import AnomalyRecord, UnknownAnomalyError
from .store.breakers import BreakerRecord
from .store.control_requests import RunControlError
from .store.dead_letters import DeadLetter, UnknownDeadLetterError
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
    "AlertChannel",
    "AlertConfigError",
    "AlertDeliveryError",
    "AlertPolicy",
    "AlertSender",
    "AnomalyCategory",
    "AnomalyRecord",
    "AnomalyRecorder",
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
    "BreakerRecord",
    "Catalog",
    "ChangeKind",
    "CheckpointConfig",
    "CheckpointError",
    "CheckpointRef",
    "CheckpointStore",
    "CircuitBreaker",
    "CircuitOpenError",
    "CircuitState",
    "CommandNotFoundError",
    "ConcurrencyPolicy",
    "ConfigError",
    "ConsoleChannel",
    "ContainerJobSpec",
    "ContainerRunnable",
    "CronError",
    "CronSchedule",
    "DLQError",
    "DLQManager",
    "DLQReplay",
    "DeadLetter",
    "DefinitionNotFoundError",
    "DependencyCycleError",
    "DiscoveredWorkflow",
    "DockerAdapter",
    "DuplicateStepError",
    "EmailChannel",
    "EnvSecretBackend",
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
    "FailureReason",
    "FeatureFlags",
    "FileSecretBackend",
    "FileSource",
    "GraphChange",
    "HotReloadAdapter",
    "IllegalTransitionError",
    "ImageUnavailableError",
    "InvalidArtifactKeyError",
    "InvalidReturnTypeError",
    "JobEngine",
    "JobError",
    "JobLedger",
    "JobResult",
    "JobSpecError",
    "JobStartError",
    "JobState",
    "JobStatus",
    "LIVE_STATUSES",
    "Lineage",
    "LoadError",
    "LocalArtifactStore",
    "LocalProcessAdapter",
    "LogLine",
    "LogRecord",
    "MAP_ITEM_SCOPE",
    "METRICS_CONTENT_TYPE",
    "ManagedWorkflow",
    "MetricError",
    "MigrationScriptError",
    "MisfirePolicy",
    "MissingArgumentError",
    "MissingSecretError",
    "NoAdapterError",
    "NotAPackageError",
    "OnConflict",
    "OutputNotSerializableError",
    "PYTHON_SUFFIXES",
    "PackageError",
    "PackageManifest",
    "PackageResult",
    "PackageSecretError",
    "PackageTamperedError",
    "Plan",
    "PlaygroundError",
    "PollingSource",
    "RESUMABLE_STATUSES",
    "RETRYABLE_STATUSES",
    "RecordedRun",
    "ResourceLimitError",
    "ResourceRequirements",
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
    "RuntimeAdapterRouter",
    "RuntimeCapabilities",
    "RuntimeUnavailableError",
    "ScheduleError",
    "ScheduleFire",
    "ScheduleLoop",
    "Schedules",
    "SecretBackend",
    "SecretBackendError",
    "SecretError",
    "SecretReferenceError",
    "SecretValue",
    "SecretsResolver",
    "Severity",
    "SidecarError",
    "SidecarSpec",
    "SlackChannel",
    "Snapshot",
    "SourceRef",
    "SpecValidator",
    "SpineConfig",
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
    "UnknownAnomalyError",
    "UnknownDeadLetterError",
    "UnknownDependencyError",
    "UnknownJobError",
    "UnknownPipelineError",
    "UnknownRunError",
    "UnknownSecretBackendError",
    "UnknownStepError",
    "UnknownTriggerError",
    "UnknownVersionError",
    "UnknownWorkflowError",
    "UnsupportedSpecError",
    "VersionDiff",
    "VersionInfo",
    "VersionNotReplayableError",
    "WEBHOOK_SIGNATURE_HEADER",
    "WebhookChannel",
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
    "WorkflowPackager",
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
    "counter",
    "default_artifact_root",
    "default_paths",
    "delete_run_artifacts",
    "describe_channel",
    "discover",
    "etl_pipeline",
    "expression_condition",
    "format_result",
    "gauge",
    "get_pipeline",
    "get_workflow",
    "histogram",
    "is_map_item",
    "list_breakers",
    "list_pipelines",
    "list_workflows",
    "load_file",
    "map_item_name",
    "metrics_text",
    "missing_references",
    "new_run_id",
    "parse_param",
    "parse_params",
    "recorded_run",
    "redact_secrets",
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
    from .config import ConfigError, SpineConfig
    from .jobs import (
        CommandNotFoundError,
        ContainerJobSpec,
        ContainerRunnable,
        DockerAdapter,
        FailureReason,
        HotReloadAdapter,
        ImageUnavailableError,
        JobEngine,
        JobError,
        JobLedger,
        JobResult,
        JobSpecError,
        JobStartError,
        JobState,
        JobStatus,
        LocalProcessAdapter,
        NoAdapterError,
        ResourceLimitError,
        ResourceRequirements,
        RuntimeAdapterRouter,
        RuntimeCapabilities,
        RuntimeUnavailableError,
        SidecarError,
        SidecarSpec,
        SpecValidator,
        UnknownJobError,
        UnsupportedSpecError,
    )
    from .metrics import METRICS_CONTENT_TYPE, MetricError, counter, gauge, histogram, metrics_text
    from .packaging import (
        NotAPackageError,
        PackageError,
        PackageManifest,
        PackageResult,
        PackageSecretError,
        PackageTamperedError,
        WorkflowPackager,
    )
    from .spec import WorkflowSpec

# pydantic models take ~0.1 s to build: load on use
_LAZY = {"WorkflowSpec": "spec", "SpineConfig": "config", "ConfigError": "config"}
_LAZY.update(dict.fromkeys(  # prometheus-client takes ~40 ms to import: load on use
    ("METRICS_CONTENT_TYPE", "MetricError", "counter", "gauge", "histogram", "metrics_text"),
    "metrics"))
_LAZY.update(dict.fromkeys(  # packaging builds WorkflowSpec documents (pydantic): load on use
    ("NotAPackageError", "PackageError", "PackageManifest", "PackageResult",
     "PackageSecretError", "PackageTamperedError", "WorkflowPackager"), "packaging"))
_LAZY.update(dict.fromkeys(  # jobs import asyncio, subprocess and httpx: load on use
    ("CommandNotFoundError", "ContainerJobSpec", "ContainerRunnable", "DockerAdapter",
     "FailureReason", "HotReloadAdapter", "ImageUnavailableError", "JobEngine", "JobError",
     "JobLedger", "JobResult", "JobSpecError", "JobStartError", "JobState", "JobStatus",
     "LocalProcessAdapter", "NoAdapterError", "ResourceLimitError", "ResourceRequirements",
     "RuntimeAdapterRouter", "RuntimeCapabilities", "RuntimeUnavailableError", "SidecarError",
     "SidecarSpec", "SpecValidator", "UnknownJobError", "UnsupportedSpecError", "_DEFAULT_IMAGE"),
    "jobs"))


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
