"""Step definitions: one immutable ``Step`` dataclass built through typed factories."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .circuit_breaker import CircuitBreaker, check_step_guard
from .data_steps import (
    IncrementalConfig,
    SinkStep,
    SourceStep,
    TransformStep,
    data_settings,
    describe,
    incremental_of,
)
from .executor_names import check_executor_name
from .expressions import Expression, ExpressionError
from .invoke import function_kwargs, signature_of
from .policies import ErrorPolicy, RetryPolicy
from .results import StepResult

if TYPE_CHECKING:
    from .context import WorkflowContext

#: Names the deployment environment; an approval step whose ``auto_approve_envs`` holds it
#: approves itself (e.g. ``SPINE_ENV=dev``), as spec 13b's "skip in non-prod".
APPROVAL_ENV_VAR = "SPINE_ENV"
#: the names a ``skip_if`` expression reads: the run params and earlier steps' outputs
SKIP_IF_NAMES = ("params", "outputs")


class StepType(StrEnum):
    """What a step does when it runs."""

    LAMBDA = "lambda"
    FUNCTION = "function"
    PIPELINE = "pipeline"
    WORKFLOW = "workflow"
    MAP = "map"
    WAIT = "wait"
    APPROVAL = "approval"


@dataclass(frozen=True, slots=True)
class ApprovalGate:
    """What an approval step asks a person, and the environments where nobody has to.

    ``approvers`` is shown with the request (the store has no authentication, so any name may
    decide); ``context_fields`` are keys of earlier outputs included in the request.
    """

    message: str = ""
    approvers: tuple[str, ...] = ()
    auto_approve_envs: tuple[str, ...] = ()
    context_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("approvers", "auto_approve_envs", "context_fields"):
            object.__setattr__(self, name, _names(name, getattr(self, name)))

    def auto_approved_env(self) -> str | None:
        """The current ``$SPINE_ENV`` when it is one of ``auto_approve_envs`` (case-insensitive)."""
        env = os.environ.get(APPROVAL_ENV_VAR, "").strip()
        if env and env.lower() in {e.strip().lower() for e in self.auto_approve_envs}:
            return env
        return None

    def context(self, ctx: WorkflowContext) -> dict[str, Any]:
        """The ``context_fields`` values found in earlier outputs (latest wins)."""
        return {f: ctx.latest[f] for f in self.context_fields if f in ctx.latest}

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "approvers": list(self.approvers),
                "auto_approve_envs": list(self.auto_approve_envs),
                "context_fields": list(self.context_fields)}


Handler = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Step:
    """One node of a workflow.

    ``depends_on=None`` means "after the previous step"; ``depends_on=[]`` makes a root.
    A ``retry_policy`` retries the step whatever its ``on_error``; once attempts run out,
    ``on_error`` decides (RETRY then acts like STOP). Build steps with the factories
    (``Step.lambda_``, ``Step.from_function``, ...).

    ``skip_if`` (lambda and function steps) is asked right before the handler runs; when it
    is true the step is ``skipped`` and its dependents still run. It is a callable, called like
    a plain step function (a parameter named ``ctx`` gets the context), or an expression over
    ``params`` and ``outputs`` (``"params.dry_run"``, see ``engine.expressions``; a string is
    compiled to an ``Expression`` here, so a bad one fails now). The step's ``handler`` then
    is a ``SkipIf`` around the function (``handler_ref`` still names the function).

    ``on_failure`` runs after the step fails (after its retries) as its own step
    ``on_failure(<step>)``, like ``ManagedWorkflow.on_failure``: ``fn(ctx, config)`` with
    ``config["failed_step"]``, or a plain function that may take ``failed_step`` and ``ctx``.
    It is a function only (in YAML a ``module:qualname`` reference): an action, not a
    condition. Not allowed on a map's inner steps, which the map runs itself.

    ``circuit_breaker`` guards the step with a ``CircuitBreaker`` (or the name of one, found
    when the step runs: see ``CircuitBreaker.named``): while it is open each attempt fails at
    once with category DEPENDENCY, saying until when; every attempt that runs counts as a
    success or failure on it. Not on wait and approval steps, which call nothing.
    """

    name: str
    step_type: StepType
    handler: Handler | None = None
    pipeline_name: str | None = None
    workflow_name: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] | None = None
    on_error: ErrorPolicy = ErrorPolicy.STOP
    retry_policy: RetryPolicy | None = None
    timeout_seconds: float | None = None
    description: str = ""
    # sub-workflow steps
    params: Mapping[str, Any] = field(default_factory=dict)
    wait_for_child: bool = True
    inherit_context: bool = True
    # map steps
    items_path: str | None = None
    iterator_steps: tuple[Step, ...] = ()
    max_concurrency: int = 4
    partition_by: str | None = None
    # wait steps
    duration_seconds: float = 0.0
    # approval steps
    gate: ApprovalGate | None = None
    # hooks
    skip_if: Handler | Expression | str | None = None
    on_failure: Handler | None = None
    circuit_breaker: CircuitBreaker | str | None = None
    # where the handler runs ("threads", "processes", "dask"; None: the run's choice) and,
    # for a map built by ``ManagedWorkflow.step(parallel=True)``, the argument each item fills
    executor: str | None = None
    item_key: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"a step needs a non-empty name, got {self.name!r}")
        object.__setattr__(self, "step_type", StepType(self.step_type))
        object.__setattr__(self, "on_error", ErrorPolicy(self.on_error))
        object.__setattr__(self, "config", dict(self.config or {}))
        object.__setattr__(self, "params", dict(self.params or {}))
        if self.depends_on is not None:
            if isinstance(self.depends_on, str):
                raise TypeError(
                    f"step {self.name!r}: depends_on must be a list of step names, "
                    f"not the string {self.depends_on!r}"
                )
            object.__setattr__(self, "depends_on", tuple(self.depends_on))
        object.__setattr__(self, "iterator_steps", tuple(self.iterator_steps))
        if self.on_error is ErrorPolicy.RETRY and self.retry_policy is None:
            object.__setattr__(self, "retry_policy", RetryPolicy())
        if self.timeout_seconds is not None and self.timeout_seconds <= 0:
            raise ValueError(f"step {self.name!r}: timeout_seconds must be > 0")
        if self.step_type is StepType.APPROVAL and self.gate is None:
            object.__setattr__(self, "gate", ApprovalGate())
        needs_handler = self.step_type in (StepType.LAMBDA, StepType.FUNCTION)
        if needs_handler and not callable(self.handler):
            raise TypeError(
                f"step {self.name!r}: handler must be callable, got {type(self.handler).__name__}"
            )
        self._check_hooks()
        check_executor_name(f"step {self.name!r}", self.executor)
        if self.circuit_breaker is not None:
            idle = self.step_type in (StepType.WAIT, StepType.APPROVAL)  # they call nothing
            check_step_guard(self.name, self.circuit_breaker,
                             self.step_type.value if idle else None)

    def _check_hooks(self) -> None:
        """Compile an expression ``skip_if``, check both hooks, and guard the handler."""
        name, skip = self.name, self.skip_if
        if isinstance(skip, str):
            try:
                skip = Expression(skip, names=SKIP_IF_NAMES)
            except ExpressionError as exc:
                raise ExpressionError(f"step {name!r}: skip_if: {exc.reason}", exc.text,
                                      exc.column, exc.line) from None
        elif isinstance(skip, Expression):
            unknown = sorted(skip.reads - set(SKIP_IF_NAMES))
            if unknown:
                raise ValueError(f"step {name!r}: skip_if {skip.text!r} reads {unknown[0]!r}; "
                                 f"a skip_if expression reads only {' and '.join(SKIP_IF_NAMES)}")
        elif skip is not None and not callable(skip):
            raise TypeError(f"step {name!r}: skip_if must be a function or an expression "
                            f"string, got {type(skip).__name__}")
        guarded = self.step_type in (StepType.LAMBDA, StepType.FUNCTION)
        if skip is not None and not guarded:
            raise ValueError(f"step {name!r}: skip_if works on lambda and function steps, not "
                             f"on a {self.step_type.value} step")
        if self.on_failure is not None and not callable(self.on_failure):
            hint = " (a 'module:qualname' reference is for YAML; pass the function itself)" \
                if isinstance(self.on_failure, str) else ""
            raise TypeError(f"step {name!r}: on_failure must be a function, got "
                            f"{type(self.on_failure).__name__}{hint}")
        for inner in self.iterator_steps:
            if inner.on_failure is not None:
                raise ValueError(f"map step {name!r}: on_failure on inner step {inner.name!r} "
                                 f"would never run; put on_failure on the map step {name!r}")
        if guarded:
            fn = _unguarded(self.handler)
            if skip is not None:
                fn = SkipIf(name, fn, skip, context_style=self.step_type is StepType.LAMBDA,
                            from_field=True)
            object.__setattr__(self, "handler", fn)
        object.__setattr__(self, "skip_if", skip)

    # ----------------------------------------------------------------- factories
    @classmethod
    def lambda_(cls, name: str, handler: Handler, config: Mapping[str, Any] | None = None,
                depends_on: Iterable[str] | None = None, on_error: ErrorPolicy = ErrorPolicy.STOP,
                retry_policy: RetryPolicy | None = None, timeout_seconds: float | None = None,
                description: str = "", skip_if: Handler | Expression | str | None = None,
                on_failure: Handler | None = None,
                circuit_breaker: CircuitBreaker | str | None = None) -> Step:
        """A step whose handler is called as ``handler(ctx, config)``."""
        return cls(name, StepType.LAMBDA, handler=handler, config=config or {},
                   depends_on=_deps(depends_on), on_error=on_error, retry_policy=retry_policy,
                   timeout_seconds=timeout_seconds, description=description or _doc(handler),
                   skip_if=skip_if, on_failure=on_failure, circuit_breaker=circuit_breaker)

    @classmethod
    def from_function(cls, name: str, fn: Handler, config: Mapping[str, Any] | None = None,
                      depends_on: Iterable[str] | None = None,
                      on_error: ErrorPolicy = ErrorPolicy.STOP,
                      retry_policy: RetryPolicy | None = None,
                      timeout_seconds: float | None = None, description: str = "",
                      skip_if: Handler | Expression | str | None = None,
                      on_failure: Handler | None = None,
                      circuit_breaker: CircuitBreaker | str | None = None) -> Step:
        """A step calling a plain function with keyword arguments taken from
        step config, then run params, then earlier outputs (latest wins)."""
        return cls(name, StepType.FUNCTION, handler=fn, config=config or {},
                   depends_on=_deps(depends_on), on_error=on_error, retry_policy=retry_policy,
                   timeout_seconds=timeout_seconds, description=description or _doc(fn),
                   skip_if=skip_if, on_failure=on_failure, circuit_breaker=circuit_breaker)

    @classmethod
    def pipeline(cls, name: str, pipeline_name: str, config: Mapping[str, Any] | None = None,
                 depends_on: Iterable[str] | None = None, on_error: ErrorPolicy = ErrorPolicy.STOP,
                 retry_policy: RetryPolicy | None = None, timeout_seconds: float | None = None,
                 description: str = "",
                 circuit_breaker: CircuitBreaker | str | None = None) -> Step:
        """A step running the handler registered under ``pipeline_name``."""
        if not pipeline_name:
            raise ValueError(f"step {name!r}: pipeline name must not be empty")
        return cls(name, StepType.PIPELINE, pipeline_name=pipeline_name, config=config or {},
                   depends_on=_deps(depends_on), on_error=on_error, retry_policy=retry_policy,
                   timeout_seconds=timeout_seconds, description=description,
                   circuit_breaker=circuit_breaker)

    @classmethod
    def workflow(cls, name: str, workflow_name: str, params: Mapping[str, Any] | None = None,
                 wait: bool = True, timeout_seconds: float | None = 600,
                 on_error: ErrorPolicy = ErrorPolicy.STOP, depends_on: Iterable[str] | None = None,
                 inherit_context: bool = True, config: Mapping[str, Any] | None = None,
                 retry_policy: RetryPolicy | None = None, description: str = "",
                 circuit_breaker: CircuitBreaker | str | None = None) -> Step:
        """A step invoking another registered workflow.

        ``params`` values may be ``$.outputs.step.key`` / ``$.params.key`` references,
        resolved when the step starts. With ``wait=False`` the child runs in the
        background and the step's output is ``{"child_run_id": ...}``.
        """
        if not workflow_name:
            raise ValueError(f"step {name!r}: workflow name must not be empty")
        return cls(name, StepType.WORKFLOW, workflow_name=workflow_name, params=params or {},
                   wait_for_child=wait, timeout_seconds=timeout_seconds, on_error=on_error,
                   depends_on=_deps(depends_on), inherit_context=inherit_context,
                   config=config or {}, retry_policy=retry_policy, description=description,
                   circuit_breaker=circuit_breaker)

    @classmethod
    def map(cls, name: str, items_path: str | None = None,
            iterator_steps: Iterable[Step] = (), max_concurrency: int = 4,
            config: Mapping[str, Any] | None = None, depends_on: Iterable[str] | None = None,
            on_error: ErrorPolicy = ErrorPolicy.STOP, retry_policy: RetryPolicy | None = None,
            timeout_seconds: float | None = None, items_source: str | None = None,
            partition_by: str | None = None, description: str = "",
            circuit_breaker: CircuitBreaker | str | None = None) -> Step:
        """Run ``iterator_steps`` once per item found at ``items_path``.

        Each item (a dict) becomes the iterator steps' config; items that are not dicts are
        passed as ``{"item": value}``. With ``partition_by`` the items are grouped by that key
        and each group runs once with ``{partition_by: value, "items": [...]}``.
        The map step's output is ``{"results": [...], "count": n}`` in item order, where each
        result is the output of the last iterator step for that item.
        """
        path = items_path or items_source
        if not path:
            raise ValueError(f"map step {name!r} needs items_path (e.g. '$.outputs.load.items')")
        steps = tuple(iterator_steps)
        if not steps:
            raise ValueError(f"map step {name!r} needs at least one iterator step")
        if max_concurrency < 1:
            raise ValueError(f"map step {name!r}: max_concurrency must be >= 1")
        return cls(name, StepType.MAP, items_path=path, iterator_steps=steps,
                   max_concurrency=max_concurrency, config=config or {},
                   depends_on=_deps(depends_on), on_error=on_error, retry_policy=retry_policy,
                   timeout_seconds=timeout_seconds, partition_by=partition_by,
                   description=description, circuit_breaker=circuit_breaker)

    # ----------------------------------------------------------------- data steps (spec §3)
    @classmethod
    def source(cls, name: str, source_type: str | None = None, *,
               connection: str | None = None, query: str | None = None,
               table: str | None = None, path: str | None = None,
               handler: Handler | None = None, params: Mapping[str, Any] | None = None,
               format: str | None = None, output_format: str = "parquet",
               chunk_size: int | None = None,
               incremental: IncrementalConfig | Mapping[str, Any] | None = None,
               depends_on: Iterable[str] | None = None, on_error: ErrorPolicy = ErrorPolicy.STOP,
               retry_policy: RetryPolicy | None = None, timeout_seconds: float | None = None,
               description: str = "",
               circuit_breaker: CircuitBreaker | str | None = None) -> Step:
        """Read a table into an artifact: a SQLite ``table`` or ``query`` (``connection`` =
        ``sqlite:///file.db`` or a path; ``params`` for its ``:names``), a CSV/Parquet ``path``,
        or what ``handler`` returns (a DataFrame, row dicts, or a generator of them), in
        ``chunk_size``-row chunks. With ``incremental`` only rows past the stored cursor are
        read (``engine.data_steps``). Output: ``{"artifact", "row_count", "schema"}``."""
        inc = incremental_of(incremental)
        settings = data_settings(
            "source", name, handler, source_type=source_type, connection=connection,
            query=query, table=table, path=path, params=dict(params) if params else None,
            format=format, output_format=output_format, chunk_size=chunk_size,
            incremental=None if inc is None else inc.to_dict())
        return cls.lambda_(name, SourceStep(name, handler, inc), config=settings,
                           depends_on=depends_on, on_error=on_error, retry_policy=retry_policy,
                           timeout_seconds=timeout_seconds,
                           description=description or describe("source", settings, handler),
                           circuit_breaker=circuit_breaker)

    @classmethod
    def transform(cls, name: str, handler: Handler | None = None, *,
                  input_ref: str | None = None, inputs: Mapping[str, str] | None = None,
                  output_format: str = "parquet", chunk_size: int | None = None,
                  depends_on: Iterable[str] | None = None,
                  on_error: ErrorPolicy = ErrorPolicy.STOP,
                  retry_policy: RetryPolicy | None = None, timeout_seconds: float | None = None,
                  description: str = "",
                  circuit_breaker: CircuitBreaker | str | None = None) -> Step:
        """Turn a table into a table: ``handler(df)`` (plus ``ctx=`` if it takes one) over the
        artifact ``input_ref`` names (``$.artifacts.STEP``; default: the latest earlier
        ``artifact`` output), per ``chunk_size``-row chunk when given; with ``inputs``
        (name -> ref) it gets each table as a keyword argument. Its result is a new artifact."""
        settings = data_settings(
            "transform", name, handler, input_ref=input_ref,
            inputs=dict(inputs) if inputs else None, output_format=output_format,
            chunk_size=chunk_size)
        return cls.lambda_(name, TransformStep(name, handler),  # type: ignore[arg-type]
                           config=settings, depends_on=depends_on, on_error=on_error,
                           retry_policy=retry_policy, timeout_seconds=timeout_seconds,
                           description=description or _doc(handler)
                           or describe("transform", settings, handler),
                           circuit_breaker=circuit_breaker)

    @classmethod
    def sink(cls, name: str, sink_type: str | None = None, *, connection: str | None = None,
             table: str | None = None, path: str | None = None,
             handler: Handler | None = None, write_mode: str = "append",
             key: str | Iterable[str] | None = None, input_ref: str | None = None,
             format: str | None = None, chunk_size: int | None = None,
             depends_on: Iterable[str] | None = None, on_error: ErrorPolicy = ErrorPolicy.STOP,
             retry_policy: RetryPolicy | None = None, timeout_seconds: float | None = None,
             description: str = "",
             circuit_breaker: CircuitBreaker | str | None = None) -> Step:
        """Write an artifact's table out, all or nothing: a SQLite ``table`` (created when
        missing; ``write_mode`` append, replace or upsert by ``key``), a CSV/Parquet ``path``,
        or ``handler(chunk)``. Output: ``{"rows_written", "target"}``."""
        keys = None if key is None else ([key] if isinstance(key, str) else list(key))
        settings = data_settings(
            "sink", name, handler, sink_type=sink_type, connection=connection, table=table,
            path=path, write_mode=write_mode, key=keys, input_ref=input_ref, format=format,
            chunk_size=chunk_size)
        return cls.lambda_(name, SinkStep(name, handler), config=settings,
                           depends_on=depends_on, on_error=on_error, retry_policy=retry_policy,
                           timeout_seconds=timeout_seconds,
                           description=description or describe("sink", settings, handler),
                           circuit_breaker=circuit_breaker)

    @classmethod
    def wait(cls, name: str, duration_seconds: float = 0.0,
             depends_on: Iterable[str] | None = None, description: str = "") -> Step:
        """A step that pauses the run for ``duration_seconds``."""
        if duration_seconds < 0:
            raise ValueError(f"wait step {name!r}: duration_seconds must be >= 0")
        return cls(name, StepType.WAIT, duration_seconds=float(duration_seconds),
                   depends_on=_deps(depends_on), description=description)

    @classmethod
    def approval(cls, name: str, message: str = "", approvers: Iterable[str] = (),
                 auto_approve_envs: Iterable[str] = (), timeout_seconds: float | None = None,
                 timeout_hours: float | None = None, context_fields: Iterable[str] = (),
                 depends_on: Iterable[str] | None = None, on_error: ErrorPolicy = ErrorPolicy.STOP,
                 description: str = "") -> Step:
        """A human-in-the-loop gate: a tracked run waits (status ``waiting``) until someone
        approves or rejects it from any process (``RunControl.approve``/``reject``).

        Approved, the step's output is ``{"approved": True, "by": ...}``; rejected, it fails
        with category REJECTED; past ``timeout_seconds`` (or ``timeout_hours``, as spec 13b
        writes it) it fails with TIMEOUT. When ``$SPINE_ENV`` is one of ``auto_approve_envs``
        it approves itself at once (``by="auto"``), also in an untracked run.
        """
        if timeout_seconds is not None and timeout_hours is not None:
            raise ValueError(f"approval step {name!r}: give timeout_seconds or timeout_hours, "
                             "not both")
        if timeout_hours is not None:
            timeout_seconds = timeout_hours * 3600.0
        gate = ApprovalGate(message=message, approvers=_names("approvers", approvers),
                            auto_approve_envs=_names("auto_approve_envs", auto_approve_envs),
                            context_fields=_names("context_fields", context_fields))
        return cls(name, StepType.APPROVAL, gate=gate, timeout_seconds=timeout_seconds,
                   depends_on=_deps(depends_on), on_error=on_error,
                   description=description or message)

    # ------------------------------------------------------- spec §8 calculation steps
    @classmethod
    def calculate(cls, name: str, calculation: Any, depends_on: Iterable[str] | None = None,
                  on_error: ErrorPolicy = ErrorPolicy.STOP,
                  retry_policy: RetryPolicy | None = None, timeout_seconds: float | None = None,
                  description: str = "", skip_if: Handler | Expression | str | None = None,
                  config: Mapping[str, Any] | None = None) -> Step:
        """Spec §8's calculation step: a ``FinancialCalculation`` or ``RiskCalculation``
        (``engine.calculations``) reading ``$.artifacts``/``$.outputs`` references.

        The calculation is the handler of a lambda step (called ``(ctx, config)``), so every
        runner, executor and the playground run it as they run any step; its output is
        JSON-safe (a table as an artifact ref or inline rows, figures as numbers or None).
        """
        return cls._calculation_step(name, "calculate", calculation, depends_on=depends_on,
                                     on_error=on_error, retry_policy=retry_policy,
                                     timeout_seconds=timeout_seconds, description=description,
                                     skip_if=skip_if, config=config)

    @classmethod
    def aggregate(cls, name: str, aggregation: Any, depends_on: Iterable[str] | None = None,
                  on_error: ErrorPolicy = ErrorPolicy.STOP,
                  retry_policy: RetryPolicy | None = None, timeout_seconds: float | None = None,
                  description: str = "", skip_if: Handler | Expression | str | None = None,
                  config: Mapping[str, Any] | None = None) -> Step:
        """Spec §8's time-series step: a ``TimeSeriesAggregation`` (``pct_change``,
        ``rolling_mean_N``, ``rolling_std_N`` per group, optional period roll-up)."""
        return cls._calculation_step(name, "aggregate", aggregation, depends_on=depends_on,
                                     on_error=on_error, retry_policy=retry_policy,
                                     timeout_seconds=timeout_seconds, description=description,
                                     skip_if=skip_if, config=config)

    @classmethod
    def validate(cls, name: str, rules: Any, depends_on: Iterable[str] | None = None,
                 on_error: ErrorPolicy = ErrorPolicy.STOP,
                 retry_policy: RetryPolicy | None = None, timeout_seconds: float | None = None,
                 description: str = "", skip_if: Handler | Expression | str | None = None,
                 config: Mapping[str, Any] | None = None) -> Step:
        """Spec §8's compliance step: ``ComplianceRules`` (YAML rules, CEL expressions over
        each row or the metrics); an error-severity violation fails it as DATA_QUALITY."""
        return cls._calculation_step(name, "validate", rules, depends_on=depends_on,
                                     on_error=on_error, retry_policy=retry_policy,
                                     timeout_seconds=timeout_seconds, description=description,
                                     skip_if=skip_if, config=config)

    @classmethod
    def _calculation_step(cls, name: str, kind: str, body: Any, *,
                          depends_on: Iterable[str] | None, on_error: ErrorPolicy,
                          retry_policy: RetryPolicy | None, timeout_seconds: float | None,
                          description: str, skip_if: Handler | Expression | str | None,
                          config: Mapping[str, Any] | None) -> Step:
        """A lambda step whose handler is a calculation of ``kind`` (its ``kind`` attribute)."""
        if getattr(body, "kind", None) != kind or not callable(body):
            wanted = {"calculate": "a FinancialCalculation or RiskCalculation",
                      "aggregate": "a TimeSeriesAggregation",
                      "validate": "ComplianceRules"}[kind]
            raise TypeError(f"step {name!r}: Step.{kind} takes {wanted} (from engine), got "
                            f"{type(body).__name__}")
        return cls(name, StepType.LAMBDA, handler=body, config=config or {},
                   depends_on=_deps(depends_on), on_error=on_error, retry_policy=retry_policy,
                   timeout_seconds=timeout_seconds, skip_if=skip_if,
                   description=description or f"{kind}: {body.describe()}")

    # ----------------------------------------------------------------- helpers
    @property
    def handler_ref(self) -> str | None:
        """``module:qualname`` of the handler, or None when there is none."""
        return None if self.handler is None else callable_ref(self.handler)

    @property
    def target(self) -> str:
        """A short label for what the step runs (handler, pipeline or workflow name)."""
        if self.step_type is StepType.PIPELINE:
            return str(self.pipeline_name)
        if self.step_type is StepType.WORKFLOW:
            return str(self.workflow_name)
        if self.step_type is StepType.MAP:
            return f"map {self.items_path} -> {', '.join(s.name for s in self.iterator_steps)}"
        if self.step_type is StepType.WAIT:
            return f"wait {self.duration_seconds:g}s"
        if self.step_type is StepType.APPROVAL:
            return "approval"
        ref = self.handler_ref or ""
        return ref.split(":", 1)[-1]

    def with_changes(self, **changes: Any) -> Step:
        """A copy with some fields replaced (steps are immutable)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the step (handlers as ``module:qualname``)."""
        data: dict[str, Any] = {"name": self.name, "type": self.step_type.value}
        if self.handler is not None:
            data["handler"] = self.handler_ref
        if self.pipeline_name:
            data["pipeline"] = self.pipeline_name
        if self.workflow_name:
            data["workflow"] = self.workflow_name
            data["wait"] = self.wait_for_child
            data["inherit_context"] = self.inherit_context
        if self.params:
            data["params"] = dict(self.params)
        if self.config:
            data["config"] = dict(self.config)
        if self.depends_on is not None:
            data["depends_on"] = list(self.depends_on)
        data["on_error"] = self.on_error.value
        if self.retry_policy is not None:
            data["retry_policy"] = self.retry_policy.to_dict()
        if self.timeout_seconds is not None:
            data["timeout_seconds"] = self.timeout_seconds
        if self.step_type is StepType.MAP:
            data["items_path"] = self.items_path
            data["max_concurrency"] = self.max_concurrency
            data["partition_by"] = self.partition_by
            data["iterator_steps"] = [s.to_dict() for s in self.iterator_steps]
        if self.step_type is StepType.WAIT:
            data["duration_seconds"] = self.duration_seconds
        if self.gate is not None:
            data["approval"] = self.gate.to_dict()
        if isinstance(self.skip_if, Expression):
            data["skip_if"] = self.skip_if.text
        elif self.skip_if is not None:
            data["skip_if"] = callable_ref(self.skip_if)
        if self.on_failure is not None:
            data["on_failure"] = callable_ref(self.on_failure)
        if self.executor is not None:
            data["executor"] = self.executor
        if self.item_key is not None:
            data["item_key"] = self.item_key
        if self.circuit_breaker is not None:
            data["circuit_breaker"] = self.circuit_breaker if isinstance(
                self.circuit_breaker, str) else self.circuit_breaker.to_dict()
        if self.description:
            data["description"] = self.description
        return data


class SkipIf:
    """A step handler that first asks ``predicate`` and skips the step when it is true.

    The predicate is an ``Expression`` over ``params`` and ``outputs``, or a callable called
    like a plain step function: keyword arguments from the step config, run params and earlier
    outputs, and a parameter named ``ctx`` gets the context (so spec R3's
    ``lambda ctx: ctx.get("skip_validation")`` works).

    ``Step`` builds one around its handler for ``skip_if`` (``from_field``): it is then called
    the way the runner calls that kind of step (``(ctx, config)`` for a lambda step, keyword
    arguments for a function step) and calls the function the same way. One built by hand and
    given to ``Step.lambda_`` calls ``fn`` by ``fn``'s own convention; it has no
    ``__wrapped__``, so an export (YAML, stored versions) refuses its step rather than drop the
    predicate.
    """

    def __init__(self, step: str, fn: Handler, predicate: Handler | Expression, *,
                 context_style: bool | None = None, from_field: bool = False) -> None:
        self.step = step
        self.fn = fn
        self.predicate = predicate
        self.from_field = from_field
        #: how ``fn`` is called: ``fn(ctx, config)``, or with keyword arguments
        self.fn_context_style = signature_of(fn).context_style if context_style is None \
            else context_style
        # handler_ref and the DAG viewer name the real function
        self.__module__ = getattr(fn, "__module__", None) or __name__
        self.__qualname__ = getattr(fn, "__qualname__", None) or type(fn).__name__
        self.__name__ = getattr(fn, "__name__", "handler")
        self.__doc__ = getattr(fn, "__doc__", None)
        called_with_context = context_style is None or context_style
        self.__signature__ = _CONTEXT_CALL if called_with_context else _KEYWORD_CALL
        if from_field:
            self.__wrapped__ = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args:  # a lambda step: (ctx, config)
            ctx, config = args
        else:  # a function step: ctx and the merged config > params > outputs values
            ctx = kwargs.pop("ctx", None)
            config = kwargs
            if not (hasattr(ctx, "params") and hasattr(ctx, "outputs")):
                raise TypeError(f"step {self.step!r}: a config key, param or output named "
                                "'ctx' hides the run context skip_if needs; rename it")
        skipped = self.verdict(ctx, config)
        if skipped is not None:
            return skipped
        if self.fn_context_style:
            return self.fn(ctx, config)
        return self.fn(**function_kwargs(self.fn, config, ctx, self.step))

    def verdict(self, ctx: Any, config: Mapping[str, Any]) -> StepResult | None:
        """The skip result when the predicate is true, else None (a remote executor asks
        this on the coordinator and ships only ``fn``)."""
        predicate = self.predicate
        if isinstance(predicate, Expression):
            try:
                skip = predicate.evaluate({"params": ctx.params, "outputs": ctx.outputs})
            except ExpressionError as exc:
                raise ExpressionError(f"skip_if: {exc.reason}", exc.text, exc.column,
                                      exc.line) from None
            label = repr(predicate.text)
        else:
            skip = predicate(**function_kwargs(predicate, config, ctx, self.step))
            label = f"({getattr(predicate, '__name__', 'predicate')})"
        return StepResult.skip(f"skip_if {label} was true") if skip else None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SkipIf):
            return NotImplemented
        return (self.step, self.fn, self.predicate, self.fn_context_style, self.from_field) == \
            (other.step, other.fn, other.predicate, other.fn_context_style, other.from_field)

    def __hash__(self) -> int:
        return hash((SkipIf, self.step, self.fn, self.predicate))

    def __repr__(self) -> str:
        return f"SkipIf({self.step!r}, {self.__qualname__}, {self.predicate!r})"


_Param = inspect.Parameter
#: how the runner sees a ``SkipIf``: called as ``(ctx, config)`` or with keyword arguments
_CONTEXT_CALL = inspect.Signature([_Param("ctx", _Param.POSITIONAL_OR_KEYWORD),
                                   _Param("config", _Param.POSITIONAL_OR_KEYWORD)])
_KEYWORD_CALL = inspect.Signature([_Param("ctx", _Param.POSITIONAL_OR_KEYWORD),
                                   _Param("kwargs", _Param.VAR_KEYWORD)])


def _unguarded(handler: Any) -> Any:
    """The function a step's ``skip_if`` guard wraps (the handler itself when unguarded)."""
    return handler.fn if isinstance(handler, SkipIf) and handler.from_field else handler


def callable_ref(fn: Any) -> str:
    """``module:qualname`` of a function (through ``__wrapped__``, as decorators leave it)."""
    fn = getattr(fn, "__wrapped__", fn)
    module = getattr(fn, "__module__", None) or "?"
    qualname = getattr(fn, "__qualname__", None) or type(fn).__name__
    return f"{module}:{qualname}"


def _deps(depends_on: Iterable[str] | None) -> tuple[str, ...] | None:
    if depends_on is None:
        return None
    if isinstance(depends_on, str):
        raise TypeError(f"depends_on must be a list of step names, not the string {depends_on!r}")
    return tuple(depends_on)


def _names(field_name: str, values: Iterable[str] | None) -> tuple[str, ...]:
    if isinstance(values, str):
        raise TypeError(f"{field_name} must be a list of names, not the string {values!r}")
    return tuple(values or ())


def _doc(fn: Any) -> str:
    doc = getattr(fn, "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""
