"""``WorkflowPlayground``: step through a workflow, go back to any snapshot, edit and re-run."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ..events import StepFinished, StepStarted
from ..ids import new_run_id
from ..policies import ExecutionMode
from ..results import RunStatus, StepRun
from ..serialization import first_unserializable
from ..steps import StepType
from .breakpoints import (
    Breakpoint,
    Condition,
    ExpressionCondition,
    Pause,
    StopReason,
    expression_condition,
)
from .errors import (
    BreakpointError,
    InvalidEditError,
    PlaygroundError,
    StepNotReadyError,
    StepNotRunError,
)
from .nested import SteppedInto, child_spec
from .session import PlaygroundSession, _Child, _short
from .state import ContextView, Snapshot, SnapshotKind, State, initial_state


class WorkflowPlayground(PlaygroundSession):
    """Run a workflow one step at a time, return to any earlier point, edit and re-run.

    Every change (a step, a re-run, an edited param or output) is an immutable ``Snapshot``
    on a timeline that ``step_back``/``rewind``/``goto`` move along by pointer. Breakpoints
    (on step names or conditions over the context) pause ``continue_``/``run_to``;
    sub-workflow and map steps can be stepped over (``step``) or into (``step_into``).
    Edit and continue: ``reload``/``reload_file`` swap in an edited definition, keeping the
    records of unchanged steps and marking the rest stale (``stale_steps``);
    ``continue_stale`` re-runs those, ``retry_stored`` retries a ``load_run`` run for real.
    Pass a runner with listeners to see the steps' events. Not thread-safe, except
    ``interrupt()``.
    """

    # ------------------------------------------------------------------ views
    @property
    def child(self) -> WorkflowPlayground | None:
        """The playground of the stepped-into sub-workflow or map, if any."""
        return self._child.playground if self._child is not None else None

    @property
    def stepped_into(self) -> SteppedInto | None:
        """Which step the open child playground is for, and what kind of step it is."""
        entered = self._child
        if entered is None:
            return None
        workflow = entered.playground.workflow
        return SteppedInto(entered.step, entered.kind, workflow.name if workflow else "")

    @property
    def stack(self) -> tuple[WorkflowPlayground, ...]:
        """This playground and its stepped-into children, outermost first."""
        chain: list[WorkflowPlayground] = [self]
        entered = self._child
        while entered is not None:
            chain.append(entered.playground)
            entered = entered.playground._child
        return tuple(chain)

    @property
    def innermost(self) -> WorkflowPlayground:
        """The deepest open child (``self`` when nothing is stepped into): where a
        debugger's step, back and continue apply."""
        return self.stack[-1]

    @property
    def composite_steps(self) -> frozenset[str]:
        """Steps ``step_into`` can open: sub-workflow and map steps, and a map's items."""
        if not self._timeline:
            return frozenset()
        steps = self._state.steps
        return frozenset(s.name for s in steps if s.step_type in (StepType.WORKFLOW,
                                                                  StepType.MAP)) | set(self._into)

    @property
    def breakpoints(self) -> tuple[Breakpoint, ...]:
        return tuple(self._breakpoints.values())

    # ------------------------------------------------------------------ stepping
    def step(self, name: str | None = None) -> Snapshot:
        """Run the next step in plan order (or the ready step ``name``) and return its snapshot."""
        state = self._ready_state()
        return self._execute(self._runnable_index(state, name), SnapshotKind.STEP)

    def step_ready(self) -> list[Snapshot]:
        """Run every step that is ready now, concurrently in PARALLEL workflows (up to
        ``max_concurrency``); snapshots are recorded in plan order."""
        state = self._ready_state()
        self._runnable_index(state, None)  # raises when halted or at the end
        frontier = state.ready_indices()
        to_run = [i for i in frontier if state.blocking_dependency(i) is None]
        names = [state.plan.names[i] for i in frontier]
        if state.policy.mode is not ExecutionMode.PARALLEL or len(to_run) < 2:
            done = []
            for name in names:
                if self._state.halted_by is not None:
                    break
                if name not in self._state.runs:  # an adaptive change may have skipped it
                    done.append(self._execute(self._state.plan.index[name], SnapshotKind.STEP))
            return done
        ctx = self._live_context()
        workers = min(state.policy.max_concurrency, len(to_run))
        with ThreadPoolExecutor(workers, thread_name_prefix="playground-step") as pool:
            ran = dict(zip((state.plan.names[i] for i in to_run),
                           pool.map(lambda i: self._run_step(state.steps[i], ctx), to_run),
                           strict=True))
        done = []
        for name in names:  # recorded in plan order; each may apply its step's changes
            if name in ran:
                done.append(self._record(SnapshotKind.STEP, ran[name]))
            elif name not in self._state.runs and name in self._state.plan.index:
                done.append(self._execute(self._state.plan.index[name], SnapshotKind.STEP))
        return done

    def rerun(self, step: str) -> Snapshot:
        """Run a step that already has a result again, with the current params and outputs."""
        state = self._ready_state()
        i = self._index(state, step)
        if step not in state.runs:
            raise StepNotRunError(f"step {step!r} has not run yet; step() or run_to() runs it "
                                  "the first time")
        return self._execute(i, SnapshotKind.RERUN, force=True)

    def continue_(self) -> list[Snapshot]:
        """Run steps until a breakpoint, a failure (``break_on_failure``) or the end.

        With a stepped-into child open, the child continues first; a child that reaches its
        end is stepped out of and this playground goes on, as a debugger's continue leaves a
        finished frame (pdb, Temporal's replayer). Snapshots come innermost first; where it
        stopped is ``innermost.last_stop``.
        """
        self._interrupt.clear()  # an interrupt() from here on still reaches the parent loop
        done: list[Snapshot] = []
        if self._child is not None:
            child = self._child.playground
            done = child.continue_()
            if child._child is not None or child.last_stop is None or \
                    child.last_stop.reason is not StopReason.END:
                return done  # paused inside the child
            snap = self.step_out()
            done.append(snap)
            stop = self._stop_after(snap)
            if stop is not None:
                self.last_stop, self._paused_pos = stop, self._pos
                return done
        self._ready_state()
        return done + self._run_until(None)

    def run_to(self, step: str) -> list[Snapshot]:
        """Run steps until ``step`` is next and stop before it (breakpoints still pause)."""
        state = self._ready_state()
        self._index(state, step)
        if step in state.runs:
            raise StepNotReadyError(f"step {step!r} already ran; goto() a snapshot from before "
                                    f"it, or rerun({step!r})")
        self._interrupt.clear()
        return self._run_until(step)

    def interrupt(self) -> None:
        """Ask a running ``continue_``/``run_to`` (on another thread) to pause before its
        next step, at whatever depth of stepped-into children it is running."""
        for pg in self.stack:
            pg._interrupt.set()

    # ------------------------------------------------------------------ edits
    def set_param(self, key: str, value: Any) -> Snapshot:
        """Change one run param from here on (recorded as a snapshot, so it can be undone)."""
        return self.set_params({key: value})

    def set_params(self, values: Mapping[str, Any]) -> Snapshot:
        state = self._ready_state()
        bad = [k for k in values if not isinstance(k, str) or not k]
        if bad:
            raise InvalidEditError(f"param names must be non-empty strings, got {bad!r}")
        note = ", ".join(f"{k} = {_short(v)}" for k, v in values.items())
        return self._push(SnapshotKind.SET_PARAM, None, None,
                          state.evolve(params={**state.params, **values}), note)

    def set_output(self, step: str, value: Any, *, rerun_dependents: bool = True
                   ) -> list[Snapshot]:
        """Replace a step's output (a failed step then counts as completed) and re-run the
        steps downstream of it that had already run; returns the edit's and re-runs' snapshots."""
        state = self._ready_state()
        i = self._index(state, step)
        old = state.runs.get(step)
        if old is None:
            raise StepNotRunError(f"step {step!r} has not run yet, so it has no output to edit; "
                                  f"run_to({step!r}) and step() run it first")
        bad = first_unserializable(value)
        if bad is not None:
            raise InvalidEditError(f"output for step {step!r} has {bad[1]} at {bad[0]}, which "
                                   "is not JSON-serialisable")
        run = replace(old, status=RunStatus.COMPLETED, output=value, error=None,
                      error_category=None, error_type=None, traceback=None)
        new = state.with_run(run, keep_position=True).release_skipped()
        stale = _ran_descendants(new, i) if rerun_dependents else []
        new = new.without_runs([state.plan.names[j] for j in stale])
        done = [self._push(SnapshotKind.SET_OUTPUT, step, run, new, f"{step} output edited")]
        for j in stale:
            current = self._state
            if current.halted_by is not None:
                break  # the rest stay pending, to run once the failure is dealt with
            if all(current.plan.names[d] in current.runs for d in current.plan.deps[j]):
                done.append(self._execute(j, SnapshotKind.RERUN))
        return done

    # ------------------------------------------------------------------ breakpoints
    def add_breakpoint(self, step: str | None = None, *, when: Condition | str | None = None
                       ) -> Breakpoint:
        """Pause ``continue_``/``run_to`` before ``step`` (if ``when(ctx)`` holds, when given),
        or with no step as soon as ``when(ctx)`` holds after a step.

        ``when`` may be a callable or the text of an expression (``expression_condition``).
        A callable that raises fails the ``continue_`` with ``BreakpointError``; an expression
        that raises pauses there, with the error on ``last_stop.error``.
        """
        if step is None and when is None:
            raise BreakpointError("a breakpoint needs a step name, a when= condition, or both")
        if isinstance(when, str):
            when = expression_condition(when)
        if when is not None and not callable(when):
            raise BreakpointError(f"when= must be callable as when(ctx), got {type(when).__name__}")
        if step is not None:
            self._index(self._require_loaded()[self._pos].state, step)
        bp = Breakpoint(next(self._breakpoint_ids), step, when)
        self._breakpoints[bp.id] = bp
        return bp

    def remove_breakpoint(self, breakpoint: Breakpoint | int) -> None:
        key = breakpoint.id if isinstance(breakpoint, Breakpoint) else breakpoint
        if self._breakpoints.pop(key, None) is None:
            raise BreakpointError(f"no breakpoint #{key}; current: "
                                  f"{[bp.id for bp in self._breakpoints.values()]}")

    def clear_breakpoints(self) -> None:
        self._breakpoints.clear()

    # ------------------------------------------------------------------ composite steps
    def step_into(self, name: str | None = None) -> WorkflowPlayground:
        """Open the next (or the ready ``name``) sub-workflow or map step as a child playground.

        Step through the child, then ``step_out()`` records the parent step from the child's
        end state. A map's child has one step per item, each of which can be stepped into in
        turn. The composite step's own retries and timeout do not apply while stepping.
        """
        state = self._ready_state()
        i = self._runnable_index(state, name)
        step = state.steps[i]
        upstream = state.blocking_dependency(i)
        if upstream is not None:
            raise StepNotReadyError(f"step {step.name!r} cannot run: upstream step {upstream!r} "
                                    "did not complete")
        factory = self._into.get(step.name)
        spec = factory() if factory is not None else child_spec(self.runner, step,
                                                                  self._live_context())
        kind = ("map item" if factory is not None else
                "sub-workflow" if step.step_type is StepType.WORKFLOW else "map")
        child = WorkflowPlayground(self.runner)
        child.break_on_failure = self.break_on_failure
        child_state = initial_state(spec.workflow, spec.params, spec.seed, spec.call_chain,
                                     new_run_id())
        child._open(spec.workflow, [Snapshot(0, SnapshotKind.LOAD, None, None, child_state)], 0)
        child._into = spec.into
        started = datetime.now(UTC)
        self._child = _Child(step.name, child, spec.finish, started, kind)
        self.runner.emit(StepStarted(run_id=state.run_id, workflow=state.workflow_name,
                                     at=started, step=step.name))
        return child

    def step_out(self) -> Snapshot:
        """Run the stepped-into child to its end and record the parent step's result."""
        self._require_loaded()
        if self._child is None:
            raise PlaygroundError("nothing to step out of; step_into() opens a sub-workflow or "
                                  "map step first")
        entered, child = self._child, self._child.playground
        if child._child is not None:
            child.step_out()
        child._run_until(None, pause=False)
        result = entered.finish(child)
        finished = datetime.now(UTC)
        run = StepRun(entered.step, result.status, 1, result.output, result.error,
                      None if result.success else result.category,
                      started_at=entered.started_at, finished_at=finished,
                      duration_seconds=sum(s.duration for s in child.history),
                      child_run_id=child.run_id)
        self._child = None
        state = self._state
        self.runner.emit(StepFinished(run_id=state.run_id, workflow=state.workflow_name,
                                      at=finished, step=run.name, status=run.status.value,
                                      duration_seconds=run.duration_seconds, output=run.output,
                                      error=run.error, category=run.error_category,
                                      child_run_id=run.child_run_id))
        return self._record(SnapshotKind.STEP, run)

    # ------------------------------------------------------------------ internals
    def _run_until(self, target: str | None, *, pause: bool = True) -> list[Snapshot]:
        """Step until the end, ``target`` is next, or (with ``pause``) a breakpoint, a failure
        or an ``interrupt()`` since the public call began (the callers clear it)."""
        resume_from = self.last_stop.step if (
            self.last_stop is not None and self._paused_pos == self._pos) else None
        done: list[Snapshot] = []
        while True:
            state = self._state
            if state.halted_by is not None:
                stop = Pause(StopReason.HALTED, state.halted_by)
                break
            i = state.next_index()
            if i is None:
                stop = Pause(StopReason.END)
                break
            name = state.plan.names[i]
            if name == target:
                stop = Pause(StopReason.TARGET, name)
                break
            if pause and self._interrupt.is_set():
                stop = Pause(StopReason.INTERRUPTED, name)
                break
            if pause and (done or name != resume_from):
                hit = self._step_breakpoint(name, state)
                if hit is not None:
                    stop = Pause(StopReason.BREAKPOINT, name, *hit)
                    break
            snap = self._execute(i, SnapshotKind.STEP)
            done.append(snap)
            if not pause:
                continue
            after = self._stop_after(snap)
            if after is not None:
                stop = after
                break
        self.last_stop, self._paused_pos = stop, self._pos
        return done

    def _stop_after(self, snap: Snapshot) -> Pause | None:
        """Why a continue pauses right after ``snap``: its step failed, or a watch holds."""
        if self.break_on_failure and snap.status is RunStatus.FAILED:
            return Pause(StopReason.FAILURE, snap.step_name)
        hit = self._watch_hit(snap.state)
        if hit is not None:
            return Pause(StopReason.CONDITION, snap.step_name, *hit)
        return None

    def _step_breakpoint(self, name: str, state: State) -> tuple[Breakpoint, str | None] | None:
        """The first breakpoint that pauses before ``name``, and its condition's error if any."""
        for bp in self._breakpoints.values():
            if bp.step == name:
                hit, error = (True, None) if bp.when is None else _holds(bp, state)
                if hit:
                    return bp, error
        return None

    def _watch_hit(self, state: State) -> tuple[Breakpoint, str | None] | None:
        for bp in self._breakpoints.values():
            if bp.step is None:
                hit, error = _holds(bp, state)
                if hit:
                    return bp, error
        return None

    def __repr__(self) -> str:
        if not self._timeline:
            return "WorkflowPlayground(<empty>)"
        return (f"WorkflowPlayground({self._state.workflow_name!r}, snapshot={self._pos}/"
                f"{len(self._timeline) - 1}, status={self.status.value})")


def _holds(bp: Breakpoint, state: State) -> tuple[bool, str | None]:
    """Whether ``bp``'s condition holds in ``state``; an expression that raises counts as
    holding (with the error returned), a callable that raises is a ``BreakpointError``."""
    try:
        return bool(bp.when(ContextView(state))), None  # type: ignore[misc]
    except Exception as exc:
        if isinstance(bp.when, ExpressionCondition):
            return True, f"{type(exc).__name__}: {exc}"
        raise BreakpointError(f"breakpoint #{bp.id} ({bp.describe()}) condition raised "
                              f"{type(exc).__name__}: {exc}") from exc


def _ran_descendants(state: State, i: int) -> list[int]:
    """Steps downstream of ``i`` (transitively) that have a record, in plan order."""
    seen: set[int] = set()
    stack = list(state.plan.dependents[i])
    while stack:
        j = stack.pop()
        if j not in seen:
            seen.add(j)
            stack.extend(state.plan.dependents[j])
    names = state.plan.names
    return sorted((j for j in seen if names[j] in state.runs), key=state.order_pos.__getitem__)
