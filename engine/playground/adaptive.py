"""Adaptive changes while stepping: the playground half of ``engine.adaptive``.

A step's requested changes are applied when its result is recorded, into the same snapshot:
the snapshot's state carries the new steps and plan (and the log of changes), so
``step_back`` undoes a change together with the step that asked for it and ``diff`` shows it.
``on_failure`` handlers run right after the failed step, as their own snapshot, and
``continue_as_new`` opens the next run as a ``continued`` snapshot.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..adaptive.changes import (
    ADAPTIVE_SKIP_REASON,
    CONTINUED_REASON,
    AdaptiveChangeError,
    ChangeKind,
    GraphChange,
    Replan,
    Request,
    replan,
)
from ..adaptive.control import (
    AdaptiveControl,
    Continuation,
    artifact_outputs,
    failure_handler_step,
)
from ..events import AdaptiveChange
from ..graph import Plan
from ..policies import ErrorCategory
from ..results import RunStatus, StepRun
from .state import Snapshot, SnapshotKind, State, initial_state

if TYPE_CHECKING:
    from ..runner import WorkflowRunner
    from ..steps import Step
    from ..workflow import Workflow


class AdaptiveSessionMixin:
    """Host of the playground's ``AdaptiveControl`` (``PlaygroundSession`` mixes it in)."""

    runner: WorkflowRunner
    _workflow: Workflow | None
    _ctx_state: State | None

    def _init_adaptive(self) -> None:
        self._adaptive = AdaptiveControl(self)
        self._executing: set[str] = set()

    if TYPE_CHECKING:  # provided by the session this is mixed into
        @property
        def _state(self) -> State: ...

        def _push(self, kind: SnapshotKind, step: str | None, run: StepRun | None,
                  state: State, note: str = "") -> Snapshot: ...

        def _run_step(self, step: Step, ctx: Any = None) -> StepRun: ...

    # ------------------------------------------------------------------ AdaptiveHost
    def adaptive_graph(self) -> tuple[str, tuple[Step, ...], Plan]:
        state = self._state
        return state.workflow_name, state.steps, state.plan

    def adaptive_status(self, name: str) -> RunStatus:
        if name in self._executing:
            return RunStatus.RUNNING
        run = self._state.runs.get(name)
        return run.status if run is not None else RunStatus.PENDING

    def adaptive_running(self) -> list[str]:
        return list(self._executing)

    def adaptive_failed(self) -> StepRun | None:
        return latest_failure(self._state)

    # ------------------------------------------------------------------ recording
    def _record_adaptive(self, kind: SnapshotKind, run: StepRun, new: State) -> Snapshot:
        """Push ``run``'s snapshot with the changes its step asked for applied to ``new``."""
        control = self._adaptive
        batch, continuation = control.take(run.name) if control.pending else ([], None)
        changes: tuple[GraphChange, ...] = ()
        if batch or continuation is not None:
            self._ctx_state = None  # the live context no longer mirrors the state
            ok = run.status is RunStatus.COMPLETED or run.status is RunStatus.SKIPPED
            if not ok:
                batch = [r for r in batch if r.kind is ChangeKind.SPAWN]
            if batch:
                try:
                    plan = replan(new.workflow_name, new.steps, new.plan, _status_in(new),
                                  run.name, batch, retry_counts(new))
                except AdaptiveChangeError as exc:
                    run = replace(run, status=RunStatus.FAILED, output=None,
                                  error=f"{type(exc).__name__}: {exc}",
                                  error_category=ErrorCategory.VALIDATION.value,
                                  error_type=type(exc).__name__)
                    new = new.with_run(run)
                    continuation = None
                else:
                    new = apply_replan(new, plan, run.name)
                    changes = plan.changes
            if continuation is not None and run.status is RunStatus.COMPLETED:
                change = GraphChange(ChangeKind.CONTINUE_AS_NEW, run.name, {
                    "continued_as": continuation.run_id, "params": continuation.params,
                    "preserve_artifacts": continuation.preserve_artifacts})
                new = _close_for_continuation(new.evolve(adaptive=(*new.adaptive, change)),
                                              continuation)
                changes = (*changes, change)
            else:
                continuation = None
        snapshot = self._push(kind, run.name, run, new)
        self._emit(new, changes)
        if continuation is not None:
            self._continue_as_new(continuation)
        elif run.status is RunStatus.FAILED:
            self._run_failure_handler(run)
        return snapshot

    def _continue_as_new(self, continuation: Continuation) -> None:

        old, wf = self._state, self._workflow
        assert wf is not None
        seed = artifact_outputs(old.outputs) if continuation.preserve_artifacts else None
        state = initial_state(wf, {**wf.defaults, **continuation.params}, seed,
                               old.call_chain, continuation.run_id)
        origin = GraphChange(ChangeKind.CONTINUED_FROM, None, {"run_id": old.run_id})
        state = state.evolve(adaptive=(origin,))
        self._push(SnapshotKind.CONTINUED, None, None, state,
                   f"continued as new run {continuation.run_id}")
        self._emit(state, (origin,))

    def _run_failure_handler(self, failed: StepRun) -> None:
        """Mirror the runner: a failed step's ``on_failure`` handler runs after it."""
        state = self._state
        i = state.plan.index.get(failed.name)
        fn = state.steps[i].on_failure if i is not None else None
        if fn is None or failed.name.startswith("on_failure("):
            return
        name, n = f"on_failure({failed.name})", 1
        while name in state.plan.index:
            n += 1
            name = f"on_failure({failed.name})#{n}"
        step = failure_handler_step(name, fn, failed)
        plan = replan(state.workflow_name, state.steps, state.plan, _status_in(state), None,
                      [Request(ChangeKind.ON_FAILURE, target=failed.name, step=step)])
        with_node = apply_replan(state, plan, None)
        self._emit(with_node, plan.changes)
        run = self._run_step(step)  # one snapshot: the handler's node and its result
        self._record_adaptive(SnapshotKind.STEP, run, with_node.with_run(run))

    def _emit(self, state: State, changes: tuple[GraphChange, ...]) -> None:
        for change in changes:
            self.runner.emit(AdaptiveChange(run_id=state.run_id, workflow=state.workflow_name,
                                            at=datetime.now(UTC), step=change.step,
                                            change=change.change.value,
                                            detail=dict(change.detail)))


