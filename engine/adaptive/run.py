"""How a run applies adaptive changes: the ``RunLoop`` half that installs a new plan between
steps, runs ``on_failure`` handlers and recomputes what may run next.

Everything here runs on the scheduling thread; the plan, steps and states are swapped under
the controller's lock so requests validated on worker threads never see half a swap.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import UnknownPipelineError, UnknownWorkflowError, WorkflowCycleError
from ..events import AdaptiveChange, StepFinished
from ..policies import ErrorCategory, ErrorPolicy
from ..results import RunStatus, StepRun
from ..step_state import StepState
from .changes import (
    ADAPTIVE_SKIP_REASON,
    AdaptiveChangeError,
    ChangeKind,
    GraphChange,
    Replan,
    Request,
    replan,
)
from .control import (
    AdaptiveControl,
    Continuation,
    failure_handler_step,
    restore_current,
    set_current,
)

if TYPE_CHECKING:
    from ..context import WorkflowContext
    from ..graph import Plan
    from ..runner import WorkflowRunner
    from ..steps import Step
    from ..workflow import Workflow

_PENDING, _RUNNING, _FAILED = RunStatus.PENDING, RunStatus.RUNNING, RunStatus.FAILED
_UPSTREAM_SKIP = "not run: upstream"
_DEFINITION_ERRORS = (WorkflowCycleError, UnknownPipelineError, UnknownWorkflowError)
_DEFINITION_NAMES = frozenset(e.__name__ for e in _DEFINITION_ERRORS)


class AdaptiveRunMixin:
    """Adaptive bookkeeping of a ``RunLoop`` (which provides the attributes annotated here)."""

    runner: WorkflowRunner
    workflow: Workflow
    ctx: WorkflowContext
    steps: tuple[Step, ...]
    plan: Plan
    states: list[StepState]
    blocked: list[bool]
    error: str | None
    error_step: str | None
    cancel: Any

    def init_adaptive(self) -> None:
        self.adaptive = AdaptiveControl(self)
        self.graph_changes: list[GraphChange] = []
        #: set when a step asked to continue as new and finished: the run then winds down
        self.continuation: Continuation | None = None
        #: names of steps queued or running in parallel mode (changes may not touch them)
        self.submitted: set[str] = set()
        self.failed_record: StepRun | None = None
        self._handlers: set[str] = set()

    # ------------------------------------------------------------------ AdaptiveHost
    def adaptive_graph(self) -> tuple[str, tuple[Step, ...], Plan]:
        return self.workflow.name, self.steps, self.plan

    def adaptive_status(self, name: str) -> RunStatus:
        if name in self.submitted:
            return _RUNNING  # queued counts as started: a worker may pick it up any moment
        return self.states[self.plan.index[name]].status

    def adaptive_running(self) -> list[str]:
        return [s.name for s in self.states if s.status is _RUNNING]

    def adaptive_failed(self) -> StepRun | None:
        return self.failed_record

    def note_failure(self, state: StepState) -> None:
        self.failed_record = state.freeze()

    # ------------------------------------------------------------------ applying
    def apply_requests(self, state: StepState) -> bool:
        """Apply what the finished ``state``'s step asked for; True when what runs next changed.

        A step that failed has its requests dropped (records of child runs it already spawned
        stay); a batch found invalid now fails the step with category VALIDATION instead.
        """
        batch, continuation = self.adaptive.take(state.name)
        succeeded = state.status is RunStatus.COMPLETED or state.status is RunStatus.SKIPPED
        if not succeeded:
            batch = [r for r in batch if r.kind is ChangeKind.SPAWN]
        changed = False
        if batch:
            try:
                plan = replan(self.workflow.name, self.steps, self.plan, self.adaptive_status,
                              state.name, batch, self.adaptive.retries)
            except AdaptiveChangeError as exc:
                self._reject(state, exc)
                return False
            self.install(plan, state.name)
            changed = plan.reschedules
        if continuation is not None and state.status is RunStatus.COMPLETED:
            self.continuation = continuation
            self.publish(GraphChange(ChangeKind.CONTINUE_AS_NEW, state.name, {
                "continued_as": continuation.run_id, "params": continuation.params,
                "preserve_artifacts": continuation.preserve_artifacts}))
            changed = True
        return changed

    def install(self, new: Replan, requester: str | None) -> None:
        """Make ``new`` the run's plan; states carry over by name, new steps start pending."""

        if new.plan is not self.plan:
            by_name = {s.name: s for s in self.states}
            was_blocked = dict(zip(self.plan.names, self.blocked, strict=True))
            states = [by_name.get(n) or StepState(n) for n in new.plan.names]
            blocked = [was_blocked.get(n, False) for n in new.plan.names]
            with self.adaptive._lock:
                self.steps, self.plan, self.states, self.blocked = (new.steps, new.plan,
                                                                    states, blocked)
        index = self.plan.index
        for name in new.skipped:
            state = self.states[index[name]]
            state.status = RunStatus.SKIPPED
            state.error = f"{ADAPTIVE_SKIP_REASON} requested by step {requester!r}"
        if new.retried:
            for name in new.retried:
                self.states[index[name]].reset()
            self.adaptive.count_retries(new.retried)
            self._recompute_blocking()
        for change in new.changes:
            self.publish(change)

    def publish(self, change: GraphChange) -> None:
        self.graph_changes.append(change)
        self.runner.emit(AdaptiveChange(run_id=self.ctx.run_id, workflow=self.workflow.name,
                                        at=datetime.now(UTC), step=change.step,
                                        change=change.change.value, detail=dict(change.detail)))

    def _reject(self, state: StepState, exc: AdaptiveChangeError) -> None:
        """A batch that became invalid while its step ran (parallel runs): the step fails."""
        state.status = _FAILED
        state.output = None
        state.error = f"{type(exc).__name__}: {exc}"
        state.category = ErrorCategory.VALIDATION.value
        state.error_type = type(exc).__name__
        self.runner.emit(StepFinished(run_id=self.ctx.run_id, workflow=self.workflow.name,
                                      at=datetime.now(UTC), step=state.name,
                                      status=state.status.value, attempt=state.attempts,
                                      duration_seconds=state.duration, error=state.error,
                                      category=state.category, error_type=state.error_type))

    def _recompute_blocking(self) -> None:
        """After a retry: release steps skipped for an upstream failure, then re-derive which
        steps block their dependents and which failure (if any) fails the run."""
        states, steps, blocked = self.states, self.steps, self.blocked
        for i, state in enumerate(states):
            status = state.status
            if status is RunStatus.SKIPPED and state.attempts == 0 \
                    and (state.error or "").startswith(_UPSTREAM_SKIP):
                state.reset()
                status = _PENDING
            blocked[i] = status is RunStatus.CANCELLED or (status is _FAILED and (
                steps[i].on_error is not ErrorPolicy.CONTINUE
                or state.error_type in _DEFINITION_NAMES))
        if self.error_step is None:
            return
        at = self.plan.index.get(self.error_step)
        if at is not None and states[at].status is _FAILED:
            return
        self.error = self.error_step = None
        for i in self.plan.order:
            state = states[i]
            if state.status is _FAILED and steps[i].on_error is not ErrorPolicy.CONTINUE:
                self.error = f"step {state.name!r} failed: {state.error}"
                self.error_step = state.name
                break

    # ------------------------------------------------------------------ on_failure
    def handle_failure(self, i: int) -> bool:
        """Run failed step ``i``'s ``on_failure`` handler as a step inserted after it; True
        when the plan changed (it always gains the handler's node)."""
        failed = self.states[i]
        fn = self.steps[i].on_failure
        if fn is None or failed.status is not _FAILED or failed.name in self._handlers \
                or failed.error_type in _DEFINITION_NAMES \
                or (self.cancel is not None and self.cancel.is_set()):
            return False
        name, n = f"on_failure({failed.name})", 1
        while name in self.plan.index:
            n += 1
            name = f"on_failure({failed.name})#{n}"
        step = failure_handler_step(name, fn, failed.freeze())
        try:
            plan = replan(self.workflow.name, self.steps, self.plan, self.adaptive_status, None,
                          [Request(ChangeKind.ON_FAILURE, target=failed.name, step=step)])
        except AdaptiveChangeError:
            return False
        self.install(plan, None)
        self._handlers.add(name)
        state = self.states[self.plan.index[name]]
        previous = set_current(self.adaptive, name)
        try:
            self.runner.run_step(step, self.ctx, state)
        except _DEFINITION_ERRORS:
            pass  # recorded on the handler's state; the original failure decides the run
        finally:
            restore_current(previous)
        self.apply_requests(state)
        if state.status is RunStatus.COMPLETED:
            self.ctx.set_output(name, state.output)
        return True

    # ------------------------------------------------------------------ what runs next
    def pending_order(self) -> list[int]:
        """Steps still to run, in the (new) plan's order: how a sequential run continues."""
        states = self.states
        return [i for i in self.plan.order if states[i].status is _PENDING]

    def frontier(self, inflight: set[str]) -> tuple[list[int], deque[int]]:
        """Dependency counters and ready queue of a parallel run, rebuilt for a new plan.

        A step counts as done only once everything upstream of it is: a finished step whose
        upstream is pending again (a retry) or still to come (a skipped step) passes through
        when that finishes, so pending steps downstream wait as they would in sequential order.
        """
        states, deps = self.states, self.plan.deps
        done = [False] * len(states)
        remaining = [0] * len(states)
        ready: deque[int] = deque()
        for i in self.plan.order:  # dependencies first
            state = states[i]
            status = state.status
            if status is _RUNNING or state.name in inflight:
                continue
            remaining[i] = waiting = sum(1 for d in deps[i] if not done[d])
            if status is _PENDING:
                if not waiting:
                    ready.append(i)
            elif not waiting:
                done[i] = True
        return remaining, ready
