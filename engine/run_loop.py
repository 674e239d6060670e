"""The scheduling loop of one run: sequential or parallel DAG execution and its bookkeeping.

Sequential mode runs steps inline, one at a time, in a stable topological order (declaration
order when that is already valid). Parallel mode runs the DAG on a thread pool of
``max_concurrency`` workers; the scheduling loop itself stays on the calling thread, so
context updates and failure bookkeeping are single-threaded. Ready steps are queued ahead of
free workers, and a worker re-checks before starting one: after a halting failure or a cancel,
no further step starts. With ``RunSignals`` attached, a paused run starts no new step until it
is resumed or cancelled.

Adaptive changes (``engine.adaptive``) are applied here, between steps, on the scheduling
thread: when a step that requested any finishes, its batch becomes a new plan for the rest of
the run (``engine.adaptive.run``). Runs whose steps request nothing pay one flag check per step.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any

from .adaptive.changes import CONTINUED_REASON, ChangeKind, GraphChange
from .adaptive.control import restore_current, set_current
from .adaptive.run import AdaptiveRunMixin
from .context import WorkflowContext
from .errors import UnknownPipelineError, UnknownWorkflowError, WorkflowCycleError
from .events import RunFinished, RunOrigin, RunStarted
from .executors.base import ExecutorError
from .ids import now
from .policies import ErrorCategory, ErrorPolicy, ExecutionMode
from .registry import missing_references
from .results import RunStatus, WorkflowResult
from .step_state import FrozenSteps, StepState
from .steps import Step
from .workflow import Workflow

if TYPE_CHECKING:
    from .runner import WorkflowRunner
    from .signals import RunSignals

_CANCELLED = ErrorCategory.CANCELLED.value
_COMPLETED = RunStatus.COMPLETED
_PENDING = RunStatus.PENDING

#: Errors in the definition itself: recorded on the run, then raised from ``execute``.
DEFINITION_ERRORS = (WorkflowCycleError, UnknownPipelineError, UnknownWorkflowError,
                     ExecutorError)


class RunLoop(AdaptiveRunMixin):
    """One execution of one workflow: the scheduling loop and its bookkeeping.

    ``steps``/``plan`` start as the workflow's and are replaced when adaptive changes apply;
    ``graph_changes`` lists every change applied, in order. ``continued_from`` is the chain of
    runs this one continues (``continue_as_new``), oldest first.
    """

    def __init__(self, runner: WorkflowRunner, workflow: Workflow, ctx: WorkflowContext,
                 cancel: threading.Event | None, parent_run_id: str | None,
                 seeded: set[str], signals: RunSignals | None = None,
                 continued_from: tuple[str, ...] = (), *, parent_step: str | None = None,
                 origin: RunOrigin | None = None) -> None:
        self.runner = runner
        self.signals = signals
        self.workflow = workflow
        self.ctx = ctx
        self.cancel = cancel
        self.parent_run_id = parent_run_id
        self.parent_step = parent_step
        #: who started the run and from what, carried on ``RunStarted``
        self.origin = origin or RunOrigin(started_by=ctx.started_by)
        self.seeded = seeded
        self.steps: tuple[Step, ...] = workflow.steps
        self.plan = workflow.plan
        self.states = [StepState(name) for name in self.plan.names]
        self.blocked = [False] * len(self.states)  # a dependency failed fatally or was cancelled
        self.error: str | None = None
        self.error_step: str | None = None
        self.definition_error: BaseException | None = None
        self.cancelled = False
        self.continued_from = continued_from
        self.init_adaptive()
        ctx._adaptive = self.adaptive

    def restore(self, outputs: Mapping[str, Any]) -> None:
        """Mark steps finished in an earlier attempt of this run as completed, outputs in place."""
        for name, output in outputs.items():
            i = self.plan.index.get(name)
            if i is None:
                continue  # the step no longer exists in this definition
            state = self.states[i]
            state.status = RunStatus.COMPLETED
            state.output = output
            self.ctx.set_output(name, output)

    def go(self) -> WorkflowResult:
        ctx, wf = self.ctx, self.workflow
        started_at = now()
        start = time.perf_counter()
        self.runner.emit(RunStarted(run_id=ctx.run_id, workflow=wf.name, at=started_at,
                                    params=dict(ctx.params), step_names=self.plan.names,
                                    parent_run_id=self.parent_run_id,
                                    parent_step=self.parent_step,
                                    version=self.origin.version or wf.version,
                                    origin=self.origin))
        if self.continued_from:
            self.publish(GraphChange(ChangeKind.CONTINUED_FROM, None, {
                "run_id": self.continued_from[-1], "chain": list(self.continued_from)}))
        try:
            pipelines, workflows = missing_references(wf)
            if pipelines:
                raise UnknownPipelineError(pipelines, wf.name)
            if workflows:
                raise UnknownWorkflowError(workflows, wf.name)
            self.runner.prepare_executors(wf, ctx.run_id, self.parent_run_id)
            if wf.mode is ExecutionMode.PARALLEL and len(self.states) > 1:
                self._run_parallel()
            else:
                self._run_sequential()
        except DEFINITION_ERRORS as exc:
            self.definition_error = exc
            self.error = self.error or str(exc)
        self._skip_rest()
        status = self._final_status()
        finished_at = now()
        if self.seeded:  # a seeded name that also ran here is this run's output
            ran = {s.name for s in self.states if s.status is _COMPLETED}
            outputs = {k: v for k, v in ctx.outputs.items() if k not in self.seeded or k in ran}
        else:
            outputs = dict(ctx.outputs)
        result = WorkflowResult(
            run_id=ctx.run_id, workflow_name=wf.name, status=status, params=dict(ctx.params),
            outputs=outputs, steps=FrozenSteps(self.states), error=self.error,
            error_step=self.error_step, started_at=started_at, finished_at=finished_at,
            duration_seconds=time.perf_counter() - start,
            graph_changes=tuple(self.graph_changes),
            workflow_version=self.origin.version or wf.version)
        self.runner.emit(RunFinished(run_id=ctx.run_id, workflow=wf.name, at=finished_at,
                                     status=status.value, error=self.error,
                                     error_step=self.error_step,
                                     duration_seconds=result.duration_seconds,
                                     category=self._error_category(status)))
        if self.definition_error is not None:
            raise self.definition_error
        return result

    # ------------------------------------------------------------------ modes
    def _run_sequential(self) -> None:
        order: list[int] | tuple[int, ...] | None = self.plan.order
        while order is not None:  # a new plan (adaptive change) restarts with what is left
            order = self._sequential_pass(order)

    def _sequential_pass(self, order: list[int] | tuple[int, ...]) -> list[int] | None:
        steps, deps, states = self.steps, self.plan.deps, self.states
        run_step, ctx, adaptive = self.runner.run_step, self.ctx, self.adaptive
        stop_on_failure = self.workflow.execution_policy.on_failure is not ErrorPolicy.CONTINUE
        signals = self.signals
        for i in order:
            if signals is not None and signals.paused:
                signals.hold()
            if self._should_skip(i, deps[i]):
                continue
            try:
                state = run_step(steps[i], ctx, states[i])
            except DEFINITION_ERRORS:
                self._mark_failed(i)
                raise
            if state.status is _COMPLETED and not adaptive.pending:
                ctx.set_output(state.name, state.output)
                continue
            changed = adaptive.pending and self.apply_requests(state)
            i = self.plan.index[state.name]  # the plan may be a new one now
            if state.status is _COMPLETED:
                ctx.set_output(state.name, state.output)
            elif state.status is RunStatus.FAILED:
                self._on_failure(i)
                changed = self.handle_failure(i) or changed
                if self.blocked[self.plan.index[state.name]] and stop_on_failure:
                    return None
            elif state.status is RunStatus.CANCELLED:
                self._mark_cancelled(i)
            if self.continuation is not None:
                return None
            if changed:
                return self.pending_order()
        return None

    def _run_parallel(self) -> None:
        ctx, run_step, cancel, adaptive = self.ctx, self.runner.run_step, self.cancel, self.adaptive
        deps, dependents = self.plan.deps, self.plan.dependents
        remaining = [len(d) for d in deps]
        ready = deque(i for i, n in enumerate(remaining) if n == 0)
        done: SimpleQueue[tuple[StepState, bool, BaseException | None]] = SimpleQueue()
        halt_on_failure = self.workflow.execution_policy.on_failure is not ErrorPolicy.CONTINUE
        halt = threading.Event()
        inflight = self.submitted  # names queued or running; adaptive changes may not touch them
        signals = self.signals

        def work(step: Step, state: StepState) -> None:
            if signals is not None and signals.paused:
                signals.hold()  # a paused run starts nothing, even steps already queued
            # Ready steps are queued ahead for speed, so the worker re-checks before starting:
            # nothing starts after a halting failure or a cancel, even if it was queued.
            if halt.is_set() or (cancel is not None and cancel.is_set()):
                done.put((state, False, None))
                return
            previous = set_current(adaptive, step.name)
            try:
                run_step(step, ctx, state)
            except BaseException as exc:  # handed to the scheduling thread
                halt.set()
                done.put((state, True, exc))
                return
            finally:
                restore_current(previous)
            if (halt_on_failure and state.status is RunStatus.FAILED
                    and step.on_error is not ErrorPolicy.CONTINUE):
                halt.set()  # here, not on the scheduler, so the next queued step already sees it
            done.put((state, True, None))

        max_workers = self.workflow.execution_policy.max_concurrency
        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="spine-step") as pool:
            while ready or inflight:
                while ready:
                    i = ready.popleft()
                    if halt.is_set() or self._should_skip(i, deps[i]):
                        self._release(i, dependents, remaining, ready)
                        continue
                    state = self.states[i]
                    inflight.add(state.name)
                    pool.submit(work, self.steps[i], state)
                if not inflight:
                    break
                state, started, exc = done.get()
                inflight.discard(state.name)
                i = self.plan.index[state.name]
                changed = False
                if not started:
                    if not halt.is_set() and not (cancel is not None and cancel.is_set()):
                        ready.append(i)  # halted, then resumed by a failure handler's retry
                        continue
                    # cancelled: marked so here; halted: stays pending, skipped at the end
                    self._should_skip(i, deps[i])
                elif exc is not None:
                    self._mark_failed(i)
                    if isinstance(exc, DEFINITION_ERRORS):
                        self.definition_error = self.definition_error or exc
                        self.error = self.error or str(exc)
                    else:
                        state.status = RunStatus.FAILED
                        state.error = f"{type(exc).__name__}: {exc}"
                else:
                    changed = adaptive.pending and self.apply_requests(state)
                    i = self.plan.index[state.name]
                    if state.status is RunStatus.FAILED:
                        self._on_failure(i)
                        changed = self.handle_failure(i) or changed
                    elif state.status is _COMPLETED:
                        ctx.set_output(state.name, state.output)
                    elif state.status is RunStatus.CANCELLED:
                        self._mark_cancelled(i)
                if self.continuation is not None:
                    halt.set()  # the run ends once what is running has finished
                elif changed:
                    if self.error_step is None and self.definition_error is None \
                            and not self.cancelled:
                        halt.clear()  # a failure handler's retry took the failure back
                    deps, dependents = self.plan.deps, self.plan.dependents
                    remaining, ready = self.frontier(inflight)
                    continue
                self._release(i, dependents, remaining, ready)
        if self.definition_error is not None:
            raise self.definition_error

    # ------------------------------------------------------------------ bookkeeping
    def _release(self, i: int, dependents: tuple[tuple[int, ...], ...], remaining: list[int],
                 ready: deque[int]) -> None:
        for j in dependents[i]:
            remaining[j] -= 1
            if remaining[j] == 0:
                ready.append(j)

    def _should_skip(self, i: int, deps: tuple[int, ...]) -> bool:
        """Mark step ``i`` skipped/cancelled (and return True) when it must not run."""
        state = self.states[i]
        if state.status is not _PENDING:
            return True  # restored from an earlier attempt, or skipped by an adaptive change
        if self.cancel is not None and self.cancel.is_set():
            state.status = RunStatus.CANCELLED
            state.category = _CANCELLED
            self._mark_cancelled(i)
            return True
        blocked = self.blocked
        for d in deps:
            if blocked[d]:
                state.status = RunStatus.SKIPPED
                state.error = f"not run: upstream step {self.plan.names[d]!r} did not complete"
                blocked[i] = True
                return True
        return False

    def _on_failure(self, i: int) -> None:
        state, step = self.states[i], self.steps[i]
        self.note_failure(state)
        if step.on_error is ErrorPolicy.CONTINUE:
            return
        if self.error_step is None:
            self.error = f"step {state.name!r} failed: {state.error}"
        self._mark_failed(i)

    def _mark_cancelled(self, i: int) -> None:
        self.cancelled = True
        self.blocked[i] = True

    def _mark_failed(self, i: int) -> None:
        self.blocked[i] = True
        state = self.states[i]
        if state.status is not RunStatus.FAILED:
            state.status = RunStatus.FAILED
        if self.error_step is None:
            self.error_step = state.name

    def _skip_rest(self) -> None:
        """Steps never reached (the run stopped early) end as skipped, with the reason."""
        if self.error_step:
            reason = f"not run: step {self.error_step!r} failed"
        elif self.continuation is not None:
            reason = f"{CONTINUED_REASON} {self.continuation.run_id}"
        else:
            reason = "not run"
        for state in self.states:
            if state.status is RunStatus.PENDING:
                state.status = RunStatus.SKIPPED
                state.error = reason

    def _error_category(self, status: RunStatus) -> str | None:
        if status is RunStatus.CANCELLED:
            return _CANCELLED
        if self.error_step is not None:
            failed = self.states[self.plan.index[self.error_step]] \
                if self.error_step in self.plan.index else None
            return failed.category if failed is not None else None
        return "CONFIGURATION" if self.definition_error is not None else None

    def _final_status(self) -> RunStatus:
        if self.definition_error is not None or self.error_step is not None:
            return RunStatus.FAILED
        if self.cancelled:
            return RunStatus.CANCELLED
        return RunStatus.COMPLETED
