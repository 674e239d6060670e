"""The pydantic models of a ``spine.io/v1`` workflow document, section by section.

Each model mirrors one runtime object (``RetryPolicy``, ``ApprovalGate``,
``ConcurrencyPolicy``, ...) and takes its defaults from it, so a key a document leaves out
means what the Python API means when the argument is left out.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from ..circuit_breaker import (
    DEFAULT_FAILURE_THRESHOLD,
    DEFAULT_RECOVERY_TIMEOUT,
    DEFAULT_SUCCESS_THRESHOLD,
)
from ..cron import CronError, check_cron
from ..executor_names import DASK, check_scheduler_address
from ..expressions import Expression, ExpressionError
from ..policies import RetryPolicy, WorkflowExecutionPolicy
from ..refs import is_ref
from ..steps import SKIP_IF_NAMES
from ..triggers.declare import MODEL_UNDER as TRIGGER_MODELS
from ..triggers.declare import TriggerSpec
from ..workflow import ConcurrencyPolicy
from .alerts import MODEL_UNDER as ALERT_MODELS
from .alerts import AlertsSpec
from .calc_steps import CALC_MODELS, AggregateSpec, CalculateSpec, RiskSpec, ValidateSpec
from .data_steps import DATA_MODELS, DataSinkSpec, DataSourceSpec, DataTransformSpec

API_VERSION = "spine.io/v1"
KIND = "Workflow"
#: spec §8's calculation keys and spec §3's data step keys (lambda steps at runtime)
CALC_STEP_KINDS = tuple(CALC_MODELS)[:4]
DATA_STEP_KINDS = ("source", "transform", "sink")
STEP_KINDS = ("pipeline", "workflow", "lambda", "function", "map", "wait", "approval",
              *CALC_STEP_KINDS, *DATA_STEP_KINDS)
#: step kinds whose handler a ``skip_if`` guards
SKIP_IF_KINDS = ("lambda", "function", *CALC_STEP_KINDS, *DATA_STEP_KINDS)
#: kind keys spelled differently as fields (a field may not shadow a pydantic method)
_KIND_FIELDS = {"lambda": "lambda_", "validate": "validate_"}
#: step kinds that call nothing, so no circuit breaker guards them
UNGUARDED_KINDS = ("wait", "approval")
#: keys only sub-workflow steps take
WORKFLOW_ONLY = frozenset({"params", "wait_for_completion", "inherit_context"})
_RETRY = RetryPolicy()
_POLICY = WorkflowExecutionPolicy()
_CONCURRENCY = ConcurrencyPolicy()


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _handler_ref(value: str) -> str:
    if not is_ref(value):
        raise ValueError(f"expected a 'module:qualname' reference (e.g. 'my_pkg.steps:load'), "
                         f"got {value!r}")
    return value


def _cron(value: str) -> str:
    """A cron expression, optionally ``CRON_TZ=Zone``-prefixed (only documents with a schedule
    import croniter)."""
    try:
        return check_cron(value)
    except CronError as exc:
        raise ValueError(str(exc)) from None


def _skip_if(value: str) -> str:
    """A ``module:qualname`` predicate, or an expression checked now (so a bad one fails with
    the document's line rather than when the step runs)."""
    if not is_ref(value):
        try:
            Expression(value, names=SKIP_IF_NAMES)
        except ExpressionError as exc:
            raise ValueError(f"{exc}; skip_if is an expression over "
                             f"{' and '.join(SKIP_IF_NAMES)} (e.g. \"params.dry_run\") or a "
                             "'module:qualname' function") from None
    return value


def _on_failure(value: str) -> str:
    if not is_ref(value):
        raise ValueError(f"expected a 'module:qualname' reference to a handler function (e.g. "
                         f"'my_pkg.steps:rollback'), got {value!r}; on_failure is an action, so "
                         "it names a function rather than holding an expression")
    return value


def _scheduler(value: str) -> str:
    return check_scheduler_address(value)


Name = Annotated[str, AfterValidator(_non_empty)]
HandlerRef = Annotated[str, AfterValidator(_handler_ref)]
SkipIf = Annotated[str, AfterValidator(_skip_if)]
OnFailure = Annotated[str, AfterValidator(_on_failure)]
Cron = Annotated[str, AfterValidator(_cron)]
SchedulerAddress = Annotated[str, AfterValidator(_scheduler)]
#: where a workflow's or a step's handlers run: ``engine.executor_names.EXECUTOR_NAMES``
ExecutorName = Literal["threads", "processes", "dask"]
STRICT_MODEL = ConfigDict(extra="forbid", frozen=True)


class RetrySpec(BaseModel):
    """Backoff for ``on_error: retry``; mirrors ``RetryPolicy`` and its defaults."""

    model_config = STRICT_MODEL
    max_attempts: int = Field(default=_RETRY.max_attempts, ge=1)
    initial_delay_seconds: float = Field(default=_RETRY.initial_delay_seconds, ge=0)
    backoff_multiplier: float = Field(default=_RETRY.backoff_multiplier, ge=1)
    max_delay_seconds: float = Field(default=_RETRY.max_delay_seconds, ge=0)
    retryable_categories: list[str] = Field(default_factory=list)


class MapSpec(BaseModel):
    """``map:`` runs ``steps`` once per item found at ``items_path``."""

    model_config = STRICT_MODEL
    items_path: Name
    max_concurrency: int = Field(default=4, ge=1)
    partition_by: str | None = None
    steps: list[StepSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_inner_on_failure(self) -> MapSpec:
        for step in self.steps:
            if step.on_failure is not None:
                raise ValueError(f"on_failure on the map's inner step {step.name!r} would never "
                                 "run; put on_failure on the map step")
        return self


class WaitSpec(BaseModel):
    """``wait:`` pauses the run."""

    model_config = STRICT_MODEL
    duration_seconds: float = Field(default=0.0, ge=0)


class ApprovalSpec(BaseModel):
    """``approval:`` holds the run until a person approves it; mirrors ``Step.approval``.

    The timeout is given here (``timeout_seconds`` or ``timeout_hours``, not both) rather than
    on the step, as the factory takes it; without one the step waits until someone decides.
    """

    model_config = STRICT_MODEL
    message: str = Field(default="", description="the question shown to approvers")
    approvers: list[str] = Field(default_factory=list,
                                 description="who is asked (shown with the request)")
    auto_approve_envs: list[str] = Field(
        default_factory=list, description="values of $SPINE_ENV in which the step approves itself")
    timeout_seconds: float | None = Field(
        default=None, gt=0, description="fail with category TIMEOUT after this many seconds")
    timeout_hours: float | None = Field(default=None, gt=0,
                                        description="timeout_seconds given in hours")
    context_fields: list[str] = Field(
        default_factory=list, description="keys of earlier outputs included in the request")

    @model_validator(mode="after")
    def _one_timeout(self) -> ApprovalSpec:
        if self.timeout_seconds is not None and self.timeout_hours is not None:
            raise ValueError("give timeout_seconds or timeout_hours, not both")
        return self

    @property
    def timeout(self) -> float | None:
        """The timeout in seconds, whichever way it was written."""
        if self.timeout_hours is not None:
            return self.timeout_hours * 3600.0
        return self.timeout_seconds


class BreakerSpec(BaseModel):
    """``circuit_breaker:`` with its thresholds; mirrors ``CircuitBreaker`` and its defaults
    (a plain name instead finds the breaker by name when the step runs)."""

    model_config = STRICT_MODEL
    name: Name
    failure_threshold: int = Field(default=DEFAULT_FAILURE_THRESHOLD, ge=1,
                                   description="consecutive failures that open the breaker")
    recovery_timeout: float = Field(default=DEFAULT_RECOVERY_TIMEOUT, ge=0,
                                    description="seconds an open breaker refuses calls")
    success_threshold: int = Field(default=DEFAULT_SUCCESS_THRESHOLD, ge=1,
                                   description="trial successes that close a half-open breaker")


class StepSpec(BaseModel):
    """One step; exactly one of the kind keys (``pipeline``, ``workflow``, ``lambda``,
    ``function``, ``map``, ``wait``, ``approval``; spec §8's ``calculate``, ``risk``,
    ``aggregate``, ``validate``; spec §3's ``source``, ``transform``, ``sink``) says what it
    runs."""

    model_config = STRICT_MODEL
    name: Name
    pipeline: Name | None = None
    workflow: Name | None = None
    lambda_: HandlerRef | None = Field(default=None, alias="lambda")
    function: HandlerRef | None = None
    map: MapSpec | None = None
    wait: WaitSpec | None = None
    approval: ApprovalSpec | None = None
    calculate: CalculateSpec | None = Field(
        default=None, description="spec §8: statement metrics by name (FinancialCalculation)")
    risk: RiskSpec | None = Field(
        default=None, description="spec §8: VaR, CVaR, Sharpe... of a book (RiskCalculation)")
    aggregate: AggregateSpec | None = Field(
        default=None, description="spec §8: time-series operations (TimeSeriesAggregation)")
    validate_: ValidateSpec | None = Field(
        default=None, alias="validate",
        description="spec §8: compliance rules over rows and metrics (ComplianceRules)")
    source: DataSourceSpec | None = Field(
        default=None, description="spec §3: read a table into an artifact (Step.source)")
    transform: DataTransformSpec | None = Field(
        default=None, description="spec §3: a DataFrame function over an artifact")
    sink: DataSinkSpec | None = Field(
        default=None, description="spec §3: write an artifact's table out (Step.sink)")
    description: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[Name] | None = None
    on_error: Literal["stop", "continue", "retry"] = "stop"
    retry: RetrySpec | None = None
    timeout_seconds: float | None = Field(default=None, gt=0)
    wait_for_completion: bool = True
    inherit_context: bool = True
    skip_if: SkipIf | None = Field(
        default=None, description="skip the step when true: an expression over params and "
        "outputs (\"params.dry_run\") or a 'module:qualname' predicate; lambda and function "
        "steps")
    on_failure: OnFailure | None = Field(
        default=None, description="'module:qualname' of a handler run after the step fails")
    circuit_breaker: Name | BreakerSpec | None = Field(
        default=None, description="guard the step with a circuit breaker: its name, or a "
        "mapping with name and thresholds; while open the step fails at once (DEPENDENCY)")
    executor: ExecutorName | None = Field(
        default=None, description="where this step's handler runs (threads, processes, dask), "
        "over the run's and the workflow's choice; a map's inner steps inherit the map's")
    # read only to say where it goes instead (spec.scheduler); not offered in the schema
    scheduler: SkipJsonSchema[str | None] = None

    @property
    def kind(self) -> str:
        """Which kind key the step uses (one of ``STEP_KINDS``)."""
        return next(k for k in STEP_KINDS if self.kind_value(k) is not None)

    def kind_value(self, kind: str) -> Any:
        """The value under kind key ``kind`` (``None`` when the step does not use it)."""
        return getattr(self, _KIND_FIELDS.get(kind, kind))

    @model_validator(mode="after")
    def _one_kind(self) -> StepSpec:
        given = [k for k in STEP_KINDS if self.kind_value(k) is not None]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(f"step {self.name!r} needs exactly one of "
                             f"{', '.join(STEP_KINDS)} (found {found})")
        kind = given[0]
        stray = sorted(self.model_fields_set & WORKFLOW_ONLY)
        if stray and kind != "workflow":
            article = "an" if kind[0] in "aeiou" else "a"
            raise ValueError(f"step {self.name!r}: {', '.join(stray)} only apply to workflow "
                             f"steps; put {article} {kind} step's settings under config")
        if kind == "approval" and "timeout_seconds" in self.model_fields_set:
            raise ValueError(f"step {self.name!r}: an approval step's timeout goes under "
                             "approval (timeout_seconds or timeout_hours), not on the step")
        if self.skip_if is not None and kind not in SKIP_IF_KINDS:
            raise ValueError(f"step {self.name!r}: skip_if works on lambda and function steps, "
                             f"not on a {kind} step")
        if kind in DATA_STEP_KINDS and self.config:
            raise ValueError(f"step {self.name!r}: a {kind} step's settings go under {kind}, "
                             "not config")
        if self.scheduler is not None:
            raise ValueError(f"step {self.name!r}: scheduler goes at the workflow level "
                             "(spec.scheduler: tcp://HOST:PORT), where every dask step of the "
                             "workflow uses it; on the step write only executor: dask")
        if self.circuit_breaker is not None and kind in UNGUARDED_KINDS:
            raise ValueError(f"step {self.name!r}: circuit_breaker guards steps that call "
                             f"something, not a {kind} step")
        return self


class PolicySpec(BaseModel):
    """How a run schedules steps; mirrors ``WorkflowExecutionPolicy``."""

    model_config = STRICT_MODEL
    execution: Literal["sequential", "parallel"] = "sequential"
    max_concurrency: int = Field(default=_POLICY.max_concurrency, ge=1)
    on_failure: Literal["stop", "continue"] = "stop"


class ConcurrencySpec(BaseModel):
    """How many runs of the workflow may be in flight at once; mirrors ``ConcurrencyPolicy``.

    ``queue_timeout_seconds: null`` queues without a limit; leaving it out means 300 s.
    """

    model_config = STRICT_MODEL
    max_concurrent_runs: int = Field(default=_CONCURRENCY.max_concurrent_runs, ge=1,
                                     description="runs in flight (running, paused, waiting)")
    on_conflict: Literal["queue", "skip", "cancel_existing"] = Field(
        default="queue", description="what a run does when every slot is taken")
    queue_timeout_seconds: float | None = Field(
        default=_CONCURRENCY.queue_timeout_seconds, ge=0,
        description="how long a queued run waits for a slot before failing (null: forever)")


class Metadata(BaseModel):
    """Who the workflow is: name (unique in the catalog), domain, description, tags, version."""

    model_config = STRICT_MODEL
    name: Name
    domain: str = ""
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    version: int = Field(default=1, ge=1)


class WorkflowBody(BaseModel):
    """The ``spec:`` section: steps, run policy, concurrency limit, default params and an
    optional cron schedule."""

    model_config = STRICT_MODEL
    steps: list[StepSpec] = Field(min_length=1)
    policy: PolicySpec = PolicySpec()
    concurrency: ConcurrencySpec | None = None
    defaults: dict[str, Any] = Field(default_factory=dict)
    schedule: Cron | None = None
    triggers: list[TriggerSpec] = Field(
        default_factory=list, description="events that start this workflow (webhook, file, "
        "poll); see engine.triggers.declare")
    alerts: AlertsSpec | None = Field(
        default=None, description="whom to alert when a run fails, runs slow or waits for an "
        "approval; see engine.spec.alerts")
    executor: ExecutorName | None = Field(
        default=None, description="where handlers run unless a run or a step says otherwise: "
        "threads (default), processes (a pool of worker processes) or dask")
    scheduler: SchedulerAddress | None = Field(
        default=None, description="the Dask scheduler (tcp://HOST:PORT) the workflow's dask "
        "steps run on; without it a run starts a local Dask cluster")

    @field_validator("scheduler")
    @classmethod
    def _scheduler_for_dask(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A scheduler nothing runs on is a mistake (a field validator, so the error points
        at the ``scheduler:`` line; ``steps`` and ``executor`` are validated before it)."""
        steps = info.data.get("steps")
        if value is None or steps is None or info.data.get("executor") == DASK \
                or any(_uses_dask(step) for step in steps):
            return value
        raise ValueError("scheduler is the Dask cluster of the workflow's dask steps, but "
                         "nothing here runs on dask; add executor: dask (to the workflow or a "
                         "step) or remove scheduler")


def _uses_dask(step: StepSpec) -> bool:
    return step.executor == DASK or (step.map is not None
                                     and any(_uses_dask(s) for s in step.map.steps))


MapSpec.model_rebuild()
#: the model of the mapping found under each key, for "allowed keys" hints in errors
MODEL_UNDER: dict[str, type[BaseModel]] = {
    "metadata": Metadata, "spec": WorkflowBody, "policy": PolicySpec, "steps": StepSpec,
    "map": MapSpec, "wait": WaitSpec, "approval": ApprovalSpec, "retry": RetrySpec,
    "circuit_breaker": BreakerSpec,
    "concurrency": ConcurrencySpec, **TRIGGER_MODELS, **ALERT_MODELS, **CALC_MODELS,
    **DATA_MODELS}
