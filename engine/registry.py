"""Process-wide registries: pipeline handlers (for ``Step.pipeline``) and workflows
(for ``Step.workflow``), with sub-workflow cycle detection at registration time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .errors import UnknownPipelineError, UnknownWorkflowError, WorkflowCycleError
from .workflow import Workflow

_lock = threading.RLock()
_pipelines: dict[str, Callable[..., Any]] = {}
_workflows: dict[str, Workflow] = {}


def register_pipeline(name: str, handler: Callable[..., Any], *, replace: bool = True) -> None:
    """Make ``handler`` runnable as ``Step.pipeline(step_name, name)``.

    A handler taking ``(ctx, config)`` is called like a lambda step; any other callable gets
    keyword arguments like ``Step.from_function``. Re-registering replaces (hot reload).
    """
    if not name or not isinstance(name, str):
        raise ValueError(f"pipeline name must be a non-empty string, got {name!r}")
    target = getattr(handler, "fn", handler)  # accept @workflow_step objects
    if not callable(target):
        raise TypeError(f"pipeline {name!r}: handler must be callable, got {type(handler).__name__}")
    with _lock:
        if not replace and name in _pipelines:
            raise ValueError(f"pipeline {name!r} is already registered")
        _pipelines[name] = target


def get_pipeline(name: str) -> Callable[..., Any]:
    try:
        return _pipelines[name]
    except KeyError:
        raise UnknownPipelineError([name]) from None


def list_pipelines() -> list[str]:
    return sorted(_pipelines)


def unregister_pipeline(name: str) -> None:
    with _lock:
        _pipelines.pop(name, None)


def register_workflow(workflow: Any) -> Workflow:
    """Make ``workflow`` callable as ``Step.workflow(step_name, workflow.name)``.

    Raises ``WorkflowCycleError`` when the registered workflows would call each other in a
    loop. Accepts a ``Workflow`` or anything with a ``.workflow`` (``ManagedWorkflow``).
    """
    wf = workflow if isinstance(workflow, Workflow) else getattr(workflow, "workflow", None)
    if not isinstance(wf, Workflow):
        raise TypeError(f"register_workflow needs a Workflow, got {type(workflow).__name__}")
    with _lock:
        candidate = dict(_workflows)
        candidate[wf.name] = wf
        chain = _find_call_cycle(wf.name, candidate)
        if chain:
            raise WorkflowCycleError(chain)
        _workflows[wf.name] = wf
    return wf


def get_workflow(name: str) -> Workflow:
    try:
        return _workflows[name]
    except KeyError:
        raise UnknownWorkflowError([name]) from None


def list_workflows() -> list[str]:
    return sorted(_workflows)


def unregister_workflow(name: str) -> None:
    with _lock:
        _workflows.pop(name, None)


def missing_references(workflow: Workflow) -> tuple[list[str], list[str]]:
    """Pipelines and sub-workflows ``workflow`` names that are not registered."""
    pipelines = [p for p in workflow.pipeline_names() if p not in _pipelines]
    workflows = [w for w in workflow.workflow_names()
                 if w not in _workflows and w != workflow.name]
    return pipelines, workflows


def _find_call_cycle(start: str, workflows: dict[str, Workflow]) -> list[str]:
    """A call chain start -> ... -> start through registered workflows, or []."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    visited: set[str] = set()
    while stack:
        name, path = stack.pop()
        wf = workflows.get(name)
        if wf is None:
            continue
        for child in wf.workflow_names():
            if child == start:
                return [*path, child]
            if child not in visited:
                visited.add(child)
                stack.append((child, [*path, child]))
    return []
