"""``WorkflowSpec``: the ``apiVersion: spine.io/v1`` / ``kind: Workflow`` document (spec I4).

A pydantic model of the YAML (with JSON Schema export) that converts to and from a runtime
``Workflow`` losslessly for everything declarative. Handlers are importable ``module:qualname``
references; pipelines and sub-workflows are names looked up only when a run starts. Every
problem in a document is a ``WorkflowSpecError`` with the file and 1-based line of the key.

Decisions where the spec is silent: keys a document leaves out stay out of ``to_yaml``, so a
hand-written file exports back to itself; a ``workflow:`` step without ``timeout_seconds``
gets ``Step.workflow``'s 600 s and ``timeout_seconds: null`` means none; ``lambda:``/
``function:`` steps without ``description`` take the handler's docstring (as ``Step.lambda_``);
unknown keys, duplicate keys and sub-workflow-only keys on other steps are errors rather
than silently ignored; handlers in ``__main__`` export as ``__main__:name`` (they round-trip
inside the running script, as in spec I4, not in another process).
"""

from __future__ import annotations

import difflib
import importlib
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from .adapters import WorkflowStepFunction
from .errors import (
    DependencyCycleError,
    DuplicateStepError,
    UnknownDependencyError,
    WorkflowSpecError,
    WorkflowValidationError,
)
from .policies import ErrorPolicy, ExecutionMode, RetryPolicy, WorkflowExecutionPolicy
from .steps import Handler, Step, StepType
from .workflow import Workflow

API_VERSION = "spine.io/v1"
KIND = "Workflow"
STEP_KINDS = ("pipeline", "workflow", "lambda", "function", "map", "wait")
_WORKFLOW_ONLY = frozenset({"params", "wait_for_completion", "inherit_context"})
_REF = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
_RETRY = RetryPolicy()
_POLICY = WorkflowExecutionPolicy()
Loc = tuple[str | int, ...]


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _handler_ref(value: str) -> str:
    if not _REF.fullmatch(value):
        raise ValueError(f"expected a 'module:qualname' reference (e.g. 'my_pkg.steps:load'), "
                         f"got {value!r}")
    return value


def _cron(value: str) -> str:
    from croniter import croniter  # only documents with a schedule pay for the import

    if not croniter.is_valid(value):
        raise ValueError(f"{value!r} is not a valid cron expression (five fields: minute hour "
                         "day-of-month month day-of-week, e.g. '0 6 * * *')")
    return value


Name = Annotated[str, AfterValidator(_non_empty)]
HandlerRef = Annotated[str, AfterValidator(_handler_ref)]
Cron = Annotated[str, AfterValidator(_cron)]
_STRICT = ConfigDict(extra="forbid", frozen=True)


class RetrySpec(BaseModel):
    """Backoff for ``on_error: retry``; mirrors ``RetryPolicy`` and its defaults."""

    model_config = _STRICT
    max_attempts: int = Field(default=_RETRY.max_attempts, ge=1)
    initial_delay_seconds: float = Field(default=_RETRY.initial_delay_seconds, ge=0)
    backoff_multiplier: float = Field(default=_RETRY.backoff_multiplier, ge=1)
    max_delay_seconds: float = Field(default=_RETRY.max_delay_seconds, ge=0)
    retryable_categories: list[str] = Field(default_factory=list)


class MapSpec(BaseModel):
    """``map:`` runs ``steps`` once per item found at ``items_path``."""

    model_config = _STRICT
    items_path: Name
    max_concurrency: int = Field(default=4, ge=1)
    partition_by: str | None = None
    steps: list[StepSpec] = Field(min_length=1)


class WaitSpec(BaseModel):
    """``wait:`` pauses the run."""

    model_config = _STRICT
    duration_seconds: float = Field(default=0.0, ge=0)


