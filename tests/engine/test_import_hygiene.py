"""The engine is a UI-free library with one public surface: importing it pulls in no UI, its
``__all__`` is pinned here (a change to the surface is a change to this file), and the layer
rules in ``pyproject.toml`` hold (import-linter)."""

import json
import subprocess
import sys
from pathlib import Path

import engine
import engine.store

FORBIDDEN = ("textual", "rich", "spine_tui", "screens", "pandas", "numba")


def test_engine_import_pulls_in_no_ui_or_heavy_modules() -> None:
    code = (
        "import json, sys, engine; "
        "print(json.dumps(sorted(m for m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    offenders = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_public_api_is_exactly_all() -> None:
    public = {name for name in dir(engine) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(engine, name)).__name__ == "module"}
    assert public - modules == set(engine.__all__)
    assert sorted(engine.__all__) == engine.__all__
    for name in engine.__all__:
        assert getattr(engine, name) is not None


EXPECTED_API = {
    "ManagedWorkflow", "Step", "StepResult", "StepType", "Workflow", "WorkflowContext",
    "WorkflowRunner", "WorkflowResult", "RunStatus", "ErrorPolicy", "RetryPolicy",
    "ExecutionMode", "WorkflowExecutionPolicy", "workflow_step", "etl_pipeline",
    "scheduled_batch", "register_pipeline", "register_workflow", "WorkflowCycleError",
    "FeatureFlags",
}


def test_spec_names_are_exported() -> None:
    assert EXPECTED_API <= set(engine.__all__)


#: ``engine.__all__``, pinned: the names the CLI, the TUI, the samples and scripts may use
PUBLIC_API = [
    "AdaptiveChange", "AdaptiveChangeError", "AdjustmentChain", "AdjustmentFactor", "AdjustmentMethod", "AlertChannel", "AlertConfigError", "AlertDeliveryError", "AlertPolicy",
    "AlertSender", "AnomalyCategory", "AnomalyRecord",
    "AnomalyRecorder", "ApprovalGate", "ApprovalRecord",
    "ArtifactBackendError", "ArtifactChecksumError", "ArtifactError", "ArtifactNotFoundError", "ArtifactRecord",
    "ArtifactRef", "ArtifactRetention", "ArtifactStore", "AssetKey", "AssetMaterialization", "AsyncArtifactStore", "BiTemporalHistory", "BiTemporalRecord", "BreakerRecord",
    "CalculationError", "Catalog", "ChangeKind", "CheckpointConfig", "CheckpointError", "CheckpointRef", "CheckpointStore",
    "CircuitBreaker", "CircuitOpenError", "CircuitState",
    "CommandNotFoundError", "ComplianceRule", "ComplianceRules", "ComplianceRulesError", "ConcurrencyPolicy", "ConfigError", "ConsoleChannel", "ContainerJobSpec", "ContainerRunnable", "CorrectionReason", "CorrectionRecord", "CronError", "CronSchedule", "DLQError", "DLQManager",
    "DLQReplay", "DaskExecutor", "DataLineage", "DataStepError", "DeadLetter", "DefinitionNotFoundError", "DependencyCycleError",
    "DiscoveredWorkflow", "DockerAdapter", "DocumentChunk", "DuplicateStepError", "EmailChannel", "EnvSecretBackend", "ErrorCategory", "ErrorPolicy", "Event",
    "EventRecord", "EventRouter", "EventSource", "EventTrigger",
    "ExecutionMode", "Executor", "ExecutorError", "ExecutorUnavailableError", "Expression", "ExpressionError", "ExtractionResult", "FailureReason", "FeatureFlags", "FileSecretBackend", "FileSource", "FinancialCalculation", "FsspecArtifactStore",
    "GraphChange", "HandlerNotPortableError", "HotReloadAdapter", "IllegalTransitionError", "ImageUnavailableError", "IncrementalConfig", "IncrementalCursors", "InvalidArtifactKeyError",
    "InvalidReturnTypeError", "JobEngine", "JobError", "JobLedger", "JobResult", "JobSpecError", "JobStartError", "JobState", "JobStatus", "LIVE_STATUSES", "Lineage", "LineageRecorded", "LoadError", "LocalArtifactStore",
    "LocalProcessAdapter", "LogLine", "LogRecord", "MAP_ITEM_SCOPE", "METRICS_CONTENT_TYPE", "ManagedWorkflow", "MetricError", "MetricsServer", "MigrationScriptError",
    "MisfirePolicy", "MissingArgumentError", "MissingSecretError", "NoAdapterError", "NotAPackageError", "OnConflict", "OutputNotSerializableError", "PYTHON_SUFFIXES",
    "PackageError", "PackageManifest", "PackageResult", "PackageSecretError", "PackageTamperedError", "ParsedFiling",
    "Plan", "PlaygroundError", "PollingSource", "ProcessExecutor", "QualityCategory", "QualityCheck", "QualityResult", "QualityStatus", "RESUMABLE_STATUSES", "RETRYABLE_STATUSES", "RecordedRun",
    "ResourceLimitError", "ResourceRequirements", "RetryPolicy", "RiskCalculation", "RuleSeverity", "RunAnalytics", "RunChange", "RunControl", "RunControlError", "RunFinished",
    "RunGraph", "RunHandle", "RunInterrupted", "RunOrigin", "RunPaused", "RunPending",
    "RunQueued", "RunRecord", "RunResumed", "RunSignals", "RunSkipped", "RunSource",
    "RunStarted", "RunStatus", "RunStore", "RunWaiting", "RuntimeAdapterRouter", "RuntimeCapabilities", "RuntimeUnavailableError", "ScheduleError", "ScheduleFire",
    "ScheduleLoop", "Schedules", "SecDataset", "SecretBackend", "SecretBackendError", "SecretError",
    "SecretReferenceError", "SecretValue", "SecretsResolver", "Severity", "SidecarError", "SidecarSpec", "SlackChannel", "Snapshot", "SourceRef",
    "SpecValidator", "SpineConfig", "Step",
    "StepFinished", "StepOutput", "StepOutputError", "StepRecord", "StepResult", "StepRetrying",
    "StepRun", "StepStarted", "StepTimeoutError", "StepType", "StoreError", "StoreFileError",
    "StoredRuns", "SyncReport", "TREND_METRICS", "TemporalEnvelope", "ThreadExecutor", "TimeSeriesAggregation", "TimeWindow", "TimeWindowError", "TrackedWorkflowRunner",
    "TriggerDefinitionError", "TriggerError", "TriggerFilterError", "TriggerFire",
    "TriggerPayloadError", "TriggerSignatureError", "TriggerStartError", "TriggerWorkflowError",
    "UnknownAnomalyError", "UnknownCursorError", "UnknownDeadLetterError", "UnknownDependencyError", "UnknownJobError", "UnknownPipelineError", "UnknownRunError", "UnknownSecretBackendError", "UnknownStepError",
    "UnknownTriggerError",
    "UnknownVersionError", "UnknownWorkflowError", "UnsupportedSpecError", "ValidationFinding", "VersionDiff", "VersionInfo",
    "VersionNotReplayableError", "WEBHOOK_SIGNATURE_HEADER", "WebhookChannel", "WebhookSource", "WorkerLostError", "Workflow", "WorkflowCatalog", "WorkflowContext",
    "WorkflowCycleError", "WorkflowDiff", "WorkflowError", "WorkflowExecutionPolicy",
    "WorkflowInfo", "WorkflowNotFoundError", "WorkflowPackager", "WorkflowPlayground", "WorkflowResult",
    "WorkflowRunner", "WorkflowSpec", "WorkflowSpecError", "WorkflowState",
    "WorkflowStepFunction", "WorkflowValidationError", "WorkflowVersion",
    "WorkflowVersionStore", "XbrlFact", "YAML_SUFFIXES", "artifact_location", "build_plan", "check_xbrl_totals", "counter", "default_artifact_root",
    "default_paths", "delete_run_artifacts", "describe_channel", "discover", "etl_pipeline", "expression_condition", "extract_financial_tables", "extract_mda_section", "filing_quality_gate",
    "format_result", "gauge", "generate_sec_dataset", "get_pipeline", "get_workflow", "histogram", "is_map_item", "list_breakers", "list_pipelines",
    "list_workflows", "load_file", "make_executor", "map_item_name", "map_xbrl_to_schema", "metrics_text", "missing_references", "new_run_id", "open_artifact_store", "parse_filing", "parse_filing_structure",
    "parse_param", "parse_params", "recorded_run", "redact_secrets", "register_pipeline", "register_workflow",
    "resolve_workflow", "run_data_lineage", "run_graph", "scheduled_batch", "serve_metrics", "sign_webhook", "start_replay", "start_resume",
    "start_retry", "start_run", "to_json", "unregister_pipeline", "unregister_workflow", "validate_xbrl_totals",
    "workflow_for_run", "workflow_step",
]

