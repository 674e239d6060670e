"""Edit and continue: swap a playground's definition for an edited one, keeping what still holds.

``reload`` compares the step fingerprints of the session's definition (taken when it was
loaded, see ``fingerprint``) with the edited one's: steps whose code, config and wiring are
unchanged keep their records; a changed step and every step downstream of it that has a
record is marked stale (``State.stale``, ``Snapshot.stale``). The swap is a ``reload``
snapshot, so stepping back shows the records and the definition from before the edit and
``diff`` compares across it. Whatever runs next runs the current definition: acting from a
snapshot taken before a reload re-applies the current definition first (a ``reload``
snapshot noted "rebased"), so old code never runs again by accident.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UnknownPipelineError, UnknownWorkflowError
from ..graph import Plan
from ..registry import missing_references
from ..results import RunStatus, StepRun
from ..start import RunHandle, start_retry
from ..store.runs import RunStore
from ..workflow import Workflow
from .breakpoints import Pause, StopReason
from .errors import NothingStaleError, ReloadError, RetryStoredError
from .fingerprint import ChangeReason, StepChange, StepPrint, compare_prints, workflow_prints
from .fresh_load import load_fresh
from .state import Snapshot, SnapshotKind, State, initial_state

if TYPE_CHECKING:
    import threading

    from ..context import WorkflowContext
    from ..events import Listener
    from ..steps import Step
    from ..tracking import TrackedWorkflowRunner
    from .breakpoints import Breakpoint

_KEPT_NOTE = "the playground stays on the last good definition"


@dataclass(slots=True, eq=False)
class Definition:
    """One loaded definition of the session's workflow and its step fingerprints, taken once."""

    workflow: Workflow
    _prints: dict[str, StepPrint] | None = field(default=None, repr=False)

    def prints(self) -> dict[str, StepPrint]:
        if self._prints is None:
            self._prints = workflow_prints(self.workflow)
        return self._prints


@dataclass(frozen=True, slots=True)
class RecordedDefinition:
    """What ``retry_stored`` checks against: the stored run's definition and completed steps."""

    prints: Mapping[str, StepPrint]
    completed: frozenset[str]
    store: Any = None  # the store file ``load_run`` read, when it was a RunStore


@dataclass(frozen=True, slots=True)
class ReloadReport:
    """What a reload did: ``stale`` steps (records from before the edit, in plan order;
    ``continue_stale`` runs them again), ``changed`` steps and why, ``unchanged`` steps (their
    records kept), the ``reload`` snapshot; from a file, also the user modules imported afresh
    and the files to watch for the next save."""

    workflow: str
    stale: tuple[str, ...]
    changed: tuple[StepChange, ...]
    unchanged: tuple[str, ...]
    snapshot: Snapshot
    path: str | None = None
    modules: tuple[str, ...] = ()
    files: tuple[str, ...] = ()

    @property
    def first_stale(self) -> str | None:
        """Where ``continue_stale`` starts."""
        return self.stale[0] if self.stale else None

    @property
    def changed_steps(self) -> tuple[str, ...]:
        return tuple(c.step for c in self.changed)

    def describe(self) -> str:
        """``changed: check (code (check)); stale: check, report``, for a status line."""
        return describe_changes(self.changed, self.stale)


def describe_changes(changed: Iterable[StepChange], stale: tuple[str, ...]) -> str:
    """What a reload changed, in one line."""
    parts = [f"{c.step} ({c.describe()})" for c in changed]
    if not parts:
        return "no step changed"
    text = "changed: " + "; ".join(parts)
    return text + (f"; stale: {', '.join(stale)}" if stale else "")


def downstream(plan: Plan, names: Iterable[str]) -> set[str]:
    """``names`` (those in ``plan``) and every step that depends on them, transitively."""
    todo = [plan.index[n] for n in names if n in plan.index]
    seen = set(todo)
    while todo:
        for j in plan.dependents[todo.pop()]:
            if j not in seen:
                seen.add(j)
                todo.append(j)
    return {plan.names[i] for i in seen}


