"""Stepping into composite steps: what child playground to open and how its end becomes the
parent step's result, mirroring ``composition.run_subworkflow`` and ``composition.run_map``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..composition import _partition
from ..context import WorkflowContext
from ..errors import WorkflowCycleError
from ..policies import ErrorCategory, ErrorPolicy, WorkflowExecutionPolicy
from ..registry import get_workflow
from ..results import RunStatus, StepResult, StepRun
from ..step_state import StepState
from ..steps import Step, StepType
from ..workflow import Workflow
from .errors import StepIntoError

if TYPE_CHECKING:
    from ..runner import WorkflowRunner
    from .core import WorkflowPlayground

Finish = Callable[["WorkflowPlayground"], StepResult]


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """How to open a child playground and turn its final state into the parent step's result.

    ``into`` maps a child step name to the spec of stepping further into it (a map's items).
    """

    workflow: Workflow
    params: dict[str, Any]
    seed: Mapping[str, Any] | None
    call_chain: tuple[str, ...]
    finish: Finish
    into: dict[str, Callable[[], ChildSpec]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SteppedInto:
    """Where a stepped-into child playground sits: the parent's ``step``, its ``kind``
    (``"sub-workflow"``, ``"map"`` or ``"map item"``) and the child's workflow name."""

    step: str
    kind: str
    workflow: str

    def describe(self) -> str:
        """``load_all (sub-workflow)``: one crumb of a debugger's breadcrumb."""
        return f"{self.step} ({self.kind})"


def child_spec(runner: WorkflowRunner, step: Step, ctx: WorkflowContext) -> ChildSpec:
    if step.step_type is StepType.WORKFLOW:
        return _workflow_spec(step, ctx)
    if step.step_type is StepType.MAP:
        return _map_spec(runner, step, ctx)
    raise StepIntoError(
        f"step {step.name!r} is a {step.step_type.value} step; only sub-workflow and map steps "
        "can be stepped into (use step() to run it)")


def _workflow_spec(step: Step, ctx: WorkflowContext) -> ChildSpec:
    """The registered child, with params and context inherited as ``run_subworkflow`` does."""
    name = step.workflow_name or ""
    if name in ctx.call_chain:
        raise WorkflowCycleError([*ctx.call_chain, name])
    child = get_workflow(name)
    try:
        explicit = {key: ctx.resolve(value) for key, value in step.params.items()}
    except KeyError as exc:
        raise StepIntoError(f"step {step.name!r}: {exc.args[0]}") from None
    params = {**ctx.params, **explicit} if step.inherit_context else explicit
    seed = dict(ctx.outputs) if step.inherit_context else None

    def finish(pg: WorkflowPlayground) -> StepResult:
        if not step.wait_for_child:
            return StepResult.ok(output={"child_run_id": pg.run_id})
        runs = pg.current.state.runs
        merged: dict[str, Any] = {}
        for child_step in child.step_names():
            run = runs.get(child_step)
            if run is not None and run.status is RunStatus.COMPLETED \
                    and isinstance(run.output, Mapping):
                merged.update(run.output)
        failed = _first_blocking_failure(pg)
        if failed is None:
            return StepResult.ok(output=merged)
        return StepResult.fail(
            f"sub-workflow {child.name!r} (run {pg.run_id}) failed: step {failed.name!r} "
            f"failed: {failed.error}",
            category=failed.error_category or ErrorCategory.DEPENDENCY.value, output=merged)

    params = {**child.defaults, **params}
    return ChildSpec(child, params, seed, (*ctx.call_chain, child.name), finish)


def _first_blocking_failure(pg: WorkflowPlayground) -> StepRun | None:
    state = pg.current.state
    for name, run in state.runs.items():
        if run.status is RunStatus.FAILED and (
                state.steps[state.plan.index[name]].on_error is not ErrorPolicy.CONTINUE):
            return run
    return None


def _map_spec(runner: WorkflowRunner, step: Step, ctx: WorkflowContext) -> ChildSpec:
    """One child step per item; each runs the item's iterator steps, and can be stepped into."""
    try:
        items = ctx.resolve(step.items_path)
    except KeyError as exc:
        raise StepIntoError(f"map step {step.name!r}: {exc.args[0]}") from None
    if isinstance(items, Mapping):
        items = list(items.values())
    if not isinstance(items, list | tuple):
        raise StepIntoError(f"map step {step.name!r}: {step.items_path} is a "
                            f"{type(items).__name__}, expected a list of items")
    if step.partition_by:
        items = _partition(items, step.partition_by)
    configs = [dict(item) if isinstance(item, Mapping) else {"item": item} for item in items]
    item_names = [f"{step.name}[{i}]" for i in range(len(configs))]

    def item_workflow(i: int) -> Workflow:
        steps = [inner.with_changes(config={**step.config, **inner.config, **configs[i]})
                 for inner in step.iterator_steps]
        return Workflow(item_names[i], steps)

    def run_item(i: int) -> StepResult:
        workflow = item_workflow(i)
        item_ctx = WorkflowContext(ctx.run_id, ctx.workflow_name, ctx.params, ctx.outputs,
                                   ctx.call_chain)

        last = StepResult.ok()
        for j in workflow.plan.order:
            inner = workflow.steps[j]
            scoped = inner.with_changes(name=f"{item_names[i]}.{inner.name}")
            state = runner.run_step(scoped, item_ctx, StepState(scoped.name), inner.config)
            if state.status in (RunStatus.FAILED, RunStatus.CANCELLED):
                return StepResult.fail(f"{inner.name}: {state.error}",
                                       category=state.category or ErrorCategory.INTERNAL)
            item_ctx.set_output(inner.name, state.output)
            last = StepResult.ok(state.output)
        return last

    def item_spec(i: int) -> ChildSpec:
        workflow = item_workflow(i)
        return ChildSpec(workflow, dict(ctx.params), dict(ctx.outputs), ctx.call_chain,
                         _finish_item)

    # every item runs even when one fails, as in run_map
    keep_going = WorkflowExecutionPolicy(on_failure=ErrorPolicy.CONTINUE)
    items_wf = Workflow(
        f"{ctx.workflow_name}.{step.name}",
        [Step.lambda_(name, _item_handler(run_item, i), depends_on=[],
                      on_error=ErrorPolicy.CONTINUE, description=f"item {i} of {step.name!r}")
         for i, name in enumerate(item_names)],
        execution_policy=keep_going)

    def finish(pg: WorkflowPlayground) -> StepResult:
        runs = pg.current.state.runs
        outcomes = [runs.get(name) for name in item_names]
        results = [r.output if r is not None and r.status is RunStatus.COMPLETED else None
                   for r in outcomes]
        errors = {i: (r.error if r is not None else "not run")
                  for i, r in enumerate(outcomes) if r is None or r.status is not RunStatus.COMPLETED}
        if not errors:
            return StepResult.ok(output={"results": results, "count": len(items)})
        first, message = next(iter(errors.items()))
        failed = outcomes[first]
        category = (failed.error_category if failed is not None else None) or "INTERNAL"
        return StepResult.fail(
            f"map step {step.name!r}: {len(errors)} of {len(items)} items failed; "
            f"item {first}: {message}", category=category,
            output={"results": results, "count": len(items),
                    "errors": {str(k): v for k, v in errors.items()}})

    into: dict[str, Callable[[], ChildSpec]] = {
        name: (lambda i=i: item_spec(i)) for i, name in enumerate(item_names)}  # type: ignore[misc]
    return ChildSpec(items_wf, dict(ctx.params), None, ctx.call_chain, finish, into)


def _finish_item(pg: WorkflowPlayground) -> StepResult:
    """The item's result as ``run_map`` computes it: the last iterator output, or the first failure."""
    state = pg.current.state
    last = StepResult.ok()
    for i in state.plan.order:
        name = state.plan.names[i]
        run = state.runs.get(name)
        if run is None:
            return StepResult.fail(f"{name}: not run", category=ErrorCategory.INTERNAL)
        if run.status in (RunStatus.FAILED, RunStatus.CANCELLED):
            return StepResult.fail(f"{name}: {run.error}",
                                   category=run.error_category or ErrorCategory.INTERNAL)
        last = StepResult.ok(run.output)
    return last


def _item_handler(run: Callable[[int], StepResult], index: int) -> Callable[..., StepResult]:
    """A map item as one context-style step handler running the item's iterator steps."""

    def handler(ctx: WorkflowContext, config: Mapping[str, Any]) -> StepResult:
        return run(index)

    handler.__name__ = handler.__qualname__ = f"map_item_{index}"
    return handler
