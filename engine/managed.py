"""``ManagedWorkflow``: a fluent builder for chains of plain functions, with run and show."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .alerts.policy import AlertPolicy
from .errors import WorkflowError
from .executors import Executor
from .expressions import Expression
from .policies import ErrorPolicy, RetryPolicy, WorkflowExecutionPolicy
from .results import RunStatus, WorkflowResult
from .runner import WorkflowRunner
from .secrets.masking import mask
from .serialization import to_json
from .sources import SourceRef
from .steps import Step
from .tracking import TrackedWorkflowRunner
from .workflow import Workflow

_ICONS = {RunStatus.COMPLETED: "✅", RunStatus.FAILED: "❌", RunStatus.SKIPPED: "⏭",
          RunStatus.CANCELLED: "⛔", RunStatus.PENDING: "…", RunStatus.RUNNING: "▶"}


class ManagedWorkflow:
    """Build with ``.step(...)``, freeze with ``.build()``, then ``.run()`` and ``.show()``.

    Each plain function receives keyword arguments from its step config, the run params,
    then earlier outputs (latest wins); its returned dict is the step's output.
    ``db`` names a run-store file: every run is then recorded there (see
    ``TrackedWorkflowRunner``). ``skip_if`` and ``on_failure`` on a step and ``on_failure``
    on the workflow add spec R3's conditional stages and failure handling (see those methods).
    ``alerts`` (an ``AlertPolicy``) is passed to the built ``Workflow``. ``executor`` says
    where handlers run (``"threads"``, ``"processes"``, ``"dask"``, or an ``Executor`` you
    start and close): a name is kept on the ``Workflow`` (so ``spine-engine run`` uses it
    too), an instance is used by ``.run()``.
    """

    def __init__(self, name: str, db: str | None = None, *, domain: str = "",
                 description: str = "", tags: Iterable[str] = (),
                 execution_policy: WorkflowExecutionPolicy | None = None,
                 alerts: AlertPolicy | None = None,
                 executor: str | Executor | None = None) -> None:
        self.name = name
        self.executor = executor
        self.db = db
        self.domain = domain
        self.description = description
        self.tags = list(tags)
        self.execution_policy = execution_policy
        self.alerts = alerts
        self._steps: list[Step] = []
        self._workflow: Workflow | None = None
        self.last_result: WorkflowResult | None = None
        self._tracked: Any = None
        self._on_failure: Callable[..., Any] | None = None

    def step(self, name: str, fn: Callable[..., Any], config: Mapping[str, Any] | None = None,
             depends_on: Iterable[str] | None = None, on_error: ErrorPolicy = ErrorPolicy.STOP,
             retry_policy: RetryPolicy | None = None,
             timeout_seconds: float | None = None,
             skip_if: Callable[..., Any] | Expression | str | None = None,
             on_failure: Callable[..., Any] | None = None, *, parallel: bool = False,
             partition_key: str | None = None, max_workers: int | None = None,
             executor: str | None = None) -> ManagedWorkflow:
        """Add a step calling ``fn``.

        ``skip_if`` is asked right before the step would run: a function called like a step
        function (keyword arguments from config, params and earlier outputs; a parameter named
        ``ctx`` gets the context, whose ``ctx.get(key)`` reads a param or earlier output), or
        an expression over ``params`` and ``outputs`` such as ``"params.dry_run"``. When it is
        true the step is ``skipped`` (its dependents still run). ``on_failure`` handles this
        step's failures instead of the workflow's ``on_failure`` (see that method).

        ``parallel=True`` fans out (spec R5): ``fn`` runs once per partition of the previous
        step's output (its list, its ``partitions`` list, the list under ``partition_key`` +
        "s", or its only list), each call getting the partition as ``partition_key``
        (``quarter=...``; a dict partition gives its keys), at most ``max_workers`` at once
        (default 4), on the step's ``executor`` or the run's. The step's output is
        ``{"results": [...], "count": n}`` in partition order; ``retry_policy`` and
        ``timeout_seconds`` apply to each call. ``executor`` alone moves one step elsewhere.
        """
        self._check_open("add steps")
        target = getattr(fn, "fn", fn)  # accept @workflow_step objects
        step = Step.from_function(
            name, target, config=config, depends_on=None if parallel else depends_on,
            on_error=on_error, retry_policy=retry_policy, timeout_seconds=timeout_seconds,
            skip_if=skip_if, on_failure=None if parallel else on_failure)
        if parallel:
            step = self._fan_out(step, depends_on, on_error, on_failure, partition_key,
                                 max_workers)
        elif partition_key is not None or max_workers is not None:
            raise ValueError(f"step {name!r}: partition_key and max_workers need parallel=True")
        self._steps.append(step if executor is None else step.with_changes(executor=executor))
        return self

    def _fan_out(self, inner: Step, depends_on: Iterable[str] | None, on_error: ErrorPolicy,
                 on_failure: Callable[..., Any] | None, partition_key: str | None,
                 max_workers: int | None) -> Step:
        """The map step ``parallel=True`` stands for: ``inner`` once per partition."""
        deps = list(depends_on) if depends_on is not None else None
        if deps is not None and len(deps) != 1:
            raise ValueError(f"parallel step {inner.name!r} fans out over one step's output; "
                             f"give depends_on one step, not {deps!r}")
        source = deps[0] if deps else (self._steps[-1].name if self._steps else None)
        if source is None:
            raise ValueError(f"parallel step {inner.name!r} needs an earlier step whose output "
                             "lists the partitions")
        if inner.skip_if is not None:
            raise ValueError(f"parallel step {inner.name!r}: skip_if is not available on a "
                             "fan-out; skip inside the function or in the step before")
        fan = Step.map(inner.name, items_path=f"$.outputs.{source}", iterator_steps=[inner],
                       max_concurrency=max_workers or 4, depends_on=deps, on_error=on_error,
                       description=inner.description)
        return fan.with_changes(item_key=partition_key or "item", on_failure=on_failure)

    def on_failure(self, fn: Callable[..., Any]) -> ManagedWorkflow:
        """Call ``fn`` whenever a step fails (after its retries), as spec R3's rollback.

        The handler runs at once as a step named ``on_failure(<step>)`` inserted after the
        failed one, so it is recorded and shown like any step. It is called as
        ``fn(ctx, config)`` with ``config["failed_step"]``, or as a plain function that may
        take ``failed_step`` and ``ctx``; ``ctx.get_failed_step()`` works in both. It may
        request adaptive changes: ``ctx.retry_step(failed.name)`` (with an inserted wait step,
        as in spec 4b) takes the failure back and the run goes on. Otherwise the original
        failure decides the run; a failing handler is recorded but never hides it.

        ``build()`` writes it as the ``on_failure`` of every step that has none, so exports
        (YAML, stored versions) keep it; steps inserted while a run runs are covered too.
        """
        self._check_open("set on_failure")
        if not callable(fn):
            raise TypeError(f"on_failure needs a callable, got {type(fn).__name__}")
        self._on_failure = fn
        return self

    def _check_open(self, action: str) -> None:
        if self._workflow is not None:
            raise WorkflowError(f"{self.name!r} is already built; {action} before build()")

    def build(self) -> ManagedWorkflow:
        """Validate the steps into a ``Workflow`` (raises on duplicates, cycles, unknown deps)."""
        if self._workflow is None:
            handler = self._on_failure
            steps = self._steps if handler is None else [
                s if s.on_failure is not None else s.with_changes(on_failure=handler)
                for s in self._steps]
            self._workflow = Workflow(self.name, steps, domain=self.domain,
                                      description=self.description, tags=self.tags,
                                      execution_policy=self.execution_policy,
                                      alerts=self.alerts,
                                      executor=self.executor if isinstance(self.executor, str)
                                      else None)
        return self

    @property
    def workflow(self) -> Workflow:
        return self.build()._workflow  # type: ignore[return-value]

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.workflow.steps

    def run(self, params: Mapping[str, Any] | None = None,
            partition: Mapping[str, Any] | None = None) -> WorkflowResult:
        """Run once; with ``db`` (or a ``partition``, which needs a store) the run is persisted
        and a partition that already completed comes back ``skipped``. A workflow with
        ``alerts`` is always persisted (in the default store when ``db`` is None): its alerts
        go through the store's outbox."""
        given = self.executor if isinstance(self.executor, Executor) else None
        if self.db is None and partition is None and self.alerts is None:
            self.last_result = WorkflowRunner(executor=given).execute(self.workflow, params)
        else:
            if self._tracked is None:
                self._tracked = TrackedWorkflowRunner(self.db, executor=given)
            self.last_result = self._tracked.execute(self.workflow, params, partition=partition,
                                                     source=str(SourceRef.managed(self.name)))
        return self.last_result

    def summary(self, result: WorkflowResult | None = None) -> str:
        """The readable report ``show`` prints: one line for the run, one per step."""
        result = result or self.last_result
        if result is None:
            return f"{self.name} — {len(self.steps)} steps — not run yet"
        return format_result(self.workflow, result)

    def show(self, result: WorkflowResult | None = None, file: Any = None) -> str:
        text = self.summary(result)
        print(text, file=file or sys.stdout)
        return text


def format_result(workflow: Workflow, result: WorkflowResult, width: int = 72) -> str:
    """Plain-text run report (status line, then each step with a one-line output preview)."""
    icon = _ICONS.get(result.status, "?")
    lines = [f"{icon} {workflow.name} — {len(workflow.steps)} steps — "
             f"{result.status.value} in {result.duration_seconds:.2f}s"]
    pad = max((len(name) for name in result.steps), default=0)
    for run in result.steps.values():  # the plan as it ran, with steps inserted at runtime
        if run.status is RunStatus.COMPLETED:
            detail = _preview(run.output, width)
        else:
            detail = mask(f"{run.status.value}: {run.error or ''}".strip())
            if run.error_category:
                detail += f" [{run.error_category}]"
        lines.append(f"   {_ICONS.get(run.status, '?')} {run.name.ljust(pad)}  → {detail}")
    return "\n".join(lines)


def _preview(output: Any, width: int) -> str:
    try:
        text = to_json(output, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(output)
    text = mask(text)  # before cutting: a cut secret no longer matches
    return text if len(text) <= width else text[: width - 1] + "…"
