"""``WorkflowRunner``: executes a workflow's DAG in memory and emits the run's events.

Sequential mode runs steps inline, one at a time, in a stable topological order (declaration
order when that is already valid). Parallel mode runs the DAG on a thread pool of
``max_concurrency`` workers; the scheduling loop itself stays on the calling thread, so
context updates and failure bookkeeping are single-threaded. Ready steps are queued ahead of
free workers, and a worker re-checks before starting one: after a halting failure or a cancel,
no further step starts.
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from queue import SimpleQueue
from typing import Any

from . import composition
from .context import WorkflowContext
from .errors import (
    StepTimeoutError,
    UnknownPipelineError,
    UnknownWorkflowError,
    WorkflowCycleError,
)
from .events import (
    Event,
    Listener,
    RunFinished,
    RunStarted,
    StepFinished,
    StepRetrying,
    StepStarted,
    dispatch,
)
from .invoke import call_handler, signature_of
from .logcapture import capture_step, capturing_run
from .policies import ErrorCategory, ErrorPolicy, ExecutionMode
from .registry import get_pipeline, missing_references
from .results import RunStatus, StepResult, StepRun, WorkflowResult
from .steps import Step, StepType
from .workflow import Workflow

_CANCELLED = ErrorCategory.CANCELLED.value

#: Errors in the definition itself: recorded on the run, then raised from ``execute``.
DEFINITION_ERRORS = (WorkflowCycleError, UnknownPipelineError, UnknownWorkflowError)


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def _now() -> datetime:
    return datetime.now(UTC)


class StepState:
    """Mutable bookkeeping for one step while a run is in flight."""

    __slots__ = ("name", "status", "attempts", "output", "error", "category", "error_type",
                 "traceback", "started_at", "finished_at", "duration", "child_run_id")

    def __init__(self, name: str) -> None:
        self.name = name
        self.status = RunStatus.PENDING
        self.attempts = 0
        self.output: Any = None
        self.error: str | None = None
        self.category: str | None = None
        self.error_type: str | None = None
        self.traceback: str | None = None
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.duration = 0.0
        self.child_run_id: str | None = None

    def freeze(self) -> StepRun:
        return StepRun(self.name, self.status, self.attempts, self.output, self.error,
                       self.category, self.error_type, self.traceback, self.started_at,
                       self.finished_at, self.duration, self.child_run_id)


class WorkflowRunner:
    """Runs workflows in memory; subscribe listeners to observe every event of every run."""

    def __init__(self, *, listeners: Iterable[Listener] = (), capture_logs: bool = False) -> None:
        self._listeners: list[Listener] = list(listeners)
        #: turn steps' prints and log records into LogLine events (tracked runs do)
        self.capture_logs = capture_logs
        self._background: list[threading.Thread] = []
        self._background_lock = threading.Lock()

    # ------------------------------------------------------------------ events
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Receive every event; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def emit(self, event: Event) -> None:
        if self._listeners:
            dispatch(tuple(self._listeners), event)

    # ------------------------------------------------------------------ public
    def execute(self, workflow: Workflow, params: Mapping[str, Any] | None = None, *,
                run_id: str | None = None, cancel: threading.Event | None = None,
                parent_run_id: str | None = None, call_chain: tuple[str, ...] = (),
                seed_outputs: Mapping[str, Any] | None = None,
                restored: Mapping[str, Any] | None = None) -> WorkflowResult:
        """Run ``workflow`` to the end and return its result.

        ``restored`` maps step names to outputs of an earlier attempt of this run (resume):
        those steps count as completed and are not executed again.

        Raises (after recording the run as failed) only for definition errors: unknown
        pipelines or sub-workflows and sub-workflow cycles. Step failures never raise; they
        are in the result.
        """
        if not isinstance(workflow, Workflow):
            inner = getattr(workflow, "workflow", None)
            if not isinstance(inner, Workflow):
                raise TypeError(f"execute() needs a Workflow, got {type(workflow).__name__}")
            workflow = inner
        chain = (*call_chain, workflow.name) if call_chain else (workflow.name,)
        merged = {**workflow.defaults, **(params or {})}
        ctx = WorkflowContext(run_id or new_run_id(), workflow.name, merged, seed_outputs, chain)
        ctx.cancel_event = cancel
        run = _Run(self, workflow, ctx, cancel, parent_run_id, set(seed_outputs or ()))
        if restored:
            run.restore(restored)
        if not self.capture_logs:
            return run.go()
        with capturing_run():
            return run.go()

    def wait_for_background(self, timeout: float | None = None) -> None:
        """Block until fire-and-forget sub-workflows started by this runner have finished,
        including those they start themselves while we wait."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._background_lock:
                self._background = [t for t in self._background if t.is_alive()]
                pending = list(self._background)
            if not pending:
                return
            for thread in pending:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return
                thread.join(left)

    def start_background(self, target: Callable[[], Any], name: str) -> None:
        thread = threading.Thread(target=target, name=name)
        with self._background_lock:
            self._background.append(thread)
        thread.start()

    # ------------------------------------------------------------------ steps
    def run_step(self, step: Step, ctx: WorkflowContext, state: StepState,
                 config: Mapping[str, Any] | None = None) -> StepState:
        """Execute one step with its retry policy and timeout, filling ``state``."""
        cfg = step.config if config is None else config
        policy = step.retry_policy  # given a policy, retry; on_error decides after the last
        workflow = ctx.workflow_name
        state.status = RunStatus.RUNNING
        state.started_at = datetime.now(UTC)
        start = time.perf_counter()
        attempt = 0
        definition_error: BaseException | None = None
        while True:
            attempt += 1
            state.attempts = attempt
            if attempt > 1:  # details of an earlier failed attempt must not describe this one
                state.error_type = state.traceback = None
            if self._listeners:
                self.emit(StepStarted(run_id=ctx.run_id, workflow=workflow, at=_now(),
                                      step=step.name, attempt=attempt))
            try:
                result = self._attempt(step, ctx, cfg, state)
            except DEFINITION_ERRORS as exc:  # finish the step's record, then fail the run
                definition_error = exc
                result = StepResult.fail(str(exc), category=ErrorCategory.CONFIGURATION)
                break
            if (result.success or policy is None
                    or not policy.should_retry(attempt, result.category)
                    or (ctx.cancel_event is not None and ctx.cancel_event.is_set())):
                break
            delay = policy.delay_before(attempt + 1)
            if self._listeners:
                self.emit(StepRetrying(run_id=ctx.run_id, workflow=workflow, at=_now(),
                                       step=step.name, attempt=attempt + 1, delay_seconds=delay,
                                       error=result.error, category=result.category))
            if delay:
                time.sleep(delay)
        state.duration = time.perf_counter() - start
        state.finished_at = datetime.now(UTC)
        state.status = result.status
        state.output = result.output
        state.error = result.error  # None on success, the reason when skipped
        if result.success:
            state.category = state.error_type = state.traceback = None
        else:
            state.category = result.category
            if result.category == _CANCELLED and ctx.cancel_event is not None \
                    and ctx.cancel_event.is_set():
                state.status = RunStatus.CANCELLED  # stopped by the run's cancel, not broken
        if self._listeners:
            self.emit(StepFinished(run_id=ctx.run_id, workflow=workflow, at=state.finished_at,
                                   step=step.name, status=state.status.value, attempt=attempt,
                                   duration_seconds=state.duration, output=state.output,
                                   error=state.error, category=state.category,
                                   error_type=state.error_type,
                                   child_run_id=state.child_run_id))
        if definition_error is not None:
            raise definition_error
        return state

    def _attempt(self, step: Step, ctx: WorkflowContext, config: Mapping[str, Any],
                 state: StepState) -> StepResult:
        try:
            if step.timeout_seconds is None or step.step_type is StepType.WORKFLOW:
                return self._dispatch(step, ctx, config, state)
            return self._dispatch_with_timeout(step, ctx, config, state)
        except DEFINITION_ERRORS as exc:
            state.error_type = type(exc).__name__
            raise
        except Exception as exc:
            state.error_type = type(exc).__name__
            state.traceback = traceback.format_exc()
            return StepResult.fail(_describe(exc), category=_category_of(exc))

    def _dispatch(self, step: Step, ctx: WorkflowContext, config: Mapping[str, Any],
                  state: StepState) -> StepResult:
        if not self.capture_logs:
            return self._dispatch_kind(step, ctx, config, state)
        with capture_step(self.emit, ctx.run_id, ctx.workflow_name, step.name):
            return self._dispatch_kind(step, ctx, config, state)

    def _dispatch_kind(self, step: Step, ctx: WorkflowContext, config: Mapping[str, Any],
                       state: StepState) -> StepResult:
        kind = step.step_type
        if kind is StepType.LAMBDA:
            return call_handler(step.handler, True, config, ctx, step.name)  # type: ignore[arg-type]
        if kind is StepType.FUNCTION:
            return call_handler(step.handler, False, config, ctx, step.name)  # type: ignore[arg-type]
        if kind is StepType.PIPELINE:
            fn = get_pipeline(step.pipeline_name or "")
            return call_handler(fn, signature_of(fn).context_style, config, ctx, step.name)
        if kind is StepType.WORKFLOW:
            return composition.run_subworkflow(self, step, ctx, state)
        if kind is StepType.MAP:
            return composition.run_map(self, step, ctx, config)
        if kind is StepType.WAIT:
            time.sleep(step.duration_seconds)
            return StepResult.ok(output={"waited_seconds": step.duration_seconds})
        raise AssertionError(f"unhandled step type {kind}")

    def _dispatch_with_timeout(self, step: Step, ctx: WorkflowContext,
                               config: Mapping[str, Any], state: StepState) -> StepResult:
        """Run the handler on a helper thread and give up waiting after ``timeout_seconds``.

        Python cannot kill a thread, so a timed-out handler keeps running in the background;
        its late result is discarded (the same trade-off Prefect makes for thread timeouts).
        """
        box: dict[str, Any] = {}
        done = threading.Event()

        def target() -> None:
            try:
                box["result"] = self._dispatch(step, ctx, config, state)
            except BaseException as exc:  # handed back to the waiting thread below
                box["error"] = exc
                box["tb"] = traceback.format_exc()
            finally:
                done.set()

        threading.Thread(target=target, name=f"step-{step.name}", daemon=True).start()
        if not done.wait(step.timeout_seconds):
            state.error_type = StepTimeoutError.__name__
            return StepResult.fail(
                f"step {step.name!r} exceeded its timeout of {step.timeout_seconds:g}s",
                category=ErrorCategory.TIMEOUT)
        if "error" in box:
            exc = box["error"]
            if isinstance(exc, DEFINITION_ERRORS):
                raise exc
            state.traceback = box["tb"]
            raise exc
        return box["result"]  # type: ignore[no-any-return]


