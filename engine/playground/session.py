"""The playground's timeline: loading, snapshots, time travel and running one step."""

from __future__ import annotations

import difflib
import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..adaptive.control import restore_current, set_current
from ..context import WorkflowContext
from ..definitions import StoredRuns
from ..errors import UnknownPipelineError, UnknownWorkflowError
from ..events import StepFinished
from ..ids import new_run_id
from ..recorded import RecordedRun, RunSource
from ..registry import missing_references
from ..results import RunStatus, StepRun
from ..runner import DEFINITION_ERRORS, WorkflowRunner
from ..step_state import StepState
from ..steps import Step
from ..store.runs import RunStore
from ..workflow import Workflow
from .adaptive import AdaptiveSessionMixin
from .breakpoints import Breakpoint, Pause
from .errors import (
    ChildActiveError,
    EndOfWorkflowError,
    NoWorkflowLoadedError,
    PlaygroundStepError,
    RecordedRunError,
    RunHaltedError,
    SnapshotIndexError,
    StartOfHistoryError,
    StepNotReadyError,
    StepNotRunError,
)
from .nested import ChildSpec, Finish
from .reload import Definition, ReloadMixin, as_workflow
from .state import (
    ContextView,
    Snapshot,
    SnapshotDiff,
    SnapshotKind,
    State,
    blocks,
    diff_states,
    initial_state,
    skipped_record,
)

if TYPE_CHECKING:
    from .core import WorkflowPlayground


@dataclass(slots=True)
class _Child:
    step: str
    playground: WorkflowPlayground
    finish: Finish
    started_at: datetime
    kind: str = "sub-workflow"


