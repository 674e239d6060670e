"""The graph a stored run ran: its definition with the run's recorded adaptive changes applied.

A step that inserts or replaces steps changes its run's plan, and the store keeps each change
(an ``adaptive_change`` event carrying the new step's definition and the graph after it). A
resume, a retry or the playground opening that run needs those steps back, or the steps
they ran would be unknown and the ones still to run would be lost. Inserted and replacing
steps are rebuilt from their recorded definitions, handlers imported by ``module:qualname``
(so they must be module-level functions; a lambda cannot be rebuilt in another process).
Steps the engine adds itself (``on_failure`` handlers) are left out: they are added again
when their step fails again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import WorkflowError
from ..policies import ErrorPolicy, RetryPolicy
from ..refs import import_ref, is_ref
from ..steps import ApprovalGate, Step, StepType
from ..workflow import Workflow


class UnrebuildableStepError(WorkflowError):
    """A recorded step cannot be rebuilt (its handler is not importable, or its kind is not
    recorded in full); the message names the step and says how to fix it."""


def as_ran(workflow: Workflow, changes: Iterable[Mapping[str, Any]]) -> Workflow:
    """``workflow`` as the run with these recorded ``adaptive_change`` details left it
    (unchanged when none of them changed the graph)."""
    steps = {step.name: step for step in workflow.steps}
    graph: Mapping[str, Any] | None = None
    for change in changes:
        definition = change.get("definition")
        if isinstance(definition, Mapping):
            step = step_from_record(definition)
            steps[step.name] = step
        if isinstance(change.get("graph"), Mapping):
            graph = change["graph"]
    if graph is None:
        return workflow
    names = [name for name in graph.get("steps", ()) if name in steps]
    kept = set(names)
    deps: dict[str, list[str]] = {name: [] for name in names}
    for up, down in graph.get("edges", ()):
        if up in kept and down in kept:
            deps[down].append(up)
    return workflow.with_steps([steps[name].with_changes(depends_on=deps[name])
                                for name in names])


def step_from_record(data: Mapping[str, Any]) -> Step:
    """The ``Step`` a recorded definition (``Step.to_dict()``) describes."""
    name = str(data.get("name", ""))
    kind = StepType(data.get("type", "lambda"))
    if kind in (StepType.MAP,):
        raise UnrebuildableStepError(
            f"step {name!r} was added to the run as a {kind.value} step, whose inner steps are "
            "not recorded; add it to the workflow's definition instead of inserting it")
    retry = data.get("retry_policy")
    approval = data.get("approval")
    return Step(
        name=name, step_type=kind, handler=_handler(name, data.get("handler")),
        pipeline_name=data.get("pipeline"), workflow_name=data.get("workflow"),
        config=dict(data.get("config") or {}), depends_on=None,
        on_error=ErrorPolicy(data.get("on_error", ErrorPolicy.STOP.value)),
        retry_policy=RetryPolicy(**retry) if isinstance(retry, Mapping) else None,
        timeout_seconds=data.get("timeout_seconds"), description=data.get("description", ""),
        params=dict(data.get("params") or {}), wait_for_child=data.get("wait", True),
        inherit_context=data.get("inherit_context", True),
        duration_seconds=float(data.get("duration_seconds") or 0.0),
        gate=ApprovalGate(**approval) if isinstance(approval, Mapping) else None,
        skip_if=_skip_if(name, data.get("skip_if")),
        on_failure=_handler(name, data.get("on_failure")))


def _skip_if(step: str, recorded: Any) -> Any:
    """A recorded ``skip_if``: a ``module:qualname`` predicate, else expression text."""
    if isinstance(recorded, str) and is_ref(recorded):
        return _handler(step, recorded)
    return recorded


def _handler(step: str, ref: Any) -> Any:
    if not ref:
        return None
    try:
        return import_ref(str(ref))
    except Exception as exc:  # a user module can fail to import with any exception
        raise UnrebuildableStepError(
            f"step {step!r} was added to the run with handler {ref!r}, which cannot be "
            f"imported ({type(exc).__name__}: {exc}); handlers of inserted steps must be "
            "module-level functions of an importable module") from exc