def apply_replan(state: State, plan: Replan, requester: str | None) -> State:
    """``state`` with ``plan``'s steps and graph, skips recorded and retried steps pending."""
    runs = dict(state.runs)
    for name in plan.skipped:
        runs[name] = StepRun(name, RunStatus.SKIPPED,
                             error=f"{ADAPTIVE_SKIP_REASON} requested by step {requester!r}")
    order_pos = [0] * len(plan.plan.order)
    for k, i in enumerate(plan.plan.order):
        order_pos[i] = k
    new = state.evolve(steps=plan.steps, plan=plan.plan, order_pos=tuple(order_pos), runs=runs,
                       done_prefix=0, adaptive=(*state.adaptive, *plan.changes),
                       stale=state.stale - set(plan.skipped))
    if plan.retried:
        new = new.without_runs(list(plan.retried)).release_skipped()
    return new.settled()


def retry_counts(state: State) -> dict[str, int]:
    """How often each step was retried by changes on this timeline (snapshot-exact)."""
    counts: dict[str, int] = {}
    for change in state.adaptive:
        if change.change is ChangeKind.RETRY:
            name = change.detail["retried"]
            counts[name] = counts.get(name, 0) + 1
    return counts


def latest_failure(state: State) -> StepRun | None:
    failed = [r for r in state.runs.values() if r.status is RunStatus.FAILED]
    if not failed:
        return None
    return max(failed, key=lambda r: r.finished_at or datetime.min.replace(tzinfo=UTC))


def _status_in(state: State) -> Any:
    def status(name: str) -> RunStatus:
        run = state.runs.get(name)
        return run.status if run is not None else RunStatus.PENDING
    return status


def _close_for_continuation(state: State, continuation: Continuation) -> State:
    """Steps that had not run are skipped: the run ended by continuing as a new one."""
    runs = dict(state.runs)
    reason = f"{CONTINUED_REASON} {continuation.run_id}"
    for name in state.plan.names:
        if name not in runs:
            runs[name] = StepRun(name, RunStatus.SKIPPED, error=reason)
    return state.evolve(runs=runs).settled()