class StepSpec(BaseModel):
    """One step; exactly one of the kind keys (``pipeline``, ``workflow``, ``lambda``,
    ``function``, ``map``, ``wait``) says what it runs."""

    model_config = _STRICT
    name: Name
    pipeline: Name | None = None
    workflow: Name | None = None
    lambda_: HandlerRef | None = Field(default=None, alias="lambda")
    function: HandlerRef | None = None
    map: MapSpec | None = None
    wait: WaitSpec | None = None
    description: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[Name] | None = None
    on_error: Literal["stop", "continue", "retry"] = "stop"
    retry: RetrySpec | None = None
    timeout_seconds: float | None = Field(default=None, gt=0)
    wait_for_completion: bool = True
    inherit_context: bool = True

    @property
    def kind(self) -> str:
        """Which kind key the step uses (one of ``STEP_KINDS``)."""
        return next(k for k in STEP_KINDS if self._kind_value(k) is not None)

    def _kind_value(self, kind: str) -> Any:
        return getattr(self, "lambda_" if kind == "lambda" else kind)

    @model_validator(mode="after")
    def _one_kind(self) -> StepSpec:
        given = [k for k in STEP_KINDS if self._kind_value(k) is not None]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(f"step {self.name!r} needs exactly one of "
                             f"{', '.join(STEP_KINDS)} (found {found})")
        stray = sorted(self.model_fields_set & _WORKFLOW_ONLY)
        if stray and given[0] != "workflow":
            raise ValueError(f"step {self.name!r}: {', '.join(stray)} only apply to workflow "
                             f"steps; put a {given[0]} step's settings under config")
        return self


class PolicySpec(BaseModel):
    """How a run schedules steps; mirrors ``WorkflowExecutionPolicy``."""

    model_config = _STRICT
    execution: Literal["sequential", "parallel"] = "sequential"
    max_concurrency: int = Field(default=_POLICY.max_concurrency, ge=1)
    on_failure: Literal["stop", "continue"] = "stop"


class Metadata(BaseModel):
    """Who the workflow is: name (unique in the catalog), domain, description, tags, version."""

    model_config = _STRICT
    name: Name
    domain: str = ""
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    version: int = Field(default=1, ge=1)


class WorkflowBody(BaseModel):
    """The ``spec:`` section: steps, run policy, default params and an optional cron schedule."""

    model_config = _STRICT
    steps: list[StepSpec] = Field(min_length=1)
    policy: PolicySpec = PolicySpec()
    defaults: dict[str, Any] = Field(default_factory=dict)
    schedule: Cron | None = None


