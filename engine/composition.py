"""Composite steps: sub-workflows (``Step.workflow``) and fan-out (``Step.map``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from .context import WorkflowContext
from .errors import WorkflowCycleError
from .events import RunOrigin
from .graph import build_plan
from .ids import new_run_id
from .policies import ErrorCategory
from .registry import get_workflow
from .results import RunStatus, StepResult
from .step_names import map_item_name
from .step_state import StepState
from .steps import Step

if TYPE_CHECKING:
    from .runner import WorkflowRunner
    from .signals import RunSignals


def run_subworkflow(runner: WorkflowRunner, step: Step, ctx: WorkflowContext,
                    state: StepState) -> StepResult:
    """Run the registered child workflow; merge its step outputs into this step's output.

    With ``inherit_context`` the child sees the parent's params (explicit ``params`` win) and
    can read the parent's outputs with ``ctx.get_output``; those are not part of its result.
    """
    name = step.workflow_name or ""
    if name in ctx.call_chain:  # before the lookup: the caller itself may be unregistered
        raise WorkflowCycleError([*ctx.call_chain, name])
    child = get_workflow(name)
    explicit = {key: ctx.resolve(value) for key, value in step.params.items()}
    params = {**ctx.params, **explicit} if step.inherit_context else explicit
    seed = dict(ctx.outputs) if step.inherit_context else None
    child_run_id = new_run_id()
    state.child_run_id = child_run_id

    signals = runner.signals_for(ctx.run_id)  # a waited child pauses with its parent

    def run(cancel: threading.Event | None = None,
            run_signals: RunSignals | None = signals) -> Any:
        return runner.execute(child, params, run_id=child_run_id, parent_run_id=ctx.run_id,
                              parent_step=step.name, call_chain=ctx.call_chain,
                              seed_outputs=seed, cancel=cancel, signals=run_signals,
                              origin=RunOrigin(started_by=ctx.started_by))

    if not step.wait_for_child:
        # detached: runs to its end (Temporal's "abandon" parent-close policy) under signals
        # of its own (a tracked runner's obey commands sent to the child's run id)
        def detached() -> Any:
            with runner.detached_signals(child_run_id, child.name) as own:
                return run(None, own)

        runner.start_background(detached, name=f"child-{child.name}-{child_run_id}")
        return StepResult.ok(output={"child_run_id": child_run_id})

    if step.timeout_seconds is None:
        result = run(ctx.cancel_event)
    else:
        result = _run_with_timeout(run, step, ctx)
        if isinstance(result, StepResult):
            return result
    merged: dict[str, Any] = {}
    for name in child.step_names():
        output = result.outputs.get(name)
        if isinstance(output, Mapping):
            merged.update(output)
    if result.status is RunStatus.COMPLETED:
        return StepResult.ok(output=merged)
    failed = result.steps.get(result.error_step or "")
    if result.status is RunStatus.CANCELLED:
        category: str | None = ErrorCategory.CANCELLED.value
    else:
        category = failed.error_category if failed else None
    reason = f": {result.error}" if result.error else ""
    return StepResult.fail(
        f"sub-workflow {child.name!r} (run {child_run_id}) {result.status.value}{reason}",
        category=category or ErrorCategory.DEPENDENCY.value, output=merged)


class _ChildCancel(threading.Event):
    """A child's cancel signal: set by its own timeout, or seen as set when the parent's is."""

    def __init__(self, parent: threading.Event | None) -> None:
        super().__init__()
        self._parent = parent

    def is_set(self) -> bool:
        return super().is_set() or (self._parent is not None and self._parent.is_set())


def _run_with_timeout(run: Callable[[threading.Event], Any], step: Step,
                      ctx: WorkflowContext) -> Any:
    """Run a waited child on a helper thread and stop waiting after ``timeout_seconds``.

    On timeout the step fails at once (TIMEOUT) and the child is cancelled: it stops before
    its next step and winds down in the background.
    """
    child_cancel = _ChildCancel(ctx.cancel_event)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = run(child_cancel)
        except BaseException as exc:  # re-raised on the waiting thread
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"child-{step.workflow_name}", daemon=True)
    thread.start()
    thread.join(step.timeout_seconds)
    if thread.is_alive():
        child_cancel.set()
        return StepResult.fail(
            f"sub-workflow {step.workflow_name!r} exceeded the step timeout of "
            f"{step.timeout_seconds:g}s and was cancelled", category=ErrorCategory.TIMEOUT)
    if "error" in box:
        raise box["error"]
    return box["result"]


def run_map(runner: WorkflowRunner, step: Step, ctx: WorkflowContext,
            config: Mapping[str, Any]) -> StepResult:
    """Run the iterator steps once per item (up to ``max_concurrency`` at a time), in order."""

    try:
        items = ctx.resolve(step.items_path)
    except KeyError as exc:
        return StepResult.fail(f"map step {step.name!r}: {exc.args[0]}", category="DATA_QUALITY")
    if step.item_key is not None:
        found = partitions_of(items, step.item_key)
        if isinstance(found, str):
            return StepResult.fail(f"parallel step {step.name!r}: {step.items_path} {found}",
                                   category="DATA_QUALITY")
        items = found
    elif isinstance(items, Mapping):
        items = list(items.values())
    if not isinstance(items, list | tuple):
        return StepResult.fail(
            f"map step {step.name!r}: {step.items_path} is a {type(items).__name__}, "
            "expected a list of items", category="DATA_QUALITY")
    if step.partition_by:
        items = _partition(items, step.partition_by)
    plan = build_plan(step.name, step.iterator_steps)
    item_key = step.item_key or "item"

    cancel = ctx.cancel_event

    def run_item(index: int, item: Any) -> StepResult:
        if cancel is not None and cancel.is_set():
            return StepResult.fail("not run: the run was cancelled",
                                   category=ErrorCategory.CANCELLED)
        item_config = dict(item) if isinstance(item, Mapping) else {item_key: item}
        item_ctx = WorkflowContext(ctx.run_id, ctx.workflow_name, ctx.params, ctx.outputs,
                                   ctx.call_chain)
        item_ctx.cancel_event = cancel
        item_ctx.artifact_store = ctx.artifact_store
        last: StepResult = StepResult.ok()
        for i in plan.order:
            inner = step.iterator_steps[i]
            scoped = inner.with_changes(name=map_item_name(step.name, index, inner.name),
                                        executor=inner.executor or step.executor)
            state = runner.run_step(scoped, item_ctx, StepState(scoped.name),
                                    {**config, **inner.config, **item_config})
            if state.status is RunStatus.FAILED or state.status is RunStatus.CANCELLED:
                return StepResult.fail(f"{inner.name}: {state.error}",
                                       category=state.category or ErrorCategory.INTERNAL)
            item_ctx.set_output(inner.name, state.output)
            last = StepResult.ok(state.output)
        return last

    if not items:
        return StepResult.ok(output={"results": [], "count": 0})
    workers = min(step.max_concurrency, len(items))
    if workers == 1:
        outcomes = [run_item(i, item) for i, item in enumerate(items)]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"map-{step.name}") as pool:
            outcomes = list(pool.map(run_item, range(len(items)), items))
    results = [o.output if o.success else None for o in outcomes]
    errors = {i: o.error for i, o in enumerate(outcomes) if not o.success}
    if errors:
        first = next(iter(errors.items()))
        category = next(o.category for o in outcomes if not o.success)
        return StepResult.fail(
            f"map step {step.name!r}: {len(errors)} of {len(items)} items failed; "
            f"item {first[0]}: {first[1]}", category=category or "INTERNAL",
            output={"results": results, "count": len(items),
                    "errors": {str(k): v for k, v in errors.items()}})
    return StepResult.ok(output={"results": results, "count": len(items)})


def partitions_of(output: Any, key: str) -> list[Any] | str:
    """The partitions a ``parallel=True`` step fans out over, from the previous step's
    output: the output itself when it is a list, else its ``partitions`` list, else the list
    under ``key`` + "s" (``quarter`` -> ``quarters``), else its only list value; a string
    saying what was found when none fits."""
    if isinstance(output, list | tuple):
        return list(output)
    if not isinstance(output, Mapping):
        return f"is a {type(output).__name__}, expected a list or a dict holding one"
    for name in ("partitions", f"{key}s", key):
        if isinstance(output.get(name), list | tuple):
            return list(output[name])
    lists = [name for name, value in output.items() if isinstance(value, list | tuple)]
    if len(lists) == 1:
        return list(output[lists[0]])
    found = ", ".join(lists) if lists else "no list"
    return (f"holds {found}; return the partitions as 'partitions' or {key + 's'!r} "
            "(or a single list)")


def _partition(items: list[Any] | tuple[Any, ...], key: str) -> list[dict[str, Any]]:
    groups: dict[Any, list[Any]] = {}
    for item in items:
        value = item.get(key) if isinstance(item, Mapping) else None
        groups.setdefault(value, []).append(item)
    return [{key: value, "items": members} for value, members in groups.items()]
