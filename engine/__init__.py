"""spine engine: define workflows, run them, and inspect the results; no UI imports here."""

from .adapters import WorkflowStepFunction, workflow_step
from .context import WorkflowContext
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
from .events import Event, RunFinished, RunStarted, StepFinished, StepRetrying, StepStarted
from .feature_flags import FeatureFlags
from .invoke import MissingArgumentError
from .managed import ManagedWorkflow, format_result
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
from .spec_yaml import WorkflowSpec
from .steps import Step, StepType
from .templates import etl_pipeline, scheduled_batch
from .workflow import Workflow

__all__ = [
    "DependencyCycleError",
    "DuplicateStepError",
    "ErrorCategory",
    "ErrorPolicy",
    "Event",
    "ExecutionMode",
    "FeatureFlags",
    "InvalidReturnTypeError",
    "ManagedWorkflow",
    "MissingArgumentError",
    "OutputNotSerializableError",
    "RetryPolicy",
    "RunFinished",
    "RunStarted",
    "RunStatus",
    "Step",
    "StepFinished",
    "StepOutputError",
    "StepResult",
    "StepRetrying",
    "StepRun",
    "StepStarted",
    "StepTimeoutError",
    "StepType",
    "UnknownDependencyError",
    "UnknownPipelineError",
    "UnknownStepError",
    "UnknownWorkflowError",
    "Workflow",
    "WorkflowContext",
    "WorkflowCycleError",
    "WorkflowError",
    "WorkflowExecutionPolicy",
    "WorkflowResult",
    "WorkflowRunner",
    "WorkflowSpec",
    "WorkflowSpecError",
    "WorkflowStepFunction",
    "WorkflowValidationError",
    "etl_pipeline",
    "format_result",
    "get_pipeline",
    "get_workflow",
    "list_pipelines",
    "list_workflows",
    "register_pipeline",
    "register_workflow",
    "scheduled_batch",
    "unregister_pipeline",
    "unregister_workflow",
    "workflow_step",
]