class WorkflowSpec(BaseModel):
    """A workflow as a ``spine.io/v1`` document: parse, validate, export and convert.

    Two specs are equal when they declare the same document; where they were read from does
    not count.
    """

    model_config = _STRICT
    api_version: Literal["spine.io/v1"] = Field(alias="apiVersion")
    kind: Literal["Workflow"]
    metadata: Metadata
    spec: WorkflowBody

    _source: str = PrivateAttr("<string>")
    _node: yaml.Node | None = PrivateAttr(None)

    @property
    def name(self) -> str:
        return self.metadata.name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkflowSpec):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ reading
    @classmethod
    def from_yaml(cls, text: str, source: str = "<string>") -> WorkflowSpec:
        """Parse and validate one YAML document; ``source`` names it in error messages."""
        node, data = _load(text, source)
        _check_header(data, node, source)
        try:
            spec = cls.model_validate(data)
        except ValidationError as exc:
            raise _schema_error(exc, node, source) from None
        spec._source, spec._node = source, node
        return spec

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> WorkflowSpec:
        """Parse a ``.yaml`` file; errors name the file and line."""
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise WorkflowSpecError(f"cannot read the workflow file: {reason}", source) from None
        return cls.from_yaml(text, source=source)

    @classmethod
    def from_workflow(cls, workflow: Workflow | Any) -> WorkflowSpec:
        """Describe a runtime workflow (or ``ManagedWorkflow``); its handlers must be importable
        module-level functions."""
        workflow = workflow if isinstance(workflow, Workflow) else workflow.workflow
        source = f"<workflow {workflow.name}>"
        policy = workflow.execution_policy
        meta = {"name": workflow.name, "domain": workflow.domain, "version": workflow.version,
                "description": workflow.description, "tags": list(workflow.tags)}
        body = {"steps": [_step_doc(s, source) for s in workflow.steps],
                "policy": {"execution": policy.mode.value, "on_failure": policy.on_failure.value,
                           "max_concurrency": policy.max_concurrency},
                "defaults": dict(workflow.defaults), "schedule": workflow.schedule}
        doc = {"apiVersion": API_VERSION, "kind": KIND, "metadata": _set_only(meta),
               "spec": _set_only(body)}
        try:
            spec = cls.model_validate(doc)
        except ValidationError as exc:
            raise _schema_error(exc, None, source) from None
        spec._source = source
        return spec

    # ------------------------------------------------------------------ writing
    def to_dict(self) -> dict[str, Any]:
        """The document as plain data (aliased keys; keys never set are left out)."""
        return self.model_dump(by_alias=True, exclude_unset=True)

    def to_yaml(self) -> str:
        """The document as YAML text that ``from_yaml`` reads back to an equal spec."""
        try:
            return yaml.dump(self.to_dict(), Dumper=_Dumper, sort_keys=False,
                             allow_unicode=True, default_flow_style=False)
        except yaml.YAMLError as exc:
            raise WorkflowSpecError(
                f"workflow {self.name!r} cannot be written as YAML: {exc}; config, params and "
                "defaults must be plain data (strings, numbers, booleans, dates, lists, maps)",
                self._source) from None

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """JSON Schema of the document (keys as written in YAML), for editors and API clients."""
        return cls.model_json_schema(by_alias=True)

    # ------------------------------------------------------------------ converting
    def to_workflow(self) -> Workflow:
        """Build the runtime ``Workflow``, importing ``lambda:``/``function:`` handlers.

        Pipelines and sub-workflows are not looked up here: the runner checks them when a run
        starts, so a file can be loaded before the module that registers them.
        """
        meta, body = self.metadata, self.spec
        steps = [self._build(s, ("spec", "steps", i)) for i, s in enumerate(body.steps)]
        policy = WorkflowExecutionPolicy(mode=ExecutionMode(body.policy.execution),
                                         max_concurrency=body.policy.max_concurrency,
                                         on_failure=ErrorPolicy(body.policy.on_failure))
        try:
            return Workflow(meta.name, steps, domain=meta.domain, description=meta.description,
                            version=meta.version, tags=meta.tags, defaults=body.defaults,
                            execution_policy=policy, schedule=body.schedule)
        except WorkflowValidationError as exc:
            raise self._error(str(exc), _locate(exc, body.steps, meta.name)) from None

    def _build(self, spec: StepSpec, loc: Loc) -> Step:
        common: dict[str, Any] = {
            "config": spec.config, "depends_on": spec.depends_on,
            "on_error": ErrorPolicy(spec.on_error), "description": spec.description,
            "retry_policy": None if spec.retry is None else RetryPolicy(
                **{**spec.retry.model_dump(),
                   "retryable_categories": tuple(spec.retry.retryable_categories)}),
        }
        timeout = spec.timeout_seconds
        try:
            if spec.pipeline is not None:
                return Step.pipeline(spec.name, spec.pipeline, timeout_seconds=timeout, **common)
            if spec.workflow is not None:
                if "timeout_seconds" in spec.model_fields_set:
                    common["timeout_seconds"] = timeout
                return Step.workflow(spec.name, spec.workflow, params=spec.params,
                                     wait=spec.wait_for_completion,
                                     inherit_context=spec.inherit_context, **common)
            if spec.map is not None:
                inner = [self._build(s, (*loc, "map", "steps", i))
                         for i, s in enumerate(spec.map.steps)]
                return Step.map(spec.name, spec.map.items_path, inner, spec.map.max_concurrency,
                                partition_by=spec.map.partition_by, timeout_seconds=timeout,
                                **common)
            if spec.wait is not None:
                return Step(spec.name, StepType.WAIT, timeout_seconds=timeout,
                            duration_seconds=spec.wait.duration_seconds, **common)
            key = spec.kind
            handler = self._resolve(spec.name, str(spec._kind_value(key)), (*loc, key))
            factory = Step.lambda_ if key == "lambda" else Step.from_function
            return factory(spec.name, handler, timeout_seconds=timeout, **common)
        except (ValueError, TypeError) as exc:
            raise self._error(f"step {spec.name!r}: {exc}", loc) from None

    def _resolve(self, step: str, ref: str, loc: Loc) -> Handler:
        module_name, _, qualname = ref.partition(":")
        try:
            target: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                target = getattr(target, part)
        except Exception as exc:  # a user module can fail to import with any exception
            raise self._error(
                f"step {step!r}: cannot load handler {ref!r} ({type(exc).__name__}: {exc}); "
                f"check that module {module_name!r} is importable and defines {qualname!r}",
                loc) from exc
        if isinstance(target, WorkflowStepFunction):
            target = target.fn
        if not callable(target):
            raise self._error(f"step {step!r}: handler {ref!r} is a {type(target).__name__}, "
                              "not a function", loc)
        return target

    def _error(self, message: str, loc: Loc) -> WorkflowSpecError:
        return WorkflowSpecError(message, self._source, _line_at(self._node, loc))