#: ``engine.store.__all__``, the store's public read side
PUBLIC_STORE_API = [
    "SCOPES", "ALERT_STATUSES", "AlertOutbox", "AlertRecord", "AnomalyRecord", "ApiKeyError", "ApiKeyRecord", "ApiKeyStore", "ApprovalRecord",
    "ArtifactRecord", "ArtifactState", "BreakerRecord", "CircuitState", "CursorRecord", "DeadLetter",
    "EventRecord", "LineageRecord", "LogRecord",
    "RunRecord", "RunStore", "ScheduleExistsError", "ScheduleRecord", "ScheduleStore",
    "StepOutput", "StepRecord", "StoreError", "StoreFileError",
    "StoreLike", "TimeWindow", "TimeWindowError", "UnknownAlertError", "UnknownAnomalyError",
    "UnknownDeadLetterError", "UnknownRunError", "UnknownScheduleError", "WorkflowStats",
    "check_bound", "count_runs", "dataset_lineage", "default_db_path", "find_log", "log_seqs", "logs_by_seq",
    "open_store", "resolve_db_path", "run_filter", "run_lineage", "workflow_stats",
]


def test_the_public_surface_is_pinned() -> None:
    assert engine.__all__ == PUBLIC_API
    assert engine.store.__all__ == PUBLIC_STORE_API


def test_layer_contracts_hold() -> None:
    """``lint-imports`` over pyproject's contracts: the store is a leaf, only the recorder
    writes runs, engine has no cycles, front ends use only engine's public modules."""
    linter = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(linter), "--no-cache"], capture_output=True, text=True,
                         cwd=Path(engine.__file__).parent.parent)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
