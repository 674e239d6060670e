"""``ManagedWorkflow``: a fluent builder for chains of plain functions, with run and show."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import WorkflowError
from .policies import ErrorPolicy, RetryPolicy, WorkflowExecutionPolicy
from .results import RunStatus, WorkflowResult
from .runner import WorkflowRunner
from .serialization import to_json
from .steps import Step
from .workflow import Workflow

_ICONS = {RunStatus.COMPLETED: "✅", RunStatus.FAILED: "❌", RunStatus.SKIPPED: "⏭",
          RunStatus.CANCELLED: "⛔", RunStatus.PENDING: "…", RunStatus.RUNNING: "▶"}


class ManagedWorkflow:
    """Build with ``.step(...)``, freeze with ``.build()``, then ``.run()`` and ``.show()``.

    Each plain function receives keyword arguments from its step config, the run params,
    then earlier outputs (latest wins); its returned dict is the step's output.
    ``db`` names a run-store file: every run is then recorded there (see
    ``TrackedWorkflowRunner``).
    """

    def __init__(self, name: str, db: str | None = None, *, domain: str = "",
                 description: str = "", tags: Iterable[str] = (),
                 execution_policy: WorkflowExecutionPolicy | None = None) -> None:
        self.name = name
        self.db = db
        self.domain = domain
        self.description = description
        self.tags = list(tags)
        self.execution_policy = execution_policy
        self._steps: list[Step] = []
        self._workflow: Workflow | None = None
        self.last_result: WorkflowResult | None = None
        self._tracked: Any = None

    def step(self, name: str, fn: Callable[..., Any], config: Mapping[str, Any] | None = None,
             depends_on: Iterable[str] | None = None, on_error: ErrorPolicy = ErrorPolicy.STOP,
             retry_policy: RetryPolicy | None = None,
             timeout_seconds: float | None = None) -> ManagedWorkflow:
        if self._workflow is not None:
            raise WorkflowError(f"{self.name!r} is already built; add steps before build()")
        target = getattr(fn, "fn", fn)  # accept @workflow_step objects
        self._steps.append(Step.from_function(name, target, config=config, depends_on=depends_on,
                                              on_error=on_error, retry_policy=retry_policy,
                                              timeout_seconds=timeout_seconds))
        return self

    def build(self) -> ManagedWorkflow:
        """Validate the steps into a ``Workflow`` (raises on duplicates, cycles, unknown deps)."""
        if self._workflow is None:
            self._workflow = Workflow(self.name, self._steps, domain=self.domain,
                                      description=self.description, tags=self.tags,
                                      execution_policy=self.execution_policy)
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
        and a partition that already completed comes back ``skipped``."""
        if self.db is None and partition is None:
            self.last_result = WorkflowRunner().execute(self.workflow, params)
        else:
            if self._tracked is None:
                from .tracked import TrackedWorkflowRunner

                self._tracked = TrackedWorkflowRunner(self.db)
            self.last_result = self._tracked.execute(self.workflow, params, partition=partition,
                                                     source=f"managed:{self.name}")
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
    pad = max((len(s.name) for s in workflow.steps), default=0)
    for step in workflow.steps:
        run = result.steps.get(step.name)
        if run is None:
            continue
        if run.status is RunStatus.COMPLETED:
            detail = _preview(run.output, width)
        else:
            detail = f"{run.status.value}: {run.error or ''}".strip()
            if run.error_category:
                detail += f" [{run.error_category}]"
        lines.append(f"   {_ICONS.get(run.status, '?')} {step.name.ljust(pad)}  → {detail}")
    return "\n".join(lines)


def _preview(output: Any, width: int) -> str:
    try:
        text = to_json(output, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(output)
    return text if len(text) <= width else text[: width - 1] + "…"