def _step_doc(step: Step, source: str) -> dict[str, Any]:
    """The document form of one runtime step, holding only what differs from the defaults."""
    kind = step.step_type
    doc: dict[str, Any] = {"name": step.name}
    if kind is StepType.PIPELINE:
        doc["pipeline"] = step.pipeline_name
    elif kind is StepType.WORKFLOW:
        doc["workflow"] = step.workflow_name
    elif kind is StepType.MAP:
        doc["map"] = {"items_path": step.items_path, "max_concurrency": step.max_concurrency,
                      "steps": [_step_doc(s, source) for s in step.iterator_steps]}
        if step.partition_by:
            doc["map"]["partition_by"] = step.partition_by
    elif kind is StepType.WAIT:
        doc["wait"] = {"duration_seconds": step.duration_seconds}
    else:
        doc[kind.value] = _exportable_ref(step, source)
    sub = kind is StepType.WORKFLOW
    doc.update(_set_only({
        "description": step.description, "config": dict(step.config),
        "params": dict(step.params) if sub else None,
        "on_error": None if step.on_error is ErrorPolicy.STOP else step.on_error.value,
        "retry": step.retry_policy and step.retry_policy.to_dict(),
        "wait_for_completion": None if step.wait_for_child or not sub else False,
        "inherit_context": None if step.inherit_context or not sub else False}))
    if step.depends_on is not None:  # [] (a root) differs from absent (after the previous step)
        doc["depends_on"] = list(step.depends_on)
    if step.timeout_seconds is not None or sub:  # null = no timeout, absent = 600 s
        doc["timeout_seconds"] = step.timeout_seconds
    return doc


