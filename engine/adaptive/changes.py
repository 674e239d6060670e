"""Adaptive workflows (spec section 4): the changes a running step may request, and the pure
graph edit that validates a batch of them and yields the workflow's new steps and plan.

A step asks through its context (``ctx.skip_steps``, ``ctx.insert_step_before``, ...). Each
request is checked at once against the run as it stands plus the step's earlier requests, so
a bad one raises ``AdaptiveChangeError`` inside the step (which then fails with category
VALIDATION). The scheduler applies a step's batch atomically once the step has finished, so
the rest of the run follows the new plan; completed steps keep their state. Who may change
what: a step may be skipped, replaced or have a step inserted before it only while it has not
started (or, for insert/replace, after it failed, to run before a ``retry_step``); any step
may have one inserted after it; finished steps may be retried.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..errors import DependencyCycleError, WorkflowError, WorkflowValidationError
from ..graph import Plan, build_plan
from ..policies import ErrorCategory
from ..registry import list_pipelines, list_workflows
from ..results import RunStatus
from ..serialization import to_jsonable
from ..steps import Step, StepType

#: how many times ``retry_step`` may re-run one step in one run (stops retry loops)
MAX_ADAPTIVE_RETRIES = 25
#: the reason recorded on steps skipped by ``ctx.skip_steps`` (they do not block dependents)
ADAPTIVE_SKIP_REASON = "skipped by adaptive change"
#: the reason on steps left unrun when their run continued as a new one
CONTINUED_REASON = "not run: the run continued as new run"

_EDITABLE = frozenset({RunStatus.PENDING, RunStatus.FAILED, RunStatus.CANCELLED})
_STARTED_WORDS = {RunStatus.COMPLETED: "already completed", RunStatus.RUNNING: "already started",
                  RunStatus.FAILED: "already failed", RunStatus.CANCELLED: "been cancelled",
                  RunStatus.SKIPPED: "been skipped"}


class AdaptiveChangeError(WorkflowError):
    """A requested runtime change to a workflow is invalid; the plan stays as it was."""

    category = ErrorCategory.VALIDATION.value


class ChangeKind(StrEnum):
    """What an adaptive change did (the ``change`` of ``AdaptiveChange`` events)."""

    SKIP = "skip"
    INSERT_BEFORE = "insert_before"
    INSERT_AFTER = "insert_after"
    REPLACE = "replace"
    RETRY = "retry"
    SPAWN = "spawn"
    ON_FAILURE = "on_failure"
    CONTINUE_AS_NEW = "continue_as_new"
    CONTINUED_FROM = "continued_from"


#: kinds that change the graph's nodes or edges (their records carry the new graph)
GRAPH_KINDS = frozenset({ChangeKind.INSERT_BEFORE, ChangeKind.INSERT_AFTER, ChangeKind.REPLACE,
                         ChangeKind.ON_FAILURE})


@dataclass(frozen=True, slots=True)
class GraphChange:
    """One applied change of a run's workflow: what (``change``), who asked (``step``; None for
    the engine's own) and JSON-ready ``detail``; graph-changing kinds carry ``detail["graph"]``
    (step names and edges after the change), so a viewer can draw the graph as it ran."""

    change: ChangeKind
    step: str | None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"change": self.change.value, "step": self.step, **self.detail}


@dataclass(frozen=True, slots=True)
class Request:
    """One change a step asked for, kept until the step finishes."""

    kind: ChangeKind
    target: str = ""
    names: tuple[str, ...] = ()
    step: Step | None = None
    params: Mapping[str, Any] | None = None
    detail: Mapping[str, Any] | None = None  # record-only kinds (spawn)


@dataclass(frozen=True, slots=True)
class Replan:
    """The outcome of a valid batch: the new definition and the status effects to apply."""

    steps: tuple[Step, ...]
    plan: Plan
    skipped: tuple[str, ...]
    retried: tuple[str, ...]
    changes: tuple[GraphChange, ...]

    @property
    def reschedules(self) -> bool:
        """Whether the scheduler must recompute what runs next (anything but records)."""
        return any(c.change is not ChangeKind.SPAWN for c in self.changes)


StatusOf = Callable[[str], RunStatus]


def replan(workflow: str, steps: Sequence[Step], plan: Plan, status_of: StatusOf,
           requester: str | None, requests: Sequence[Request],
           retries: Mapping[str, int] | None = None) -> Replan:
    """Apply ``requests`` (in order) to a copy of the graph; raise ``AdaptiveChangeError``
    naming the first invalid one. ``status_of`` gives each existing step's current status."""
    graph = _Graph(workflow, steps, plan, status_of, requester, retries or {})
    changes = [graph.apply(r) for r in requests]
    if not graph.touched:
        return Replan(tuple(steps), plan, (), (), tuple(changes))
    new_steps = graph.materialize()
    try:
        new_plan = build_plan(workflow, new_steps)
    except DependencyCycleError as exc:
        path = " -> ".join([*exc.cycle, exc.cycle[0]])
        raise AdaptiveChangeError(
            f"{graph.who} would create a dependency cycle in workflow {workflow!r}: {path}; "
            "the workflow is unchanged") from None
    except WorkflowValidationError as exc:
        raise AdaptiveChangeError(f"{graph.who} is invalid: {exc}") from None
    shape = {"steps": list(new_plan.names), "edges": [list(e) for e in new_plan.edges()]}
    changes = [GraphChange(c.change, c.step, {**c.detail, "graph": shape})
               if c.change in GRAPH_KINDS else c for c in changes]
    return Replan(new_steps, new_plan, tuple(graph.skipped), tuple(graph.retried),
                  tuple(changes))


