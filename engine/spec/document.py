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
inside the running script, as in spec I4, not in another process). An ``approval:`` step takes
its timeout inside ``approval`` (``timeout_seconds`` or ``timeout_hours``, as ``Step.approval``
does) and its description defaults to the message; ``spec.concurrency`` is the workflow's
``ConcurrencyPolicy``, where ``queue_timeout_seconds: null`` means no limit and absent 300 s.
A step's ``skip_if`` (lambda and function steps) is an expression over ``params`` and
``outputs`` in CEL (``engine.expressions``: checked when the file loads, never Python's ``eval``) or a
``module:qualname`` predicate; its ``on_failure`` is a ``module:qualname`` handler only, since
it is an action rather than a condition (not on a map's inner steps, which the map runs).
``spec.executor`` (``threads``, ``processes``, ``dask``) and a step's ``executor`` say where
handlers run (a run's own choice, e.g. ``--executor``, sits between the two); ``spec.scheduler``
is the Dask scheduler of every dask step, allowed only where something runs on dask and
never on a step (one cluster per workflow).
``spec.triggers`` lists the events that start the workflow (``engine.triggers.declare``); they
are not part of the runtime ``Workflow`` (``to_triggers`` builds them, discovery lists them on
the catalog), so a document read and written back keeps them while ``from_workflow`` has none.

Spec §8's calculation steps (``calculate``, ``risk``, ``aggregate``, ``validate``:
``engine.spec.calc_steps``) and spec §3's data steps (``source``, ``transform``, ``sink``:
``engine.spec.data_steps``) are step kinds of their own, each section mirroring its runtime
class; a relative rules file, ``connection`` or ``path`` in a file read by ``from_file`` starts
from that file's folder and is written back as the absolute path the runtime step holds.

The models live in ``models``, YAML reading and error placement in
``locate``, runtime conversion in ``convert``; this module is the API.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, PrivateAttr, ValidationError

from ..errors import WorkflowSpecError, WorkflowValidationError
from ..policies import ErrorPolicy, ExecutionMode, WorkflowExecutionPolicy
from ..triggers.trigger import EventTrigger
from ..workflow import Workflow
from .alerts import alert_policy
from .convert import build_step, concurrency_policy, dump_yaml, workflow_doc
from .locate import Loc, check_header, line_at, load_document, locate, schema_error
from .models import (
    API_VERSION,
    KIND,
    STEP_KINDS,
    STRICT_MODEL,
    ApprovalSpec,
    ConcurrencySpec,
    MapSpec,
    Metadata,
    PolicySpec,
    RetrySpec,
    StepSpec,
    WaitSpec,
    WorkflowBody,
)

__all__ = [
    "API_VERSION",
    "KIND",
    "STEP_KINDS",
    "ApprovalSpec",
    "ConcurrencySpec",
    "MapSpec",
    "Metadata",
    "PolicySpec",
    "RetrySpec",
    "StepSpec",
    "WaitSpec",
    "WorkflowBody",
    "WorkflowSpec",
]


class WorkflowSpec(BaseModel):
    """A workflow as a ``spine.io/v1`` document: parse, validate, export and convert.

    Two specs are equal when they declare the same document; where they were read from does
    not count.
    """

    model_config = STRICT_MODEL
    api_version: Literal["spine.io/v1"] = Field(alias="apiVersion")
    kind: Literal["Workflow"]
    metadata: Metadata
    spec: WorkflowBody

    _source: str = PrivateAttr("<string>")
    _node: yaml.Node | None = PrivateAttr(None)
    _base: Path | None = PrivateAttr(None)

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
        node, data = load_document(text, source)
        check_header(data, node, source)
        try:
            spec = cls.model_validate(data)
        except ValidationError as exc:
            raise schema_error(exc, node, source, cls) from None
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
        spec = cls.from_yaml(text, source=source)
        spec._base = Path(path).absolute().parent  # relative data and rules files start here
        return spec

    @classmethod
    def from_workflow(cls, workflow: Workflow | Any) -> WorkflowSpec:
        """Describe a runtime workflow (or ``ManagedWorkflow``); its handlers must be importable
        module-level functions."""
        workflow = workflow if isinstance(workflow, Workflow) else workflow.workflow
        source = f"<workflow {workflow.name}>"
        doc = workflow_doc(workflow, source)
        try:
            spec = cls.model_validate(doc)
        except ValidationError as exc:
            raise schema_error(exc, None, source, cls) from None
        spec._source = source
        return spec

    # ------------------------------------------------------------------ writing
    def to_dict(self) -> dict[str, Any]:
        """The document as plain data (aliased keys; keys never set are left out)."""
        return self.model_dump(by_alias=True, exclude_unset=True)

    def to_yaml(self) -> str:
        """The document as YAML text that ``from_yaml`` reads back to an equal spec."""
        try:
            return dump_yaml(self.to_dict())
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
        steps = [build_step(s, ("spec", "steps", i), self._error, self._base)
                 for i, s in enumerate(body.steps)]
        policy = WorkflowExecutionPolicy(mode=ExecutionMode(body.policy.execution),
                                         max_concurrency=body.policy.max_concurrency,
                                         on_failure=ErrorPolicy(body.policy.on_failure))
        try:
            return Workflow(meta.name, steps, domain=meta.domain, description=meta.description,
                        version=meta.version, tags=meta.tags, defaults=body.defaults,
                        execution_policy=policy, schedule=body.schedule,
                        concurrency=concurrency_policy(body.concurrency),
                        alerts=alert_policy(body.alerts), executor=body.executor,
                        scheduler=body.scheduler)
        except WorkflowValidationError as exc:
            raise self._error(str(exc), locate(exc, body.steps, meta.name)) from None

    def to_triggers(self) -> list[EventTrigger]:
        """The ``spec.triggers`` as ``EventTrigger``s that start this workflow (checked when the
        document was read). Triggers stay out of the runtime ``Workflow``: discovery carries
        them beside it, so ``from_workflow`` exports a workflow without them."""
        return [spec.to_trigger(self.metadata.name) for spec in self.spec.triggers]

    def _error(self, message: str, loc: Loc) -> WorkflowSpecError:
        return WorkflowSpecError(message, self._source, line_at(self._node, loc))