def rebased_state(state: State, workflow: Workflow, changes: tuple[StepChange, ...],
                  generation: int) -> tuple[State, set[str]]:
    """``state`` on ``workflow``'s steps: records of steps it still has are kept, those
    downstream of a change (or stale already) are marked stale. Returns the state and the
    steps a change reaches. Adaptive changes made before are not carried over."""
    plan = workflow.plan
    affected = downstream(plan, (c.step for c in changes if ChangeReason.REMOVED not in c.reasons))
    runs = {name: run for name, run in state.runs.items() if name in plan.index}
    seeds = {k: v for k, v in state.outputs.items() if k not in state.runs}
    outputs = {**seeds, **{k: v for k, v in state.outputs.items() if k in runs}}
    stale = frozenset(name for name, run in runs.items()
                      if (name in affected or name in state.stale) and _ran(run))
    base = initial_state(workflow, state.params, None, state.call_chain, state.run_id)
    new = base.evolve(outputs=outputs, runs=runs, stale=stale, generation=generation)
    return new.settled(), affected


def _ran(run: StepRun) -> bool:
    """Whether a record holds a result of the step's code (not a skip nothing ran for)."""
    return not (run.status is RunStatus.SKIPPED and run.attempts == 0)


class ReloadMixin:
    """Edit and continue for ``WorkflowPlayground`` (``PlaygroundSession`` mixes it in)."""

    if TYPE_CHECKING:  # provided by the session and the playground this is mixed into
        _timeline: list[Snapshot]
        _pos: int
        _paused_pos: int
        _child: Any
        _workflow: Workflow | None
        _ctx: WorkflowContext | None
        _ctx_state: State | None
        _breakpoints: dict[int, Breakpoint]
        _interrupt: threading.Event
        last_stop: Pause | None
        source_run_id: str | None

        @property
        def current(self) -> Snapshot: ...

        @property
        def workflow(self) -> Workflow | None: ...

        @property
        def _state(self) -> State: ...

        def _require_loaded(self) -> list[Snapshot]: ...

        def _ready_state(self) -> State: ...

        def _step_breakpoint(self, name: str, state: State
                             ) -> tuple[Breakpoint, str | None] | None: ...

        def _execute(self, i: int, kind: SnapshotKind, *, force: bool = False) -> Snapshot: ...

        def _stop_after(self, snap: Snapshot) -> Pause | None: ...

        def _push(self, kind: SnapshotKind, step: str | None, run: StepRun | None,
                  state: State, note: str = "") -> Snapshot: ...

        def abandon(self) -> None: ...

        def peek(self) -> Step | None: ...

    def _init_reload(self) -> None:
        self._generation = 0
        self._definitions: dict[int, Definition] = {}
        self._recorded: RecordedDefinition | None = None

    @property
    def stale_steps(self) -> tuple[str, ...]:
        """Steps whose record at the current snapshot predates an edit, in plan order."""
        return self.current.stale if self._timeline else ()

    def reload(self, workflow: Workflow | Any, *,
               inspecting: str | None = None) -> ReloadReport:
        """Swap the session's definition for ``workflow`` (the same workflow, edited),
        keeping the records of unchanged steps and marking changed ones and their downstream
        stale; returns what changed. Raises ``ReloadError`` (the session unchanged) when it
        names another workflow, misses a pipeline or sub-workflow, or no longer has the step
        ``inspecting`` (default: the stepped-into step, else the current snapshot's)."""
        self._require_loaded()
        wf = as_workflow(workflow)
        current = self._workflow
        assert current is not None
        if wf.name != current.name:
            raise ReloadError(f"the edited definition is workflow {wf.name!r}, but the "
                              f"playground debugs {current.name!r}; {_KEPT_NOTE}")
        pipelines, workflows = missing_references(wf)
        if pipelines or workflows:
            problem = (UnknownPipelineError(pipelines, wf.name) if pipelines
                       else UnknownWorkflowError(workflows, wf.name))
            raise ReloadError(f"{problem}; {_KEPT_NOTE}")
        target = inspecting if inspecting is not None else (
            self._child.step if self._child is not None else self.current.step_name)
        if target is not None and target not in wf.plan.index:
            raise ReloadError(f"the edit removes step {target!r}, which is being inspected; "
                              f"{_KEPT_NOTE} (move to another snapshot first to drop it)")
        definition = Definition(wf)
        definition.prints()
        return self._swap(definition, self._generation + 1, "reloaded")

    def reload_file(self, path: str | Path, *,
                    roots: Iterable[str | Path] = (), inspecting: str | None = None
                    ) -> ReloadReport:
        """Load ``path`` again (with the user's modules it imports from ``roots`` and its
        folder, see ``fresh_load``) and ``reload`` the session's workflow from it. A file
        that no longer loads raises ``ReloadError`` whose ``errors`` are the catalog's
        ``LoadError``s (file:line); the session stays as it was."""
        self._require_loaded()
        loaded = load_fresh(path, roots)
        if loaded.errors:
            raise ReloadError("; ".join(str(e) for e in loaded.errors) + f" ({_KEPT_NOTE})",
                              loaded.errors)
        name = self.workflow.name if self.workflow is not None else ""
        item = loaded.get(name)
        if item is None:
            defined = ", ".join(w.name for w in loaded.workflows) or "none"
            raise ReloadError(f"{path} no longer defines workflow {name!r} (it defines: "
                              f"{defined}); {_KEPT_NOTE}")
        report = self.reload(item.workflow, inspecting=inspecting)
        return replace(report, path=str(path), modules=loaded.modules, files=loaded.files)

    def continue_stale(self) -> list[Snapshot]:
        """Run the stale steps again with the current code, in plan order, pausing as
        ``continue_`` does (a failure with ``break_on_failure``, a breakpoint, a watch, an
        ``interrupt()``); when none is left it stops before the next step without a record
        (``last_stop`` TARGET) or at the END."""
        state = self._ready_state()
        if not state.stale:
            raise NothingStaleError("no step is stale: every record matches the current "
                                    "definition; continue_() runs the steps that have not run")
        self._interrupt.clear()
        resume_from = self.last_stop.step if (
            self.last_stop is not None and self._paused_pos == self._pos) else None
        done: list[Snapshot] = []
        while True:
            state = self._state
            stale = self.current.stale
            if not stale:
                stop = self._after_stale()
                break
            name = stale[0]
            i = state.plan.index[name]
            upstream = state.blocking_dependency(i)
            if upstream is not None and upstream not in state.stale:
                stop = Pause(StopReason.HALTED, upstream)
                break
            if self._interrupt.is_set():
                stop = Pause(StopReason.INTERRUPTED, name)
                break
            if done or name != resume_from:
                hit = self._step_breakpoint(name, state)
                if hit is not None:
                    stop = Pause(StopReason.BREAKPOINT, name, *hit)
                    break
            snap = self._execute(i, SnapshotKind.RERUN, force=True)
            done.append(snap)
            after = self._stop_after(snap)
            if after is not None:
                stop = after
                break
        self.last_stop, self._paused_pos = stop, self._pos
        return done

    def retry_stored(self, db: Any = None, *, started_by: str = "script",
                     listeners: Iterable[Listener] = (),
                     runner: TrackedWorkflowRunner | None = None) -> RunHandle:
        """Start the real retry of the stored run opened with ``load_run``, from its failed
        step, with the current definition (``engine.start_retry``: a new run linked to the
        old one); returns its handle. ``db`` defaults to the store ``load_run`` read (a
        ``RunStore``), else ``$SPINE_DB``. Refused with ``RetryStoredError`` when a step that
        completed in the stored run is changed or downstream of a change: the retry would
        reuse its stored output and never run the edit."""
        self._require_loaded()
        recorded, run_id = self._recorded, self.source_run_id
        if recorded is None or run_id is None:
            raise RetryStoredError("no stored run is open: load_run(run_id, store) opens one; "
                                   "start_run() runs this definition afresh")
        wf = self._workflow
        assert wf is not None
        changes = compare_prints(recorded.prints, self._definitions[self._generation].prints())
        affected = downstream(wf.plan, (c.step for c in changes
                                        if ChangeReason.REMOVED not in c.reasons))
        reused = [n for n in wf.plan.names if n in affected and n in recorded.completed]
        if reused:
            raise RetryStoredError(
                f"step(s) {', '.join(map(repr, reused))} completed in run {run_id} with the "
                "code from before the edit (or after a step the edit changed); a retry reuses "
                f"stored outputs, so it would not run the edit. Start a new run of {wf.name} "
                "instead")
        return start_retry(run_id, wf, db=db if db is not None else recorded.store,
                           started_by=started_by, listeners=listeners, runner=runner)

    # ------------------------------------------------------------------ internals
    def _remember_recorded(self, records: Iterable[StepRun],
                           store: Any) -> None:
        """Note what ``retry_stored`` must not reuse, right after ``load_run``."""
        completed = frozenset(r.name for r in records if RunStatus(r.status) is RunStatus.COMPLETED)
        path = store.path if isinstance(store, RunStore) else None
        self._recorded = RecordedDefinition(self._definitions[self._generation].prints(),
                                            completed, path)

    def _rebase(self) -> None:
        """Re-apply the current definition to a snapshot from before the last reload (the
        user went back past it and acts now), so the next step runs the current code."""
        self._swap(self._definitions[self._generation], self._generation,
                   "rebased on the current definition")

    def _swap(self, definition: Definition, generation: int, verb: str
              ) -> ReloadReport:
        state = self._state
        before = self._definitions.get(state.generation)
        old = before.prints() if before is not None else {}
        changes = compare_prints(old, definition.prints())
        new, affected = rebased_state(state, definition.workflow, changes, generation)
        wf = definition.workflow
        entered = self._child
        if entered is not None and (entered.step in affected or entered.step not in wf.plan.index):
            self.abandon()
        self._definitions[generation] = definition
        self._generation = generation
        self._workflow = wf
        self._ctx = self._ctx_state = None
        self._breakpoints = {k: bp for k, bp in self._breakpoints.items()
                             if bp.step is None or bp.step in wf.plan.index}
        changed_names = {c.step for c in changes}
        report_stale = tuple(n for n in (wf.plan.names[i] for i in wf.plan.order) if n in new.stale)
        unchanged = tuple(n for n in (wf.plan.names[i] for i in wf.plan.order)
                          if n not in changed_names)
        note = f"{verb}: {describe_changes(changes, report_stale)}"
        snapshot = self._push(SnapshotKind.RELOAD, None, None, new, note)
        used = {s.state.generation for s in self._timeline} | {generation}
        for stale_generation in [g for g in self._definitions if g not in used]:
            del self._definitions[stale_generation]
        return ReloadReport(wf.name, report_stale, changes, unchanged, snapshot)

    def _after_stale(self) -> Pause:
        """Where ``continue_stale`` stops once nothing is stale."""
        halted = self._state.halted_by
        if halted is not None:
            return Pause(StopReason.HALTED, halted)
        nxt = self.peek()
        return Pause(StopReason.TARGET, nxt.name) if nxt is not None else Pause(StopReason.END)


def as_workflow(workflow: Any) -> Workflow:
    """The ``Workflow`` itself, also from a ``ManagedWorkflow``."""
    if isinstance(workflow, Workflow):
        return workflow
    inner = getattr(workflow, "workflow", None)  # ManagedWorkflow
    if isinstance(inner, Workflow):
        return inner
    raise TypeError(f"the playground needs a Workflow, got {type(workflow).__name__}")