class PlaygroundSession(AdaptiveSessionMixin, ReloadMixin):
    """The timeline half of ``WorkflowPlayground``: every change appends an immutable
    ``Snapshot``, and going back is moving a cursor, never recomputing.

    ``step_back``/``rewind``/``goto`` move the cursor; the next change drops the snapshots
    after it, as an editor's undo does. Steps run through ``WorkflowRunner.run_step``, so
    retries, timeouts, argument injection and events are those of a real run; the adaptive
    changes steps request land in the snapshot of the step that asked.
    """

    def __init__(self, runner: WorkflowRunner | None = None) -> None:
        self.runner = runner or WorkflowRunner()
        #: pause ``continue_``/``run_to`` right after a step fails
        self.break_on_failure = True
        #: why the last ``continue_``/``run_to`` stopped
        self.last_stop: Pause | None = None
        #: id of the persisted run opened with ``load_run`` (new steps run under ``run_id``)
        self.source_run_id: str | None = None
        self._workflow: Workflow | None = None
        self._timeline: list[Snapshot] = []
        self._pos = 0
        self._paused_pos = -1
        self._ctx: WorkflowContext | None = None
        self._ctx_state: State | None = None  # the state ``_ctx`` mirrors; None: rebuild
        self._breakpoints: dict[int, Breakpoint] = {}
        self._breakpoint_ids = itertools.count(1)
        self._child: _Child | None = None
        self._into: dict[str, Callable[[], ChildSpec]] = {}
        self._interrupt = threading.Event()
        self._init_adaptive()
        self._init_reload()

    # ------------------------------------------------------------------ loading
    def load(self, workflow: Workflow | Any, params: Mapping[str, Any] | None = None, *,
             run_id: str | None = None) -> Snapshot:
        """Open ``workflow`` at its start (params over the workflow's defaults, as in a run)."""
        wf = as_workflow(workflow)
        pipelines, workflows = missing_references(wf)
        if pipelines:
            raise UnknownPipelineError(pipelines, wf.name)
        if workflows:
            raise UnknownWorkflowError(workflows, wf.name)
        state = initial_state(wf, {**wf.defaults, **(params or {})}, None, (wf.name,),
                               run_id or new_run_id())
        self._definitions = {}
        self._open(wf, [Snapshot(0, SnapshotKind.LOAD, None, None, state)], 0)
        self._definitions[0].prints()  # now: a later in-place module reload cannot alter them
        self.source_run_id = None
        self._recorded = None
        return self.current

    def load_run(self, run_id: str, store: RunSource, *, at: int | str | None = None
                 ) -> Snapshot:
        """Open a persisted run with its recorded outputs, positioned at ``at``.

        ``at`` is a snapshot index (0 = before the first step), or a step name to stop just
        before that step, or None for the end. The later recorded steps stay on the timeline,
        so ``goto`` can move forward to them. Steps re-run here get a new ``run_id``: the
        recorded run is never written to.
        """
        getter = getattr(store, "recorded_run", None)
        if getter is None and isinstance(store, RunStore):
            getter = StoredRuns(store).recorded_run
        if not callable(getter):
            raise RecordedRunError(f"{type(store).__name__} cannot open runs: it needs a "
                                   "recorded_run(run_id) method returning a RecordedRun")
        recorded = getter(run_id)
        if not isinstance(recorded, RecordedRun):
            raise RecordedRunError(f"{type(store).__name__}.recorded_run({run_id!r}) returned "
                                   f"{type(recorded).__name__}, not a RecordedRun")
        wf = as_workflow(recorded.workflow)
        unknown = [r.name for r in recorded.steps if r.name not in wf.plan.index]
        if unknown:
            raise RecordedRunError(
                f"run {run_id!r} has step(s) {', '.join(map(repr, unknown))} that workflow "
                f"{wf.name!r} version {wf.version} does not define; open it with the workflow "
                "version it ran with")
        state = initial_state(wf, dict(recorded.params), None, (wf.name,), new_run_id())
        timeline = [Snapshot(0, SnapshotKind.LOAD, None, None, state)]
        for record in recorded.steps:
            run = replace(record, status=RunStatus(record.status))
            i = wf.plan.index[run.name]
            never_ran = run.status in (RunStatus.PENDING, RunStatus.RUNNING) or (
                run.status is RunStatus.SKIPPED and run.attempts == 0
                and state.blocking_dependency(i) is None)
            if never_ran:  # not reached before the run stopped: left to step through
                continue
            state = state.with_run(run)
            timeline.append(Snapshot(len(timeline), SnapshotKind.RESTORED, run.name, run, state))
        position = _position(timeline, at, wf, run_id)
        self._definitions = {}
        self._open(wf, timeline, position)
        self._remember_recorded(recorded.steps, store)
        self.source_run_id = run_id
        return self.current

    def reset(self) -> Snapshot:
        """Back to the state at load with an empty timeline and a fresh run id."""
        first = self._require_loaded()[0]
        self.abandon()
        state = first.state.evolve(run_id=new_run_id())
        wf = self._workflow
        assert wf is not None
        if state.generation != self._generation:  # the load predates a reload: start on the edit
            state = initial_state(wf, first.state.params, None, state.call_chain, state.run_id
                                  ).evolve(generation=self._generation)
        self._open(wf, [replace(first, state=state)], 0)
        return self.current

    def _open(self, wf: Workflow, timeline: list[Snapshot], position: int) -> None:
        generation = timeline[position].state.generation
        known = self._definitions.get(generation)
        self._definitions = {generation: known if known is not None and known.workflow is wf
                             else Definition(wf)}
        self._generation = generation
        self._workflow = wf
        self._timeline = timeline
        self._pos = position
        self._ctx = self._ctx_state = None
        self._init_adaptive()
        self._child = None
        self._into = {}
        self.last_stop = None
        self._breakpoints = {k: bp for k, bp in self._breakpoints.items()
                             if bp.step is None or bp.step in wf.plan.index}

    # ------------------------------------------------------------------ views
    @property
    def workflow(self) -> Workflow | None:
        return self._workflow

    @property
    def current(self) -> Snapshot:
        """The snapshot the playground is at."""
        return self._require_loaded()[self._pos]

    @property
    def run_id(self) -> str:
        return self.current.state.run_id

    @property
    def position(self) -> int:
        return self._pos

    @property
    def snapshots(self) -> tuple[Snapshot, ...]:
        """The whole timeline, including snapshots after the cursor that ``goto`` can reach."""
        return tuple(self._timeline)

    @property
    def history(self) -> list[Snapshot]:
        """Snapshots from the first change up to the cursor (the load snapshot excluded)."""
        return self._timeline[1:self._pos + 1]

    @property
    def params(self) -> Mapping[str, Any]:
        return self.current.params

    @property
    def outputs(self) -> Mapping[str, Any]:
        return self.current.outputs

    @property
    def context(self) -> ContextView:
        """A read-only view of the current params and outputs (edit with set_param/set_output)."""
        return self.current.context

    @property
    def remaining_steps(self) -> list[Step]:
        """Steps without a result yet, in the order ``step()`` would take them."""
        if not self._timeline:
            return []
        state = self._state
        names = state.plan.names
        return [state.steps[i] for i in state.plan.order if names[i] not in state.runs]

    @property
    def is_complete(self) -> bool:
        """True when no step can run any more: all have run, or a failure stopped the run."""
        if not self._timeline:
            return True
        state = self._state
        return state.halted_by is not None or state.next_index() is None

    @property
    def status(self) -> RunStatus:
        """PENDING before the first step, RUNNING while paused midway, then the run's outcome."""
        if not self._timeline:
            return RunStatus.PENDING
        state = self._state
        failed = any(blocks(state.steps[state.plan.index[n]], r) and r.status is RunStatus.FAILED
                     for n, r in state.runs.items())
        if state.halted_by is not None or (failed and state.next_index() is None):
            return RunStatus.FAILED
        if state.next_index() is None:
            return RunStatus.COMPLETED
        return RunStatus.RUNNING if state.runs else RunStatus.PENDING

    def peek(self) -> Step | None:
        """The step ``step()`` would run next; None when none can run."""
        if not self._timeline or self._state.halted_by is not None:
            return None
        i = self._state.next_index()
        return None if i is None else self._state.steps[i]

    def diff(self, before: int | Snapshot, after: int | Snapshot | None = None) -> SnapshotDiff:
        """Params, outputs and statuses that differ from snapshot ``before`` to ``after``
        (default: the current one)."""
        a = self._timeline[self._snapshot_index(before)]
        b = self.current if after is None else self._timeline[self._snapshot_index(after)]
        return diff_states(a.state, b.state)

    def summary(self) -> dict[str, Any]:
        """Where the session stands, with one row per snapshot up to the cursor."""
        if not self._timeline:
            return {"workflow": None, "status": RunStatus.PENDING.value, "history": []}
        state, nxt = self._state, self.peek()
        return {
            "workflow": state.workflow_name, "run_id": state.run_id,
            "source_run_id": self.source_run_id, "status": self.status.value,
            "position": self._pos, "snapshots": len(self._timeline),
            "total_steps": len(state.steps), "executed": len(state.runs),
            "remaining": len(self.remaining_steps), "is_complete": self.is_complete,
            "next_step": nxt.name if nxt else None, "halted_by": state.halted_by,
            "params": dict(state.params),
            "breakpoints": [bp.describe() for bp in self._breakpoints.values()],
            "graph_changes": [c.to_dict() for c in state.adaptive],
            "stale": list(self.current.stale),
            "history": [s.to_dict() for s in self.history],
        }

    # ------------------------------------------------------------------ time travel
    def step_back(self) -> Snapshot:
        """Go back one snapshot (undoing the last step or edit); returns the snapshot now current."""
        return self.rewind(1)

    def rewind(self, n: int = 1) -> Snapshot:
        """Go back ``n`` snapshots by moving the cursor; nothing is recomputed."""
        self._require_navigable()
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise SnapshotIndexError(f"rewind() needs a positive number of snapshots, got {n!r}")
        if n > self._pos:
            raise StartOfHistoryError(
                f"cannot go back {n} snapshot(s): the playground is at snapshot {self._pos} and "
                "snapshot 0 is the state at load")
        return self._move(self._pos - n)

    def goto(self, snapshot: int | Snapshot) -> Snapshot:
        """Make snapshot ``snapshot`` (an index or a Snapshot of this timeline) current."""
        self._require_navigable()
        return self._move(self._snapshot_index(snapshot))

    def abandon(self) -> None:
        """Drop the stepped-into child without recording anything for its step (subscribers
        see the step finish as cancelled, so no started step is left dangling)."""
        if self._child is None:
            return
        entered, self._child = self._child, None
        state = self._state
        self.runner.emit(StepFinished(run_id=state.run_id, workflow=state.workflow_name,
                                      at=datetime.now(UTC), step=entered.step,
                                      status=RunStatus.CANCELLED.value,
                                      error="abandoned in the playground",
                                      child_run_id=entered.playground.run_id))

    # ------------------------------------------------------------------ internals
    @property
    def _state(self) -> State:
        return self._timeline[self._pos].state

    def _require_loaded(self) -> list[Snapshot]:
        if not self._timeline:
            raise NoWorkflowLoadedError("no workflow loaded; call load(workflow) or "
                                        "load_run(run_id, store) first")
        return self._timeline

    def _require_navigable(self) -> None:
        self._require_loaded()
        if self._child is not None:
            raise ChildActiveError(
                f"step {self._child.step!r} is stepped into; step_out() to finish it or "
                "abandon() to drop it first")

    def _ready_state(self) -> State:
        """The current state, ready for a change: on the current definition, no child open."""
        self._require_navigable()
        if self._state.generation != self._generation:
            self._rebase()
        return self._state

    def _index(self, state: State, name: str) -> int:
        i = state.plan.index.get(name) if isinstance(name, str) else None
        if i is None:
            hint = difflib.get_close_matches(str(name), state.plan.names, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise PlaygroundStepError(
                f"workflow {state.workflow_name!r} has no step {name!r}{suggestion}")
        return i

    def _runnable_index(self, state: State, name: str | None) -> int:
        if state.halted_by is not None:
            failed = state.runs[state.halted_by]
            raise RunHaltedError(
                f"step {state.halted_by!r} failed ({failed.error}) and stops the run; "
                f"step_back(), rerun({state.halted_by!r}) or set_output({state.halted_by!r}, ...) "
                "to go on")
        if name is None:
            i = state.next_index()
            if i is None:
                raise EndOfWorkflowError(
                    f"all {len(state.steps)} steps of {state.workflow_name!r} have run; "
                    "step_back(), goto() or reset() to run them again")
            return i
        i = self._index(state, name)
        if name in state.runs:
            raise StepNotReadyError(f"step {name!r} already ran; rerun({name!r}) runs it again")
        waiting = [state.plan.names[d] for d in state.plan.deps[i]
                   if state.plan.names[d] not in state.runs]
        if waiting:
            raise StepNotReadyError(f"step {name!r} waits for {', '.join(map(repr, waiting))}; "
                                    f"run_to({name!r}) runs what comes before it")
        return i

    def _snapshot_index(self, snapshot: int | Snapshot) -> int:
        timeline = self._require_loaded()
        if isinstance(snapshot, Snapshot):
            index = snapshot.index
            if index >= len(timeline) or timeline[index] is not snapshot:
                raise SnapshotIndexError(f"snapshot {index} ({snapshot.kind.value} "
                                         f"{snapshot.step_name or ''}) is no longer on the "
                                         "timeline: a later change replaced it")
            return index
        if not isinstance(snapshot, int) or isinstance(snapshot, bool) \
                or not 0 <= snapshot < len(timeline):
            raise SnapshotIndexError(f"no snapshot {snapshot!r}; the timeline has snapshots "
                                     f"0..{len(timeline) - 1}")
        return snapshot

    def _move(self, index: int) -> Snapshot:
        self._pos = index
        self.last_stop = None
        return self._timeline[index]

    def _live_context(self) -> WorkflowContext:
        """The context handlers see, rebuilt from the current state only when it went stale."""
        state = self._state
        if self._ctx is None or self._ctx_state is not state:
            self._ctx = WorkflowContext(state.run_id, state.workflow_name, state.params,
                                        state.outputs, state.call_chain)
            self._ctx._adaptive = self._adaptive
            self._ctx.artifact_store = self.runner.artifact_store  # as a real run's steps see it
            self._ctx_state = state
        return self._ctx

    def _run_step(self, step: Step, ctx: Any = None) -> StepRun:
        state = StepState(step.name)
        ctx = ctx or self._live_context()
        self._executing.add(step.name)
        previous = set_current(self._adaptive, step.name)  # its requests name this step
        try:
            self.runner.run_step(step, ctx, state)
        except DEFINITION_ERRORS:
            pass  # run_step recorded the failure on ``state`` first; the snapshot shows it
        finally:
            restore_current(previous)
            self._executing.discard(step.name)
        return state.freeze()

    def _execute(self, i: int, kind: SnapshotKind, *, force: bool = False) -> Snapshot:
        state = self._state
        upstream = None if force else state.blocking_dependency(i)
        if upstream is not None:
            return self._record(kind, skipped_record(state.plan.names[i], upstream))
        return self._record(kind, self._run_step(state.steps[i]))

    def _record(self, kind: SnapshotKind, run: StepRun) -> Snapshot:
        old = self._state
        new = old.with_run(run)
        first_time = run.name not in old.runs
        if not first_time:
            new = new.release_skipped()  # a fixed failure unblocks the steps it had skipped
        if self._adaptive.pending or (run.status is RunStatus.FAILED
                                      and _has_failure_handler(old, run.name)):
            return self._record_adaptive(kind, run, new)
        ctx = self._ctx
        if ctx is not None and self._ctx_state is old and first_time:
            if run.status is RunStatus.COMPLETED:
                ctx.set_output(run.name, run.output)  # same result as a rebuild, in O(1)
            self._ctx_state = new
        return self._push(kind, run.name, run, new)

    def _push(self, kind: SnapshotKind, step: str | None, run: StepRun | None, state: State,
              note: str = "") -> Snapshot:
        del self._timeline[self._pos + 1:]
        snapshot = Snapshot(len(self._timeline), kind, step, run, state, note)
        self._timeline.append(snapshot)
        self._pos = snapshot.index
        self.last_stop = None
        return snapshot


def _position(timeline: list[Snapshot], at: int | str | None, wf: Workflow, run_id: str) -> int:
    """Where ``load_run`` opens: a snapshot index, just before a step, or the end."""
    if at is None:
        return len(timeline) - 1
    if isinstance(at, str):
        if at not in wf.plan.index:
            raise PlaygroundStepError(f"workflow {wf.name!r} has no step {at!r}")
        for snap in timeline[1:]:
            if snap.step_name == at:
                return snap.index - 1
        raise StepNotRunError(f"step {at!r} did not run in run {run_id!r}; open the run at "
                              f"its end and use run_to({at!r})")
    if not isinstance(at, int) or isinstance(at, bool) or not 0 <= at < len(timeline):
        raise SnapshotIndexError(f"no snapshot {at!r}; run {run_id!r} opens at snapshots "
                                 f"0..{len(timeline) - 1}")
    return at


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _has_failure_handler(state: State, step: str) -> bool:
    i = state.plan.index.get(step)
    return i is not None and state.steps[i].on_failure is not None
