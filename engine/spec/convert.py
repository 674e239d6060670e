"""Converting between ``WorkflowSpec`` documents and runtime ``Workflow``/``Step`` objects.

Runtime to document writes only what differs from the defaults, so an export reads like a
hand-written file; document to runtime imports ``lambda:``/``function:`` handlers and the
``skip_if``/``on_failure`` functions a step names. A ``skip_if`` expression stays text both
ways; a ``skip_if`` or ``on_failure`` function must be importable by ``module:qualname``, like
a handler, or the export is refused.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from ..adapters import WorkflowStepFunction
from ..circuit_breaker import CircuitBreaker
from ..data_steps import DataStepError
from ..errors import WorkflowSpecError
from ..expressions import Expression
from ..policies import ErrorPolicy, RetryPolicy
from ..refs import import_ref, is_ref
from ..steps import ApprovalGate, Handler, SkipIf, Step, StepType, callable_ref
from ..workflow import ConcurrencyPolicy, OnConflict, Workflow
from .alerts import alerts_doc
from .calc_steps import FACTORY_OF, build_calculation, calculation_doc
from .data_steps import DATA_KINDS, data_step_arguments, data_step_doc, default_description
from .locate import Loc
from .models import (
    API_VERSION,
    CALC_STEP_KINDS,
    DATA_STEP_KINDS,
    KIND,
    BreakerSpec,
    ConcurrencySpec,
    StepSpec,
)

#: builds the error for a message at a document location
ErrorAt = Callable[[str, Loc], WorkflowSpecError]
_DEFAULT_QUEUE_TIMEOUT = ConcurrencyPolicy().queue_timeout_seconds


# ------------------------------------------------------------------ runtime -> document
def workflow_doc(workflow: Workflow, source: str) -> dict[str, Any]:
    """The document form of a runtime workflow (plain data, aliased keys)."""
    policy = workflow.execution_policy
    meta = {"name": workflow.name, "domain": workflow.domain, "version": workflow.version,
            "description": workflow.description, "tags": list(workflow.tags)}
    body = {"steps": [step_doc(s, source) for s in workflow.steps],
            "policy": {"execution": policy.mode.value, "on_failure": policy.on_failure.value,
                       "max_concurrency": policy.max_concurrency},
            "concurrency": workflow.concurrency and concurrency_doc(workflow.concurrency),
            "defaults": dict(workflow.defaults), "schedule": workflow.schedule,
            "alerts": alerts_doc(workflow.alerts, source), "executor": workflow.executor,
            "scheduler": workflow.scheduler}
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": set_only(meta),
            "spec": set_only(body)}


def concurrency_doc(policy: ConcurrencyPolicy) -> dict[str, Any]:
    """``spec.concurrency``: the limit and conflict rule, plus a non-default queue timeout."""
    doc: dict[str, Any] = {"max_concurrent_runs": policy.max_concurrent_runs,
                           "on_conflict": OnConflict(policy.on_conflict).value}
    if policy.queue_timeout_seconds != _DEFAULT_QUEUE_TIMEOUT:  # null = wait forever
        doc["queue_timeout_seconds"] = policy.queue_timeout_seconds
    return doc


def step_doc(step: Step, source: str) -> dict[str, Any]:
    """The document form of one runtime step, holding only what differs from the defaults."""
    kind = step.step_type
    doc: dict[str, Any] = {"name": step.name}
    description = step.description or None
    if kind is StepType.PIPELINE:
        doc["pipeline"] = step.pipeline_name
    elif kind is StepType.WORKFLOW:
        doc["workflow"] = step.workflow_name
    elif kind is StepType.MAP:
        doc["map"] = {"items_path": step.items_path, "max_concurrency": step.max_concurrency,
                      "steps": [step_doc(s, source) for s in step.iterator_steps]}
        if step.partition_by:
            doc["map"]["partition_by"] = step.partition_by
    elif kind is StepType.WAIT:
        doc["wait"] = {"duration_seconds": step.duration_seconds}
    elif kind is StepType.APPROVAL:
        gate = step.gate or ApprovalGate()
        doc["approval"] = approval_doc(gate, step.timeout_seconds)
        description = None if step.description == gate.message else step.description
    elif (body := _body_doc(step, source)) is not None:
        key, section, default = body
        doc[key] = section
        description = None if step.description == default else step.description
    else:
        doc[kind.value] = _exportable_ref(step.name, "handler", step.handler, source)
    data_step = _unguarded(step.handler).__class__ in DATA_KINDS.values()
    if description is not None:  # "" only for an approval step that cleared its message
        doc["description"] = description
    sub = kind is StepType.WORKFLOW
    doc.update(set_only({
        "config": None if data_step else dict(step.config),
        "params": dict(step.params) if sub else None,
        "on_error": None if step.on_error is ErrorPolicy.STOP else step.on_error.value,
        "retry": step.retry_policy and step.retry_policy.to_dict(),
        "wait_for_completion": None if step.wait_for_child or not sub else False,
        "inherit_context": None if step.inherit_context or not sub else False,
        "skip_if": _skip_if_doc(step, source),
        "on_failure": step.on_failure and _exportable_ref(step.name, "on_failure",
                                                          step.on_failure, source),
        "circuit_breaker": breaker_doc(step.circuit_breaker),
        "executor": step.executor}))
    if step.depends_on is not None:  # [] (a root) differs from absent (after the previous step)
        doc["depends_on"] = list(step.depends_on)
    timed = kind is not StepType.APPROVAL and step.timeout_seconds is not None
    if timed or sub:  # null = no timeout, absent = 600 s for a sub-workflow
        doc["timeout_seconds"] = step.timeout_seconds
    return doc


def _unguarded(handler: Any) -> Any:
    """The step body a ``skip_if`` guard wraps (the handler itself when unguarded)."""
    return handler.fn if isinstance(handler, SkipIf) and handler.from_field else handler


def _body_doc(step: Step, source: str) -> tuple[str, dict[str, Any], str] | None:
    """A calculation or data step's key, section and default description (else None)."""
    if step.step_type is not StepType.LAMBDA:
        return None
    body = _unguarded(step.handler)
    calc = calculation_doc(step.name, body, source)
    if calc is not None:
        return (*calc, f"{body.kind}: {body.describe()}")
    data = data_step_doc(step.name, body, step.config,
                         lambda role, fn: _exportable_ref(step.name, role, fn, source))
    if data is not None:
        return (*data, default_description(data[0], step.config, body.fn))
    return None