def _set_only(values: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values and ``None`` so exports hold only what was declared (``False`` stays)."""
    return {k: v for k, v in values.items() if v is False or v}


def _exportable_ref(step: Step, source: str) -> str:
    """``module:qualname`` of the step's handler, when importing it gives the handler back."""
    ref = step.handler_ref or "?:?"
    module_name, _, qualname = ref.partition(":")
    if "<" in qualname:
        raise WorkflowSpecError(
            f"step {step.name!r}: handler {ref} is a lambda, closure or nested function, which "
            "a YAML file cannot refer to; define it with `def` at module level in an importable "
            "module and build the step from that function", source)
    target: Any = sys.modules.get(module_name)
    for part in qualname.split(".") if target is not None else ():
        target = getattr(target, part, None)
    if target is None or _unwrap(target) is not _unwrap(step.handler):
        raise WorkflowSpecError(
            f"step {step.name!r}: handler {ref} cannot be imported back as module:qualname; "
            "use a plain function defined at module level in an importable module", source)
    return ref


def _unwrap(fn: Any) -> Any:
    fn = fn.fn if isinstance(fn, WorkflowStepFunction) else fn
    return getattr(fn, "__wrapped__", fn)


def _load(text: str, source: str) -> tuple[yaml.Node, Any]:
    """The composed node tree (for line numbers) and the plain data of one YAML document."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise WorkflowSpecError(f"the document is empty; a workflow starts with "
                                    f"'apiVersion: {API_VERSION}' and 'kind: {KIND}'", source, 1)
        return node, loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = exc.problem or "syntax error"
        if exc.context:
            opened = exc.context_mark
            since = f" started on line {opened.line + 1}" if opened and mark and \
                opened.line != mark.line else ""
            detail += f" ({exc.context}{since})"
        where = f" at column {mark.column + 1}" if mark else ""
        if not isinstance(exc, yaml.constructor.ConstructorError):
            detail += "; check indentation, quotes and brackets"
        raise WorkflowSpecError(f"invalid YAML{where}: {detail}", source,
                                mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise WorkflowSpecError(f"invalid YAML: {exc}", source) from None
    finally:
        loader.dispose()


class _Loader(yaml.SafeLoader):
    """Safe loading that rejects a key repeated in one mapping (YAML keeps only the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[str, yaml.Mark] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            if key.value in first:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key.value!r} appears twice in one mapping (first on line "
                    f"{first[key.value].line + 1}); remove or rename one", key.start_mark)
            first[key.value] = key.start_mark
        return super().construct_mapping(node, deep)


def _check_header(data: Any, node: yaml.Node, source: str) -> None:
    if not isinstance(data, dict):
        got = "a list" if isinstance(data, list) else f"a {type(data).__name__} ({data!r:.40})"
        raise WorkflowSpecError(f"expected a mapping with apiVersion, kind, metadata and spec "
                                f"at the top level, got {got}", source, node.start_mark.line + 1)
    for key, expected in (("apiVersion", API_VERSION), ("kind", KIND)):
        if key not in data:
            raise WorkflowSpecError(f"missing {key}; add '{key}: {expected}' at the top",
                                    source, 1)
        if data[key] != expected:
            raise WorkflowSpecError(f"{key} is {data[key]!r}; expected {expected!r}",
                                    source, _line_at(node, (key,)))


def _line_at(node: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """1-based line of the key at ``loc``, or of the deepest part of it the document has."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value
                          if isinstance(k, yaml.ScalarNode) and k.value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _schema_error(exc: ValidationError, node: yaml.Node | None, source: str) -> WorkflowSpecError:
    """One error for every schema problem, placed at the first one and listing a few more."""
    problems = sorted(((_line_at(node, e["loc"]) or 0, _describe(e)) for e in exc.errors()),
                      key=lambda p: p[0])
    line, message = problems[0]
    message += "".join(f"; also line {n}: {text}" if n else f"; also {text}"
                       for n, text in problems[1:4])
    if len(problems) > 4:
        message += f"; and {len(problems) - 4} more"
    return WorkflowSpecError(message, source, line or None)


def _describe(error: ErrorDetails) -> str:
    loc = error["loc"]
    path = _dotted(loc) or "document"
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(allowed)}"
        return f"{path}: unknown key {key!r}; {hint}"
    if kind == "missing":
        return f"{path}: missing required key {str(loc[-1])!r}"
    message = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    if kind != "value_error" and not isinstance(value, dict | list):
        message += f" (got {value!r})"
    return f"{path}: {message}"


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _allowed_keys(loc: Sequence[str | int]) -> list[str]:
    """The keys the mapping at ``loc`` accepts (its last key names the model), for hints."""
    parent = next((p for p in reversed(loc) if isinstance(p, str)), "")
    model = _MODEL_UNDER.get(parent)
    return [f.alias or n for n, f in model.model_fields.items()] if model else []


def _scopes(steps: Sequence[StepSpec], loc: Loc,
            label: str) -> Iterator[tuple[str, Sequence[StepSpec], Loc]]:
    """Every list of steps validated as one graph: the workflow's, then each map's iterators."""
    yield label, steps, loc
    for i, step in enumerate(steps):
        if step.map is not None:
            yield from _scopes(step.map.steps, (*loc, i, "map", "steps"), f"{label}.{step.name}")


def _locate(exc: WorkflowValidationError, steps: Sequence[StepSpec], workflow: str) -> Loc:
    """Where in the document a graph error of ``Workflow(...)`` comes from (for a cycle: the
    first step on it with an explicit ``depends_on``, the edge a user can change)."""
    for label, group, loc in _scopes(steps, ("spec", "steps"), workflow):
        names = [s.name for s in group]
        if isinstance(exc, DependencyCycleError) and label == exc.workflow:
            on_cycle = [i for i, s in enumerate(group) if s.name in exc.cycle]
            explicit = [i for i in on_cycle if group[i].depends_on is not None]
            return (*loc, (explicit or on_cycle)[0], "depends_on")
        for i, step in enumerate(group):
            if isinstance(exc, DuplicateStepError) and step.name in names[:i]:
                return (*loc, i, "name")
            if isinstance(exc, UnknownDependencyError) \
                    and any(d not in names for d in step.depends_on or ()):
                return (*loc, i, "depends_on")
    return ()


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
MapSpec.model_rebuild()
_MODEL_UNDER: dict[str, type[BaseModel]] = {
    "": WorkflowSpec, "metadata": Metadata, "spec": WorkflowBody, "policy": PolicySpec,
    "steps": StepSpec, "map": MapSpec, "wait": WaitSpec, "retry": RetrySpec}
