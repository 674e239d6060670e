"""The ``Workflow`` definition: named, validated, immutable list of steps plus run policy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import UnknownStepError, WorkflowValidationError
from .graph import Plan, build_plan
from .policies import ExecutionMode, WorkflowExecutionPolicy
from .steps import Step, StepType


class OnConflict(StrEnum):
    """What a run does when its workflow already has ``max_concurrent_runs`` runs in flight."""

    QUEUE = "queue"
    SKIP = "skip"
    CANCEL_EXISTING = "cancel_existing"


@dataclass(frozen=True, slots=True)
class ConcurrencyPolicy:
    """Limits how many runs of one workflow are in flight at once, across processes (spec 13c).

    Enforced by tracked runs through the store: runs that are ``running``, ``paused`` or
    ``waiting`` hold a slot. On conflict a run either queues (status ``queued``, first come
    first served) until a slot frees or ``queue_timeout_seconds`` pass (then it fails with
    category TIMEOUT), is recorded ``skipped``, or cancels the oldest runs in flight and waits
    for their slot (``cancel_existing``, like Temporal's terminate-if-running). ``None``
    waits forever.
    """

    max_concurrent_runs: int = 1
    on_conflict: OnConflict | str = OnConflict.QUEUE
    queue_timeout_seconds: float | None = 300.0

    def __post_init__(self) -> None:
        if not isinstance(self.max_concurrent_runs, int) or self.max_concurrent_runs < 1:
            raise WorkflowValidationError(
                f"ConcurrencyPolicy.max_concurrent_runs must be an int >= 1, "
                f"got {self.max_concurrent_runs!r}")
        try:
            object.__setattr__(self, "on_conflict", OnConflict(self.on_conflict))
        except ValueError:
            choices = ", ".join(repr(c.value) for c in OnConflict)
            raise WorkflowValidationError(
                f"ConcurrencyPolicy.on_conflict must be one of {choices}, "
                f"got {self.on_conflict!r}") from None
        if self.queue_timeout_seconds is not None and self.queue_timeout_seconds < 0:
            raise WorkflowValidationError("ConcurrencyPolicy.queue_timeout_seconds must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return {"max_concurrent_runs": self.max_concurrent_runs,
                "on_conflict": OnConflict(self.on_conflict).value,
                "queue_timeout_seconds": self.queue_timeout_seconds}


class Workflow:
    """A named DAG of steps, validated at construction.

    ``defaults`` are default run params (a run's own params override them), as in
    Prefect's flow parameters with defaults. ``schedule`` is an optional cron
    expression, kept as metadata for triggers and the catalog. ``concurrency`` limits runs in
    flight across processes (see ``ConcurrencyPolicy``; tracked runs only).
    ``artifact_retention`` (an ``ArtifactRetention``) is applied to a tracked run's artifacts
    when the run ends.
    """

    __slots__ = ("name", "steps", "domain", "description", "version", "tags", "defaults",
                 "execution_policy", "schedule", "concurrency", "artifact_retention", "_plan")

    def __init__(self, name: str, steps: Iterable[Step], domain: str = "",
                 description: str = "", version: int = 1, tags: Iterable[str] = (),
                 defaults: Mapping[str, Any] | None = None,
                 execution_policy: WorkflowExecutionPolicy | None = None,
                 schedule: str | None = None,
                 concurrency: ConcurrencyPolicy | None = None,
                 artifact_retention: Any = None) -> None:
        if not isinstance(name, str) or not name.strip():
            raise WorkflowValidationError(f"a workflow needs a non-empty name, got {name!r}")
        step_list = list(steps)
        for i, step in enumerate(step_list):
            if not isinstance(step, Step):
                as_step = getattr(step, "as_step", None)
                hint = " (call .as_step() on a @workflow_step function)" if as_step else ""
                raise WorkflowValidationError(
                    f"workflow {name!r}: item {i} of steps is a {type(step).__name__}, "
                    f"not a Step{hint}"
                )
        if not isinstance(version, int) or version < 1:
            raise WorkflowValidationError(f"workflow {name!r}: version must be an int >= 1")
        self.name = name
        self.steps: tuple[Step, ...] = tuple(step_list)
        self.domain = domain
        self.description = description
        self.version = version
        self.tags: list[str] = list(tags or [])
        self.defaults: dict[str, Any] = dict(defaults or {})
        self.execution_policy = execution_policy or WorkflowExecutionPolicy()
        self.schedule = _valid_schedule(name, schedule)
        if concurrency is not None and not isinstance(concurrency, ConcurrencyPolicy):
            raise WorkflowValidationError(
                f"workflow {name!r}: concurrency must be a ConcurrencyPolicy, "
                f"got {type(concurrency).__name__}")
        self.concurrency = concurrency
        if artifact_retention is not None and not callable(getattr(artifact_retention, "apply",
                                                                    None)):
            raise WorkflowValidationError(
                f"workflow {name!r}: artifact_retention must be an ArtifactRetention, "
                f"got {type(artifact_retention).__name__}")
        self.artifact_retention = artifact_retention
        self._plan = build_plan(name, self.steps)
        for step in _walk(self.steps):
            if step.step_type is StepType.MAP:
                build_plan(f"{name}.{step.name}", step.iterator_steps)

    @property
    def plan(self) -> Plan:
        """The resolved DAG (edges, topological order)."""
        return self._plan

    @property
    def mode(self) -> ExecutionMode:
        return self.execution_policy.mode

    def get_step(self, name: str) -> Step:
        i = self._plan.index.get(name)
        if i is None:
            raise UnknownStepError(f"workflow {self.name!r} has no step {name!r}")
        return self.steps[i]

    def step_names(self) -> list[str]:
        return list(self._plan.names)

    def pipeline_names(self) -> list[str]:
        """Every pipeline the workflow (including map iterators) refers to, in order, unique."""
        seen: dict[str, None] = {}
        for step in _walk(self.steps):
            if step.step_type is StepType.PIPELINE and step.pipeline_name:
                seen.setdefault(step.pipeline_name)
        return list(seen)

    def workflow_names(self) -> list[str]:
        """Every sub-workflow the workflow refers to, in order, unique."""
        seen: dict[str, None] = {}
        for step in _walk(self.steps):
            if step.step_type is StepType.WORKFLOW and step.workflow_name:
                seen.setdefault(step.workflow_name)
        return list(seen)

    def dependencies(self, name: str) -> list[str]:
        """Names of the steps ``name`` waits for (after resolving ``depends_on=None``)."""
        self.get_step(name)
        return self._plan.dependencies_of(name)

    def to_dict(self) -> dict[str, Any]:
        policy = self.execution_policy
        data: dict[str, Any] = {
            "name": self.name,
            "domain": self.domain,
            "description": self.description,
            "version": self.version,
            "tags": list(self.tags),
            "defaults": dict(self.defaults),
            "execution_policy": {
                "mode": policy.mode.value,
                "max_concurrency": policy.max_concurrency,
                "on_failure": policy.on_failure.value,
            },
            "steps": [s.to_dict() for s in self.steps],
        }
        if self.schedule:
            data["schedule"] = self.schedule
        if self.concurrency is not None:
            data["concurrency"] = self.concurrency.to_dict()
        return data

    def __repr__(self) -> str:
        return f"Workflow(name={self.name!r}, steps={len(self.steps)}, version={self.version})"


def _walk(steps: Iterable[Step]) -> Iterable[Step]:
    for step in steps:
        yield step
        if step.iterator_steps:
            yield from _walk(step.iterator_steps)


def _valid_schedule(workflow: str, schedule: str | None) -> str | None:
    """Cron expressions are checked with croniter (imported only when a schedule is set)."""
    if not schedule:
        return None
    from croniter import croniter

    if not croniter.is_valid(schedule):
        raise WorkflowValidationError(
            f"workflow {workflow!r}: schedule {schedule!r} is not a valid cron expression "
            "(five fields: minute hour day-of-month month day-of-week, e.g. '0 6 * * *')")
    return schedule