def _skip_if_doc(step: Step, source: str) -> str | None:
    """``skip_if:`` of a step: the expression's text, or its function's reference."""
    skip = step.skip_if
    if skip is None or isinstance(skip, Expression):
        return None if skip is None else skip.text
    return _exportable_ref(step.name, "skip_if", skip, source)


def breaker_doc(breaker: CircuitBreaker | str | None) -> str | dict[str, Any] | None:
    """``circuit_breaker:`` of a step: a name as given, a breaker as its name plus the
    thresholds that differ from the defaults."""
    if breaker is None or isinstance(breaker, str):
        return breaker
    defaults = BreakerSpec(name=breaker.name).model_dump()
    return {k: v for k, v in breaker.to_dict().items() if k == "name" or v != defaults[k]}


def approval_doc(gate: ApprovalGate, timeout_seconds: float | None) -> dict[str, Any]:
    """``approval:`` of a step: what is asked, of whom, where it approves itself, how long."""
    return set_only({"message": gate.message, "approvers": list(gate.approvers),
                     "auto_approve_envs": list(gate.auto_approve_envs),
                     "timeout_seconds": timeout_seconds,
                     "context_fields": list(gate.context_fields)})


def set_only(values: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values and ``None`` so exports hold only what was declared (``False`` stays)."""
    return {k: v for k, v in values.items() if v is False or v}


def _exportable_ref(step: str, role: str, fn: Any, source: str) -> str:
    """``module:qualname`` of a step's function (``role``: handler, skip_if or on_failure),
    when importing it gives the function back."""
    ref = callable_ref(fn)
    module_name, _, qualname = ref.partition(":")
    if "<" in qualname:
        raise WorkflowSpecError(
            f"step {step!r}: {role} {ref} is a lambda, closure or nested function, which "
            "a YAML file cannot refer to; define it with `def` at module level in an importable "
            "module and build the step from that function", source)
    target: Any = sys.modules.get(module_name)
    for part in qualname.split(".") if target is not None else ():
        target = getattr(target, part, None)
    if target is None or _unwrap(target) is not _unwrap(fn):
        raise WorkflowSpecError(
            f"step {step!r}: {role} {ref} cannot be imported back as module:qualname; "
            "use a plain function defined at module level in an importable module", source)
    return ref


def _unwrap(fn: Any) -> Any:
    fn = fn.fn if isinstance(fn, WorkflowStepFunction) else fn
    return getattr(fn, "__wrapped__", fn)


# ------------------------------------------------------------------ document -> runtime
def build_step(spec: StepSpec, loc: Loc, error: ErrorAt, base: Path | None = None) -> Step:
    """The runtime step of one step document at ``loc`` (errors placed by ``error``);
    relative files a calculation or data step names start from ``base`` (the YAML file's
    folder)."""
    common: dict[str, Any] = {
        "config": spec.config, "depends_on": spec.depends_on,
        "on_error": ErrorPolicy(spec.on_error), "description": spec.description,
        "retry_policy": None if spec.retry is None else RetryPolicy(
            **{**spec.retry.model_dump(),
               "retryable_categories": tuple(spec.retry.retryable_categories)}),
    }
    if spec.circuit_breaker is not None:
        breaker = spec.circuit_breaker
        common["circuit_breaker"] = breaker if isinstance(breaker, str) else \
            CircuitBreaker(**breaker.model_dump())
    try:
        step = _build_kind(spec, loc, error, common, base)
        hooks = _hooks(spec, loc, error)
        if spec.executor is not None:  # where this step's handler runs (engine.executors)
            hooks["executor"] = spec.executor
        return step.with_changes(**hooks) if hooks else step
    except (ValueError, TypeError) as exc:
        raise error(f"step {spec.name!r}: {exc}", loc) from None


def _hooks(spec: StepSpec, loc: Loc, error: ErrorAt) -> dict[str, Any]:
    """``skip_if`` (expression text, or the imported predicate) and ``on_failure`` (the
    imported handler) of a step document, as ``Step`` fields."""
    hooks: dict[str, Any] = {}
    if spec.skip_if is not None:
        hooks["skip_if"] = spec.skip_if if not is_ref(spec.skip_if) else \
            resolve_handler(spec.name, spec.skip_if, (*loc, "skip_if"), error)
    if spec.on_failure is not None:
        hooks["on_failure"] = resolve_handler(spec.name, spec.on_failure, (*loc, "on_failure"),
                                              error)
    return hooks


def _build_kind(spec: StepSpec, loc: Loc, error: ErrorAt, common: dict[str, Any],
                base: Path | None) -> Step:
    """The step of one document by its kind key, without its hooks."""
    timeout = spec.timeout_seconds
    key = spec.kind
    if key in CALC_STEP_KINDS or key in DATA_STEP_KINDS:
        return _body_step(spec, key, (*loc, key), error, common, base)
    if spec.pipeline is not None:
        return Step.pipeline(spec.name, spec.pipeline, timeout_seconds=timeout, **common)
    if spec.workflow is not None:
        if "timeout_seconds" in spec.model_fields_set:
            common["timeout_seconds"] = timeout
        return Step.workflow(spec.name, spec.workflow, params=spec.params,
                             wait=spec.wait_for_completion,
                             inherit_context=spec.inherit_context, **common)
    if spec.map is not None:
        inner = [build_step(s, (*loc, "map", "steps", i), error, base)
                 for i, s in enumerate(spec.map.steps)]
        return Step.map(spec.name, spec.map.items_path, inner, spec.map.max_concurrency,
                        partition_by=spec.map.partition_by, timeout_seconds=timeout,
                        **common)
    if spec.wait is not None:
        return Step(spec.name, StepType.WAIT, timeout_seconds=timeout,
                    duration_seconds=spec.wait.duration_seconds, **common)
    if spec.approval is not None:
        return _approval_step(spec, common)
    handler = resolve_handler(spec.name, str(spec.kind_value(key)), (*loc, key), error)
    factory = Step.lambda_ if key == "lambda" else Step.from_function
    return factory(spec.name, handler, timeout_seconds=timeout, **common)


def _body_step(spec: StepSpec, key: str, loc: Loc, error: ErrorAt, common: dict[str, Any],
               base: Path | None) -> Step:
    """A calculation step (``Step.calculate``/``aggregate``/``validate`` around the object
    its section describes) or a data step (``Step.source``/``transform``/``sink``)."""
    section = spec.kind_value(key)
    breaker = common.pop("circuit_breaker", None)
    common["timeout_seconds"] = spec.timeout_seconds
    try:
        if key in CALC_STEP_KINDS:
            body = build_calculation(key, section, base, error, loc)
            step = getattr(Step, FACTORY_OF[key])(spec.name, body, **common)
        else:
            del common["config"]  # data steps keep their settings there (refused by the model)
            arguments = data_step_arguments(
                section, base, lambda role, ref: resolve_handler(spec.name, ref, (*loc, role),
                                                                 error))
            step = getattr(Step, key)(spec.name, **arguments, **common)
    except (ValueError, TypeError, DataStepError) as exc:
        raise error(f"step {spec.name!r}: {exc}", loc) from None
    return step if breaker is None else step.with_changes(circuit_breaker=breaker)


def _approval_step(spec: StepSpec, common: dict[str, Any]) -> Step:
    """An approval step as ``Step.approval`` builds it (description defaults to the message),
    also carrying config and retry, which the runtime ``Step`` allows on any kind."""
    approval = spec.approval
    assert approval is not None
    gate = ApprovalGate(message=approval.message, approvers=tuple(approval.approvers),
                        auto_approve_envs=tuple(approval.auto_approve_envs),
                        context_fields=tuple(approval.context_fields))
    if "description" not in spec.model_fields_set:
        common["description"] = approval.message
    return Step(spec.name, StepType.APPROVAL, gate=gate, timeout_seconds=approval.timeout,
                **common)


def resolve_handler(step: str, ref: str, loc: Loc, error: ErrorAt) -> Handler:
    """Import the ``module:qualname`` handler ``ref`` of step ``step``."""
    module_name, _, qualname = ref.partition(":")
    try:
        target = import_ref(ref)
    except Exception as exc:  # a user module can fail to import with any exception
        raise error(
            f"step {step!r}: cannot load handler {ref!r} ({type(exc).__name__}: {exc}); "
            f"check that module {module_name!r} is importable and defines {qualname!r}",
            loc) from exc
    if isinstance(target, WorkflowStepFunction):
        target = target.fn
    if not callable(target):
        raise error(f"step {step!r}: handler {ref!r} is a {type(target).__name__}, "
                    "not a function", loc)
    return target


def concurrency_policy(spec: ConcurrencySpec | None) -> ConcurrencyPolicy | None:
    """The runtime ``ConcurrencyPolicy`` of a ``spec.concurrency`` section (``None`` when absent)."""
    if spec is None:
        return None
    return ConcurrencyPolicy(max_concurrent_runs=spec.max_concurrent_runs,
                             on_conflict=spec.on_conflict,
                             queue_timeout_seconds=spec.queue_timeout_seconds)


# ------------------------------------------------------------------ YAML text
def dump_yaml(data: Any) -> str:
    """``data`` as block-style YAML, keys in document order."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False)


class _Dumper(yaml.SafeDumper):
    """Block style with indented lists; short lists of scalars inline (``tags: [a, b]``)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_list(dumper: yaml.SafeDumper, data: Sequence[Any]) -> yaml.Node:
    flat = all(x is None or (isinstance(x, str | int | float | bool)
                             and "\n" not in str(x)) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(tuple, _represent_list)
