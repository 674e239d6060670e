"""``WorkflowRunner``: executes a workflow's DAG in memory and emits the run's events.

The runner owns how one step runs (retries, timeouts, log capture, dispatch by step type);
the scheduling loop of a run lives in ``engine.run_loop``. Attach ``RunSignals`` to pause,
resume or cancel a run from another thread and to decide its approval steps.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from . import composition
from .adaptive.control import ContinueAsNew, artifact_outputs, restore_current, set_current
from .circuit_breaker import CircuitBreaker, CircuitOpenError, breaker_for
from .context import WorkflowContext
from .errors import StepOutputError, StepTimeoutError
from .events import (
    Event,
    Listener,
    RunOrigin,
    StepFinished,
    StepRetrying,
    StepStarted,
    dispatch,
)
from .executors import Executor, ExecutorLike, RunExecutors
from .executors.checks import runs_in_coordinator
from .executors.remote import remote_attempt
from .ids import new_run_id
from .ids import now as _now
from .invoke import MissingArgumentError, call_handler, signature_of
from .logcapture import capture_step, capturing_run
from .params import resolve_params
from .policies import ErrorCategory
from .registry import get_pipeline
from .results import RunStatus, StepResult, WorkflowResult
from .run_loop import DEFINITION_ERRORS, RunLoop
from .secrets.masking import mask_event
from .signals import RunSignals, approve_without_store
from .step_scope import StepStop, enter_step, leave_step
from .step_state import StepState
from .steps import Step, StepType
from .workflow import Workflow

__all__ = ["DEFINITION_ERRORS", "ContinuedRun", "StepState", "WorkflowRunner"]

_CANCELLED = ErrorCategory.CANCELLED.value
#: step kinds that watch their own timeout instead of running on a helper thread
_OWN_TIMEOUT = (StepType.WORKFLOW, StepType.APPROVAL)
#: step kinds that call a handler, and so may run on another executor
_HANDLER_STEPS = (StepType.LAMBDA, StepType.FUNCTION, StepType.PIPELINE)
#: how long a timed-out step that honours its stop request (a job killing its process tree:
#: SIGTERM, the grace, SIGKILL) may take to wind down before the runner stops waiting
STOP_WAIT_SECONDS = 30.0


class WorkflowRunner:
    """Runs workflows in memory; subscribe listeners to observe every event of every run."""

    def __init__(self, *, listeners: Iterable[Listener] = (), capture_logs: bool = False,
                 artifact_store: Any = None, executor: ExecutorLike = None) -> None:
        #: handed to handlers as ``ctx.artifact_store`` (tracked runs get a local store)
        self.artifact_store = artifact_store
        self._listeners: list[Listener] = list(listeners)
        #: turn steps' prints and log records into LogLine events (tracked runs do)
        self.capture_logs = capture_logs
        self._background: list[threading.Thread] = []
        self._background_lock = threading.Lock()
        #: signals of runs in flight by run id (approval steps look theirs up)
        self._signals: dict[str, RunSignals] = {}
        #: where handlers run: "threads" (default), "processes", "dask", or an ``Executor``
        #: the caller starts and closes (see ``engine.executors``); steps may choose their own
        self.executor = executor
        #: the executors of runs in flight by run id (map items and sub-workflows share them)
        self._executors: dict[str, RunExecutors] = {}

    # ------------------------------------------------------------------ events
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Receive every event; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def emit(self, event: Event) -> None:
        """Deliver ``event``, with known secret values masked, to every listener."""
        if self._listeners:
            dispatch(tuple(self._listeners), mask_event(event))

    # ------------------------------------------------------------------ public
    def execute(self, workflow: Workflow, params: Mapping[str, Any] | None = None, *,
                run_id: str | None = None, cancel: threading.Event | None = None,
                parent_run_id: str | None = None, parent_step: str | None = None,
                call_chain: tuple[str, ...] = (),
                seed_outputs: Mapping[str, Any] | None = None,
                restored: Mapping[str, Any] | None = None,
                signals: RunSignals | None = None,
                origin: RunOrigin | None = None) -> WorkflowResult:
        """Run ``workflow`` to the end and return its result.

        ``restored`` maps step names to outputs of an earlier attempt of this run (resume):
        those steps count as completed and are not executed again. ``signals`` pauses,
        resumes or cancels the run from another thread and decides its approval steps; its
        cancel event is the run's unless ``cancel`` is given. ``parent_run_id`` and
        ``parent_step`` name the run and step a sub-workflow runs for (in ``RunStarted``).
        ``origin`` (who started the run, its source, partition and version) rides on
        ``RunStarted``; without one the run was started by a ``script``.

        Raises (after recording the run as failed) only for definition errors: unknown
        pipelines or sub-workflows and sub-workflow cycles. Step failures never raise; they
        are in the result.

        When a step calls ``ctx.continue_as_new``, the run ends completed and a fresh run of
        the workflow starts with the new params (new run id; each run is recorded on its own,
        linked by ``continue_as_new``/``continued_from`` changes); the chain is followed to its
        end and the *last* run's result is returned, as Temporal's client does. Continued runs
        share the cancel event; each link runs through ``continue_run`` (a tracked runner gives
        every link its own creation event, admission and control signals there).
        """
        if not isinstance(workflow, Workflow):
            inner = getattr(workflow, "workflow", None)
            if not isinstance(inner, Workflow):
                raise TypeError(f"execute() needs a Workflow, got {type(workflow).__name__}")
            workflow = inner
        if signals is not None and cancel is None:
            cancel = signals.cancel_event
        if parent_run_id is None:  # a handler no worker could run: refused before RunStarted
            self.check_workflow(workflow)
        parent = (parent_run_id, parent_step)
        run = self._loop(workflow, params, run_id or new_run_id(), cancel, parent,
                         call_chain, seed_outputs, origin=origin)
        if restored:
            run.restore(restored)
        result = self._run(run, signals)
        chain: tuple[str, ...] = ()
        link: RunLoop | None = run
        while (link is not None and link.continuation is not None
               and result.status is RunStatus.COMPLETED):
            continuation = link.continuation
            chain = (*chain, result.run_id)
            seed = artifact_outputs(link.ctx.outputs) if continuation.preserve_artifacts else None
            link, result = self.continue_run(ContinuedRun(
                workflow, continuation.run_id, continuation.params, seed, chain, parent,
                call_chain, cancel, _continued(origin)))
        return result

    def continue_run(self, link: ContinuedRun) -> tuple[RunLoop | None, WorkflowResult]:
        """Run one ``continue_as_new`` link; returns its loop (None when it never ran, which
        ends the chain) and result. Subclasses wrap this (a tracked runner does)."""
        return self.run_link(link, None)

    def run_link(self, link: ContinuedRun, signals: RunSignals | None
                 ) -> tuple[RunLoop, WorkflowResult]:
        """Build and run a continued link's loop, with its own ``signals`` if given."""
        run = self._loop(link.workflow, link.params, link.run_id, link.cancel, link.parent,
                         link.call_chain, link.seed, continued_from=link.chain,
                         origin=link.origin)
        return run, self._run(run, signals)

    def _loop(self, workflow: Workflow, params: Mapping[str, Any] | None, run_id: str,
              cancel: threading.Event | None, parent: tuple[str | None, str | None],
              call_chain: tuple[str, ...], seed_outputs: Mapping[str, Any] | None,
              continued_from: tuple[str, ...] = (), *,
              origin: RunOrigin | None = None) -> RunLoop:
        chain = (*call_chain, workflow.name) if call_chain else (workflow.name,)
        ctx = WorkflowContext(run_id, workflow.name, resolve_params(workflow, params),
                              seed_outputs, chain)
        ctx.cancel_event = cancel
        ctx.artifact_store = self.artifact_store
        if origin is not None:
            ctx.started_by = origin.started_by
        return RunLoop(self, workflow, ctx, cancel, parent[0], set(seed_outputs or ()),
                       None, continued_from, parent_step=parent[1], origin=origin)

    def _run(self, run: RunLoop, signals: RunSignals | None) -> WorkflowResult:
        if signals is None:
            return self._go(run)
        run.signals = signals
        self._signals[run.ctx.run_id] = signals
        try:
            return self._go(run)
        finally:
            self._signals.pop(run.ctx.run_id, None)

    def _go(self, run: RunLoop) -> WorkflowResult:
        try:
            if not self.capture_logs:
                return run.go()
            with capturing_run():
                return run.go()
        finally:
            self.release_executors(run.ctx.run_id, run.parent_run_id)

    def prepare_executors(self, workflow: Workflow, run_id: str,
                          parent_run_id: str | None = None) -> None:
        """Choose and start the run's executors, refusing handlers a worker could not run
        (``HandlerNotPortableError``) and an unreachable cluster (``ExecutorUnavailableError``)
        before any step runs; a sub-workflow run shares its parent's."""
        shared = self._executors.get(parent_run_id or "")
        executors = shared or RunExecutors(self.executor, workflow)
        self._executors[run_id] = executors
        executors.check(workflow)
        if shared is None:
            executors.start()

    def check_workflow(self, workflow: Workflow) -> None:
        """Refuse, without starting anything, handlers the run's executors could not run."""
        RunExecutors(self.executor, workflow).check(workflow)

    def release_executors(self, run_id: str, parent_run_id: str | None = None) -> None:
        executors = self._executors.pop(run_id, None)
        if executors is not None and self._executors.get(parent_run_id or "") is not executors:
            executors.close()

    def signals_for(self, run_id: str) -> RunSignals | None:
        """The signals attached to an in-flight run (sub-workflows inherit their parent's)."""
        return self._signals.get(run_id)

    def detached_signals(self, run_id: str, workflow: str
                         ) -> AbstractContextManager[RunSignals | None]:
        """The signals a detached sub-workflow run (``wait=False``) runs under, live while
        the block runs: none here, so its approval steps fail with the untracked run's
        error; a tracked runner gives it its own, obeying commands sent to its run id."""
        del run_id, workflow
        return nullcontext(None)

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
        state.started = time.time()
        start = time.perf_counter()
        attempt = 0
        definition_error: BaseException | None = None
        breaker = None if step.circuit_breaker is None else breaker_for(step.circuit_breaker)
        while True:
            attempt += 1
            state.attempts = attempt
            if attempt > 1:  # details of an earlier failed attempt must not describe this one
                state.error_type = state.traceback = None
            if self._listeners:
                self.emit(StepStarted(run_id=ctx.run_id, workflow=workflow, at=_now(),
                                      step=step.name, attempt=attempt))
            try:
                result = self._attempt(step, ctx, cfg, state) if breaker is None else \
                    self._guarded_attempt(breaker, step, ctx, cfg, state)
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
        state.finished = time.time()
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
            self.emit(StepFinished(run_id=ctx.run_id, workflow=workflow, at=state.finished_at or _now(),
                                   step=step.name, status=state.status.value, attempt=attempt,
                                   duration_seconds=state.duration, output=state.output,
                                   error=state.error, category=state.category,
                                   error_type=state.error_type,
                                   child_run_id=state.child_run_id, worker=state.worker))
        if definition_error is not None:
            raise definition_error
        return state

    def _guarded_attempt(self, breaker: CircuitBreaker, step: Step, ctx: WorkflowContext,
                         config: Mapping[str, Any], state: StepState) -> StepResult:
        """One attempt behind the step's circuit breaker: refused at once while it is open,
        else run and its outcome counted on the breaker."""
        refused = breaker.refuse(step.name)
        if refused is not None:
            state.error_type = CircuitOpenError.__name__
            return refused
        result = self._attempt(step, ctx, config, state)
        breaker.record_outcome(result)
        return result

    def _attempt(self, step: Step, ctx: WorkflowContext, config: Mapping[str, Any],
                 state: StepState) -> StepResult:
        try:
            remote = self._remote_executor(step, ctx)
            if remote is not None:
                return remote_attempt(remote, step, ctx, config, state, self.emit,
                                      self.capture_logs)
            if step.timeout_seconds is None or step.step_type in _OWN_TIMEOUT:
                return self._dispatch(step, ctx, config, state)
            return self._dispatch_with_timeout(step, ctx, config, state)
        except DEFINITION_ERRORS as exc:
            state.error_type = type(exc).__name__
            raise
        except ContinueAsNew as signal:  # the step ends here, completed; the run winds down
            return StepResult.ok(output={"continued_as": signal.run_id})
        except Exception as exc:
            state.error_type = type(exc).__name__
            state.traceback = traceback.format_exc()
            return StepResult.fail(_describe(exc), category=_category_of(exc))

    def _remote_executor(self, step: Step, ctx: WorkflowContext) -> Executor | None:
        """The remote executor a handler step runs on in this run; None: on this process.

        Job steps always run here, whatever the executor: their job is already a process of
        its own that the step starts, streams and stops (see ``engine.executors.checks``)."""
        if step.step_type not in _HANDLER_STEPS or runs_in_coordinator(step):
            return None
        executors = self._executors.get(ctx.run_id)
        return None if executors is None else executors.for_step(step)

    def _dispatch(self, step: Step, ctx: WorkflowContext, config: Mapping[str, Any],
                  state: StepState, stop: StepStop | None = None) -> StepResult:
        scope = enter_step(ctx.run_id, ctx.workflow_name, step.name,  # engine.step_scope
                           self.emit, stop)
        try:
            if not self.capture_logs:
                return self._dispatch_kind(step, ctx, config, state)
            with capture_step(self.emit, ctx.run_id, ctx.workflow_name, step.name):
                return self._dispatch_kind(step, ctx, config, state)
        finally:
            leave_step(scope)

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
        if kind is StepType.WAIT:  # a cancel ends the wait at once instead of sleeping it out
            if ctx.cancel_event is not None and ctx.cancel_event.wait(step.duration_seconds):
                return StepResult.fail(f"wait {step.name!r} ended by the run's cancel",
                                       category=ErrorCategory.CANCELLED)
            if ctx.cancel_event is None:
                time.sleep(step.duration_seconds)
            return StepResult.ok(output={"waited_seconds": step.duration_seconds})
        if kind is StepType.APPROVAL:
            signals = self._signals.get(ctx.run_id)
            if signals is None:
                return approve_without_store(step)
            return signals.await_approval(step, ctx)
        raise AssertionError(f"unhandled step type {kind}")

    def _dispatch_with_timeout(self, step: Step, ctx: WorkflowContext,
                               config: Mapping[str, Any], state: StepState) -> StepResult:
        """Run the handler on a helper thread and give up waiting after ``timeout_seconds``.

        Python cannot kill a thread, so a timed-out handler keeps running in the background;
        its late result is discarded (the same trade-off Prefect makes for thread timeouts).
        A handler that honours the step's ``StepStop`` (a job step: it kills the job's process
        tree through its adapter) is asked to stop and waited for, and the step's error adds
        what it stopped.
        """
        box: dict[str, Any] = {}
        done = threading.Event()
        stop = StepStop()

        def target() -> None:
            set_current(ctx._adaptive, step.name)  # the step's requests name this step
            try:
                box["result"] = self._dispatch(step, ctx, config, state, stop)
            except BaseException as exc:  # handed back to the waiting thread below
                box["error"] = exc
                box["tb"] = traceback.format_exc()
            finally:
                restore_current(None)
                done.set()

        threading.Thread(target=target, name=f"step-{step.name}", daemon=True).start()
        if not done.wait(step.timeout_seconds):
            state.error_type = StepTimeoutError.__name__
            message = f"step {step.name!r} exceeded its timeout of {step.timeout_seconds:g}s"
            stop.request(message)
            if stop.honoured and done.wait(STOP_WAIT_SECONDS):
                late = box.get("result")
                if isinstance(late, StepResult) and late.error:
                    message = f"{message}; {late.error}"
            return StepResult.fail(message, category=ErrorCategory.TIMEOUT)
        if "error" in box:
            exc = box["error"]
            if isinstance(exc, DEFINITION_ERRORS):
                raise exc
            state.traceback = box["tb"]
            raise exc
        return box["result"]  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class ContinuedRun:
    """One ``continue_as_new`` link to run: the next run's id and params, the artifact outputs
    it is seeded with, and the chain of runs it continues (oldest first)."""

    workflow: Workflow
    run_id: str
    params: dict[str, Any]
    seed: Mapping[str, Any] | None
    chain: tuple[str, ...]
    parent: tuple[str | None, str | None]
    call_chain: tuple[str, ...]
    cancel: threading.Event | None
    origin: RunOrigin | None


def _continued(origin: RunOrigin | None) -> RunOrigin | None:
    """A ``continue_as_new`` run's origin: the same starter, source and version; it is no
    partition's run and re-executes nothing."""
    if origin is None:
        return None
    return RunOrigin(started_by=origin.started_by, source=origin.source, version=origin.version)


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
    if isinstance(exc, StepOutputError | MissingArgumentError):
        return ErrorCategory.VALIDATION.value
    return ErrorCategory.INTERNAL.value