class _Graph:
    """A mutable working copy of the graph with resolved, named dependencies."""

    def __init__(self, workflow: str, steps: Sequence[Step], plan: Plan, status_of: StatusOf,
                 requester: str | None, retries: Mapping[str, int]) -> None:
        self.workflow = workflow
        self.requester = requester
        self.who = f"the change requested by step {requester!r}" if requester else "the change"
        self.names = list(plan.names)
        self.defs = dict(zip(plan.names, steps, strict=True))
        self.deps = {n: [plan.names[d] for d in plan.deps[i]] for i, n in enumerate(plan.names)}
        self.status_of = status_of
        self.overlay: dict[str, RunStatus] = {}
        self.retries = retries
        self.skipped: list[str] = []
        self.retried: list[str] = []
        self.touched = False

    # ------------------------------------------------------------------ queries
    def status(self, name: str) -> RunStatus:
        status = self.overlay.get(name)
        return status if status is not None else self.status_of(name)

    def require(self, name: Any, role: str) -> str:
        if not isinstance(name, str) or name not in self.defs:
            hint = difflib.get_close_matches(str(name), self.names, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise AdaptiveChangeError(
                f"{role}: workflow {self.workflow!r} has no step {name!r}{suggestion}")
        return name

    def require_new(self, step: Any, action: str) -> Step:
        if not isinstance(step, Step):
            raise AdaptiveChangeError(
                f"{action} needs a Step (e.g. Step.lambda_(...) or Step.wait(...)), "
                f"got {type(step).__name__}")
        if step.name in self.defs:
            raise AdaptiveChangeError(
                f"{action}: workflow {self.workflow!r} already has a step named {step.name!r}; "
                "give the new step a unique name")
        _check_references(step, action)
        return step

    def explicit_deps(self, step: Step, action: str) -> list[str] | None:
        if step.depends_on is None:
            return None
        return [self.require(d, f"{action}: {step.name!r} depends_on") for d in step.depends_on]

    def editable(self, name: str, action: str) -> RunStatus:
        status = self.status(name)
        if status not in _EDITABLE or name == self.requester:
            word = "is the step asking (it is running)" if name == self.requester else \
                f"has {_STARTED_WORDS.get(status, status.value)}"
            raise AdaptiveChangeError(
                f"{action}: step {name!r} {word}; only steps that have not started (or that "
                "failed, ahead of a retry_step) can be changed")
        return status

    # ------------------------------------------------------------------ edits
    def apply(self, request: Request) -> GraphChange:
        kind = request.kind
        if kind is ChangeKind.SKIP:
            return self.skip(request.names)
        if kind is ChangeKind.INSERT_BEFORE:
            return self.insert_before(request.target, request.step)
        if kind in (ChangeKind.INSERT_AFTER, ChangeKind.ON_FAILURE):
            return self.insert_after(request.target, request.step, kind)
        if kind is ChangeKind.REPLACE:
            return self.replace(request.target, request.step)
        if kind is ChangeKind.RETRY:
            return self.retry(request.target, request.params)
        return GraphChange(kind, self.requester, dict(request.detail or {}))

    def skip(self, names: Sequence[str]) -> GraphChange:
        done: list[str] = []
        for name in names:
            self.require(name, "skip_steps")
            if self.status(name) is RunStatus.SKIPPED:
                continue
            if name == self.requester or self.status(name) is not RunStatus.PENDING:
                word = "is the step asking (it is running)" if name == self.requester else \
                    f"has {_STARTED_WORDS.get(self.status(name), '')}"
                raise AdaptiveChangeError(f"skip_steps: step {name!r} {word}; only steps "
                                          "that have not started can be skipped")
            self.overlay[name] = RunStatus.SKIPPED
            self.skipped.append(name)
            done.append(name)
        self.touched = self.touched or bool(done)
        return GraphChange(ChangeKind.SKIP, self.requester, {"steps": done})

    def insert_before(self, before: str, step: Step | None) -> GraphChange:
        action = "insert_step_before"
        self.require(before, action)
        new = self.require_new(step, action)
        self.editable(before, f"{action}({before!r}, {new.name!r})")
        deps = self.explicit_deps(new, action)
        if deps is None:  # the new step takes over before's dependencies
            deps = list(self.deps[before])
            self.deps[before] = [new.name]
        else:
            self.deps[before] = _unique([*self.deps[before], new.name])
        self.add(new, deps, self.names.index(before))
        return GraphChange(ChangeKind.INSERT_BEFORE, self.requester,
                           {"inserted": new.name, "before": before, "depends_on": deps,
                            "definition": _definition(new)})

    def insert_after(self, after: str, step: Step | None, kind: ChangeKind) -> GraphChange:
        action = "insert_step_after" if kind is ChangeKind.INSERT_AFTER else "on_failure"
        self.require(after, action)
        new = self.require_new(step, action)
        deps = _unique([after, *(self.explicit_deps(new, action) or [])])
        rewired: list[str] = []
        if kind is ChangeKind.INSERT_AFTER:
            for name in self.names:
                if after in self.deps[name] and self.status(name) is RunStatus.PENDING \
                        and name != self.requester:
                    self.deps[name] = _unique([new.name if d == after else d
                                               for d in self.deps[name]])
                    rewired.append(name)
        self.add(new, deps, self.names.index(after) + 1)
        if kind is ChangeKind.ON_FAILURE:
            return GraphChange(kind, after, {"handler": new.name, "failed_step": after})
        return GraphChange(kind, self.requester, {"inserted": new.name, "after": after,
                                                  "depends_on": deps, "rewired": rewired,
                                                  "definition": _definition(new)})

    def replace(self, name: str, step: Step | None) -> GraphChange:
        action = "replace_step"
        self.require(name, action)
        if not isinstance(step, Step):
            raise AdaptiveChangeError(f"{action} needs a Step, got {type(step).__name__}")
        status = self.editable(name, f"{action}({name!r})")
        if step.name != name:
            if status is not RunStatus.PENDING:
                raise AdaptiveChangeError(
                    f"{action}: step {name!r} has {_STARTED_WORDS[status]}, so its replacement "
                    f"must keep the name {name!r} (got {step.name!r})")
            self.require_new(step, action)
        else:
            _check_references(step, action)
        deps = self.explicit_deps(step, action)
        if deps is None:
            deps = self.deps[name]
        if step.name in deps:
            raise AdaptiveChangeError(f"{action}: step {step.name!r} cannot depend on itself")
        if step.name != name:
            at = self.names.index(name)
            self.names[at] = step.name
            del self.defs[name], self.deps[name]
            for other, ds in self.deps.items():
                if name in ds:
                    self.deps[other] = [step.name if d == name else d for d in ds]
            self.overlay[step.name] = RunStatus.PENDING
        self.defs[step.name] = step
        self.deps[step.name] = list(deps)
        self.touched = True
        return GraphChange(ChangeKind.REPLACE, self.requester,
                           {"replaced": name, "with": step.name, "depends_on": list(deps),
                            "definition": _definition(step)})

    def retry(self, name: str, params: Mapping[str, Any] | None) -> GraphChange:
        action = "retry_step"
        self.require(name, action)
        status = self.status(name)
        if name == self.requester:
            raise AdaptiveChangeError(
                f"{action}: step {name!r} cannot retry itself while it runs; give it a "
                "retry_policy, or retry it from a later step or an on_failure handler")
        if status in (RunStatus.PENDING, RunStatus.RUNNING):
            word = "has not run yet" if status is RunStatus.PENDING else "is running"
            raise AdaptiveChangeError(f"{action}: step {name!r} {word}; only a finished step "
                                      "can be retried")
        if params is not None and not isinstance(params, Mapping):
            raise AdaptiveChangeError(f"{action}: with_params must be a dict, got "
                                      f"{type(params).__name__}")
        count = self.retries.get(name, 0) + self.retried.count(name) + 1
        if count > MAX_ADAPTIVE_RETRIES:
            raise AdaptiveChangeError(
                f"{action}: step {name!r} was already retried {MAX_ADAPTIVE_RETRIES} times "
                "by adaptive changes in this run; giving up to avoid an endless loop")
        if params:
            self.defs[name] = self.defs[name].with_changes(
                config={**self.defs[name].config, **params})
        self.overlay[name] = RunStatus.PENDING
        self.retried.append(name)
        self.touched = True
        return GraphChange(ChangeKind.RETRY, self.requester,
                           {"retried": name, "previous_status": status.value,
                            "with_params": _jsonable(dict(params)) if params else None})

    def add(self, step: Step, deps: list[str], at: int) -> None:
        self.names.insert(at, step.name)
        self.defs[step.name] = step
        self.deps[step.name] = deps
        self.overlay[step.name] = RunStatus.PENDING
        self.touched = True

    def materialize(self) -> tuple[Step, ...]:
        """The new step list; dependencies are made explicit only where position no longer
        implies them (``depends_on=None`` means "after the previous step")."""
        out: list[Step] = []
        previous: list[str] = []
        for name in self.names:
            step, want = self.defs[name], self.deps[name]
            implied = previous if step.depends_on is None else list(step.depends_on)
            if implied != want:
                step = step.with_changes(depends_on=tuple(want))
            out.append(step)
            previous = [name]
        return tuple(out)


def _unique(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _check_references(step: Step, action: str) -> None:
    """Fail now, not mid-run, when an added step names an unregistered pipeline or workflow."""
    if step.step_type is StepType.PIPELINE and step.pipeline_name not in list_pipelines():
        raise AdaptiveChangeError(f"{action}: step {step.name!r} runs pipeline "
                                  f"{step.pipeline_name!r}, which is not registered")
    if step.step_type is StepType.WORKFLOW and step.workflow_name not in list_workflows():
        raise AdaptiveChangeError(f"{action}: step {step.name!r} runs workflow "
                                  f"{step.workflow_name!r}, which is not registered")


def _definition(step: Step) -> dict[str, Any]:
    return _jsonable(step.to_dict())  # type: ignore[no-any-return]


def _jsonable(value: Any) -> Any:
    """A JSON-ready copy for event details; values JSON cannot hold become their repr."""
    try:
        return to_jsonable(value)
    except (TypeError, ValueError):
        if isinstance(value, Mapping):
            return {str(k): _jsonable(v) for k, v in value.items()}
        return repr(value)
