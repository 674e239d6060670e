"""The ``Workflow`` definition: named, validated, immutable list of steps plus run policy."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .alerts.policy import AlertPolicy
from .cron import CronError, check_cron
from .errors import UnknownStepError, WorkflowValidationError
from .executor_names import check_executor_name, check_scheduler_address
from .graph import Plan, build_plan
from .policies import ExecutionMode, WorkflowExecutionPolicy
from .secrets.errors import SecretReferenceError
from .secrets.references import check_references
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


_EVERY = re.compile(r"every_(\d+)_(steps?|mins?|minutes?)")
_LOCAL_STORES = ("sqlite", "local")
_REMOTE_STORES = ("redis", "s3", "postgres", "postgresql")
_FREQUENCY_HINT = "'per_step', 'every_<N>_steps' (e.g. 'every_10_steps') or 'every_<N>_min'"


@dataclass(frozen=True, slots=True)
class CheckpointConfig:
    """When a run's state is committed for recovery after a crash, and where (spec §10).

    ``frequency="per_step"`` is what every tracked run (``TrackedWorkflowRunner``,
    ``start_run``, the CLI and the TUI) already does: the recorder commits each finished
    step's status and output in one transaction before the next step starts, and
    ``TrackedWorkflowRunner.resume`` / ``CheckpointStore.load`` restore from that commit.
    ``"every_N_steps"`` and ``"every_N_min"`` are validated and kept on the workflow (and in
    ``to_dict()``), but the recorder still commits after every step: a run is never
    checkpointed less often than asked, and that commit is also the run history that screens,
    ``retry`` and ``resume`` read. Likewise ``enabled=False`` records the author's intent and
    does not stop a tracked run from being recorded. A plain ``WorkflowRunner`` keeps its run
    in memory only, whatever this says.

    ``store`` names where checkpoints live: only the local SQLite run store exists
    (``"sqlite"``, or its alias ``"local"``: the file the tracked runner writes), so
    ``"redis"``, ``"s3"`` and ``"postgres"`` are refused rather than silently replaced.
    ``retention_days`` is validated and kept: a run's step commits are its history and
    nothing expires runs today; how long a run's artifacts outlive it is
    ``Workflow(artifact_retention=ArtifactRetention(...))``.
    """

    enabled: bool = True
    frequency: str = "per_step"
    store: str | None = "sqlite"
    retention_days: float | None = 7

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise WorkflowValidationError(
                f"CheckpointConfig.enabled must be True or False, got {self.enabled!r}")
        self._interval()  # a bad frequency fails here, not when a run starts
        store = "sqlite" if self.store is None else self.store
        if not isinstance(store, str) or store.strip().lower() not in _LOCAL_STORES:
            remote = isinstance(store, str) and store.strip().lower() in _REMOTE_STORES
            kind = "is not available" if remote else "is not a checkpoint store"
            raise WorkflowValidationError(
                f"CheckpointConfig.store={store!r} {kind}: only the local SQLite run store "
                "exists (checkpoints are the step commits in the file the tracked runner "
                "writes, TrackedWorkflowRunner(store=PATH)); use store='sqlite', the default")
        object.__setattr__(self, "store", "sqlite")
        days = self.retention_days
        if days is not None and (isinstance(days, bool) or not isinstance(days, int | float)
                                 or days <= 0):
            raise WorkflowValidationError(
                f"CheckpointConfig.retention_days must be a number of days > 0 or None, "
                f"got {days!r}")

    @property
    def every_steps(self) -> int | None:
        """Steps between two checkpoints (1 for ``per_step``), or None for a time interval."""
        return self._interval()[0]

    @property
    def every_seconds(self) -> float | None:
        """Seconds between two checkpoints for ``every_N_min``, else None."""
        return self._interval()[1]

    def _interval(self) -> tuple[int | None, float | None]:
        text = self.frequency.strip().lower() if isinstance(self.frequency, str) else ""
        if text == "per_step":
            return 1, None
        match = _EVERY.fullmatch(text)
        if match is None or int(match.group(1)) < 1:
            raise WorkflowValidationError(
                f"CheckpointConfig.frequency must be {_FREQUENCY_HINT}, with N >= 1; "
                f"got {self.frequency!r}")
        count = int(match.group(1))
        return (count, None) if match.group(2).startswith("step") else (None, count * 60.0)

    def to_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "frequency": self.frequency, "store": self.store,
                "retention_days": self.retention_days}


class Workflow:
    """A named DAG of steps, validated at construction.

    ``defaults`` are default run params (a run's own params override them), as in
    Prefect's flow parameters with defaults. ``schedule`` is an optional cron
    expression, kept as metadata for triggers and the catalog. ``concurrency`` limits runs in
    flight across processes (see ``ConcurrencyPolicy``; tracked runs only).
    ``artifact_retention`` (an ``ArtifactRetention``) is applied to a tracked run's artifacts
    when the run ends. ``checkpoint_config`` (a ``CheckpointConfig``) says how the run's state
    is committed for recovery; None, the default, is what tracked runs do: every step.
    ``alerts`` (an ``AlertPolicy``, spec §15b) says whom a tracked run alerts when it fails,
    runs slow or waits for an approval. ``executor`` (``threads``, ``processes``, ``dask``)
    is where its handlers run unless the run or a step says otherwise; ``scheduler``
    (``tcp://HOST:PORT``) is the Dask cluster its ``dask`` steps use (None: a local cluster
    started for the run).
    """

    __slots__ = ("name", "steps", "domain", "description", "version", "tags", "defaults",
                 "execution_policy", "schedule", "concurrency", "artifact_retention",
                 "checkpoint_config", "alerts", "executor", "scheduler", "_plan")

    def __init__(self, name: str, steps: Iterable[Step], domain: str = "",
                 description: str = "", version: int = 1, tags: Iterable[str] = (),
                 defaults: Mapping[str, Any] | None = None,
                 execution_policy: WorkflowExecutionPolicy | None = None,
                 schedule: str | None = None,
                 concurrency: ConcurrencyPolicy | None = None,
                 artifact_retention: Any = None,
                 checkpoint_config: CheckpointConfig | None = None,
                 alerts: AlertPolicy | None = None, executor: str | None = None,
                 scheduler: str | None = None) -> None:
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
        if checkpoint_config is not None and not isinstance(checkpoint_config, CheckpointConfig):
            raise WorkflowValidationError(
                f"workflow {name!r}: checkpoint_config must be a CheckpointConfig, "
                f"got {type(checkpoint_config).__name__}")
        self.checkpoint_config = checkpoint_config
        if alerts is not None and not isinstance(alerts, AlertPolicy):
            raise WorkflowValidationError(
                f"workflow {name!r}: alerts must be an AlertPolicy, got {type(alerts).__name__}")
        self.alerts = alerts
        try:  # where handlers run unless the run or a step says otherwise (engine.executors)
            self.executor = check_executor_name(f"workflow {name!r}", executor)
        except ValueError as exc:
            raise WorkflowValidationError(str(exc)) from None
        try:  # the Dask scheduler its dask steps run on (None: a local cluster for the run)
            self.scheduler = None if scheduler is None else check_scheduler_address(scheduler)
        except ValueError as exc:
            raise WorkflowValidationError(f"workflow {name!r}: {exc}") from None
        self._plan = build_plan(name, self.steps)
        for step in _walk(self.steps):
            if step.step_type is StepType.MAP:
                build_plan(f"{name}.{step.name}", step.iterator_steps)
            _check_secret_references(name, step)

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

    def with_steps(self, steps: Iterable[Step]) -> Workflow:
        """This workflow with other steps (validated again); every other setting is kept."""
        copy = object.__new__(Workflow)
        for slot in Workflow.__slots__:
            object.__setattr__(copy, slot, getattr(self, slot))
        copy.steps = tuple(steps)
        copy._plan = build_plan(self.name, copy.steps)
        return copy

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
        if self.checkpoint_config is not None:
            data["checkpoint_config"] = self.checkpoint_config.to_dict()
        if self.alerts is not None:
            data["alerts"] = self.alerts.to_dict()
        if self.executor is not None:
            data["executor"] = self.executor
        if self.scheduler is not None:
            data["scheduler"] = self.scheduler
        return data

    def __repr__(self) -> str:
        return f"Workflow(name={self.name!r}, steps={len(self.steps)}, version={self.version})"


def _walk(steps: Iterable[Step]) -> Iterable[Step]:
    for step in steps:
        yield step
        if step.iterator_steps:
            yield from _walk(step.iterator_steps)


def _check_secret_references(workflow: str, step: Step) -> None:
    """A malformed ``secret:`` reference in a step's config is a definition error, found when
    the workflow is built (validate, load, the API), not when the step finally runs."""
    try:
        check_references(step.config)
    except SecretReferenceError as exc:
        raise WorkflowValidationError(
            f"workflow {workflow!r}: step {step.name!r}: {exc.reason}") from None


def _valid_schedule(workflow: str, schedule: str | None) -> str | None:
    """Cron expressions, with an optional ``CRON_TZ=Zone`` prefix, are checked by
    ``engine.cron`` (croniter is imported only when a schedule is set)."""
    if not schedule:
        return None
    try:
        return check_cron(schedule)
    except CronError as exc:
        raise WorkflowValidationError(f"workflow {workflow!r}: schedule {exc}") from None