class _Run:
    """One execution of one workflow: the scheduling loop and its bookkeeping."""

    def __init__(self, runner: WorkflowRunner, workflow: Workflow, ctx: WorkflowContext,
                 cancel: threading.Event | None, parent_run_id: str | None,
                 seeded: set[str]) -> None:
        self.runner = runner
        self.workflow = workflow
        self.ctx = ctx
        self.cancel = cancel
        self.parent_run_id = parent_run_id
        self.seeded = seeded
        self.plan = workflow.plan
        self.states = [StepState(name) for name in self.plan.names]
        self.blocked = [False] * len(self.states)  # a dependency failed fatally or was cancelled
        self.error: str | None = None
        self.error_step: str | None = None
        self.definition_error: BaseException | None = None
        self.cancelled = False

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
        started_at = _now()
        start = time.perf_counter()
        self.runner.emit(RunStarted(run_id=ctx.run_id, workflow=wf.name, at=started_at,
                                    params=dict(ctx.params), step_names=self.plan.names,
                                    parent_run_id=self.parent_run_id, version=wf.version))
        try:
            pipelines, workflows = missing_references(wf)
            if pipelines:
                raise UnknownPipelineError(pipelines, wf.name)
            if workflows:
                raise UnknownWorkflowError(workflows, wf.name)
            if wf.mode is ExecutionMode.PARALLEL and len(self.states) > 1:
                self._run_parallel()
            else:
                self._run_sequential()
        except DEFINITION_ERRORS as exc:
            self.definition_error = exc
            self.error = self.error or str(exc)
        self._skip_rest()
        status = self._final_status()
        finished_at = _now()
        result = WorkflowResult(
            run_id=ctx.run_id, workflow_name=wf.name, status=status, params=dict(ctx.params),
            outputs={k: v for k, v in ctx.outputs.items() if k not in self.seeded},
            steps={s.name: s.freeze() for s in self.states}, error=self.error,
            error_step=self.error_step, started_at=started_at, finished_at=finished_at,
            duration_seconds=time.perf_counter() - start)
        self.runner.emit(RunFinished(run_id=ctx.run_id, workflow=wf.name, at=finished_at,
                                     status=status.value, error=self.error,
                                     error_step=self.error_step,
                                     duration_seconds=result.duration_seconds))
        if self.definition_error is not None:
            raise self.definition_error
        return result

    # ------------------------------------------------------------------ modes
    def _run_sequential(self) -> None:
        steps, deps, states, blocked = self.workflow.steps, self.plan.deps, self.states, self.blocked
        run_step, ctx = self.runner.run_step, self.ctx
        stop_on_failure = self.workflow.execution_policy.on_failure is not ErrorPolicy.CONTINUE
        for i in self.plan.order:
            if self._should_skip(i, deps[i]):
                continue
            try:
                state = run_step(steps[i], ctx, states[i])
            except DEFINITION_ERRORS:
                self._mark_failed(i)
                raise
            if state.status is RunStatus.COMPLETED:
                ctx.set_output(state.name, state.output)
            elif state.status is RunStatus.FAILED:
                self._on_failure(i)
                if blocked[i] and stop_on_failure:
                    return
            elif state.status is RunStatus.CANCELLED:
                self._mark_cancelled(i)

    def _run_parallel(self) -> None:
        steps, deps, dependents = self.workflow.steps, self.plan.deps, self.plan.dependents
        states, ctx, run_step, cancel = self.states, self.ctx, self.runner.run_step, self.cancel
        remaining = [len(d) for d in deps]
        ready = deque(i for i, n in enumerate(remaining) if n == 0)
        done: SimpleQueue[tuple[int, bool, BaseException | None]] = SimpleQueue()
        halt_on_failure = self.workflow.execution_policy.on_failure is not ErrorPolicy.CONTINUE
        halt = threading.Event()
        inflight = 0

        def work(i: int) -> None:
            # Ready steps are queued ahead for speed, so the worker re-checks before starting:
            # nothing starts after a halting failure or a cancel, even if it was queued.
            if halt.is_set() or (cancel is not None and cancel.is_set()):
                done.put((i, False, None))
                return
            try:
                state = run_step(steps[i], ctx, states[i])
            except BaseException as exc:  # handed to the scheduling thread
                halt.set()
                done.put((i, True, exc))
                return
            if (halt_on_failure and state.status is RunStatus.FAILED
                    and steps[i].on_error is not ErrorPolicy.CONTINUE):
                halt.set()  # here, not on the scheduler, so the next queued step already sees it
            done.put((i, True, None))

        max_workers = self.workflow.execution_policy.max_concurrency
        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="spine-step") as pool:
            while ready or inflight:
                while ready:
                    i = ready.popleft()
                    if halt.is_set() or self._should_skip(i, deps[i]):
                        self._release(i, dependents, remaining, ready)
                        continue
                    pool.submit(work, i)
                    inflight += 1
                if not inflight:
                    break
                i, started, exc = done.get()
                inflight -= 1
                state = states[i]
                if not started:
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
                elif state.status is RunStatus.FAILED:
                    self._on_failure(i)
                elif state.status is RunStatus.COMPLETED:
                    ctx.set_output(state.name, state.output)
                elif state.status is RunStatus.CANCELLED:
                    self._mark_cancelled(i)
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
        if state.status is RunStatus.COMPLETED:
            return True  # restored from an earlier attempt of this run
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
        state, step = self.states[i], self.workflow.steps[i]
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
        reason = f"not run: step {self.error_step!r} failed" if self.error_step else "not run"
        for state in self.states:
            if state.status is RunStatus.PENDING:
                state.status = RunStatus.SKIPPED
                state.error = reason

    def _final_status(self) -> RunStatus:
        if self.definition_error is not None or self.error_step is not None:
            return RunStatus.FAILED
        if self.cancelled:
            return RunStatus.CANCELLED
        return RunStatus.COMPLETED


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _category_of(exc: BaseException) -> str:
    """Error category for an exception: its ``category`` attribute, else a best guess."""
    explicit = getattr(exc, "category", None)
    if explicit:
        return str(getattr(explicit, "value", explicit)).upper()
    if isinstance(exc, TimeoutError):
        return ErrorCategory.TIMEOUT.value
    if isinstance(exc, ConnectionError):
        return ErrorCategory.TRANSIENT.value
    from .errors import StepOutputError
    from .invoke import MissingArgumentError
    if isinstance(exc, StepOutputError | MissingArgumentError):
        return ErrorCategory.VALIDATION.value
    return ErrorCategory.INTERNAL.value
