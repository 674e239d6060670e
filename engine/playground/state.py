"""Immutable playground states and the snapshots that point at them.

A ``State`` is never changed once built: a change makes a new one whose dicts hold the same
value objects (references are copied, values never are), so a snapshot per step costs a few
small dicts however large the outputs are, and going back is a pointer move. Step outputs
must therefore be treated as immutable once recorded, as the runner already assumes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from ..adaptive.changes import ADAPTIVE_SKIP_REASON, CONTINUED_REASON, GraphChange
from ..context import ContextReads
from ..graph import Plan
from ..policies import ErrorPolicy, WorkflowExecutionPolicy
from ..results import RunStatus, StepRun
from ..steps import Step
from ..workflow import Workflow

#: error types of definition errors: the runner fails the whole run on them, whatever on_error says
DEFINITION_ERROR_TYPES = frozenset({"WorkflowCycleError", "UnknownPipelineError",
                                    "UnknownWorkflowError"})


class SnapshotKind(StrEnum):
    """What produced a snapshot."""

    LOAD = "load"
    STEP = "step"
    RERUN = "rerun"
    SET_PARAM = "set_param"
    SET_OUTPUT = "set_output"
    RESTORED = "restored"
    CONTINUED = "continued"  # a step continued the run as a new one (continue_as_new)
    RELOAD = "reload"  # the workflow's definition was swapped for an edited one


@dataclass(frozen=True, slots=True, eq=False)
class State:
    """Everything needed to resume at one point of a playground session.

    ``outputs`` holds completed steps' outputs in completion order (seeded outputs of a
    stepped-into child first); ``runs`` every step that has a record. ``steps`` and ``plan``
    live here, not on the playground, so changes to the workflow itself can be snapshotted;
    ``adaptive`` logs the adaptive changes applied on the way to this state. ``stale`` names
    steps whose record predates an edit of their code, config or wiring (always a subset of
    ``runs``), and ``generation`` says which loaded definition ``steps`` come from.
    """

    run_id: str
    workflow_name: str
    call_chain: tuple[str, ...]
    policy: WorkflowExecutionPolicy
    steps: tuple[Step, ...]
    plan: Plan
    order_pos: tuple[int, ...]  # order_pos[i]: where step i sits in plan.order
    params: dict[str, Any]
    outputs: dict[str, Any]
    runs: dict[str, StepRun]
    halted_by: str | None = None
    done_prefix: int = 0  # plan.order[:done_prefix] all have records
    adaptive: tuple[GraphChange, ...] = ()
    stale: frozenset[str] = frozenset()
    generation: int = 0

    # ------------------------------------------------------------------ queries
    def next_index(self) -> int | None:
        """The first step in plan order without a record (its dependencies all have one)."""
        order, names, runs = self.plan.order, self.plan.names, self.runs
        k = self.done_prefix
        while k < len(order) and names[order[k]] in runs:
            k += 1
        return order[k] if k < len(order) else None

    def ready_indices(self) -> list[int]:
        """Every step without a record whose dependencies all have one, in plan order."""
        names, runs, deps = self.plan.names, self.runs, self.plan.deps
        return [i for i in self.plan.order[self.done_prefix:]
                if names[i] not in runs and all(names[d] in runs for d in deps[i])]

    def blocking_dependency(self, i: int) -> str | None:
        """A dependency of step ``i`` whose record stops ``i`` from running, if any."""
        names = self.plan.names
        for d in self.plan.deps[i]:
            run = self.runs.get(names[d])
            if run is not None and blocks(self.steps[d], run):
                return names[d]
        return None

    def halts(self, i: int, run: StepRun) -> bool:
        """Whether ``run`` of step ``i`` stops the run (as the runner's failure policy says)."""
        if run.status is not RunStatus.FAILED:
            return False
        if run.error_type in DEFINITION_ERROR_TYPES:
            return True
        return (self.steps[i].on_error is not ErrorPolicy.CONTINUE
                and self.policy.on_failure is not ErrorPolicy.CONTINUE)

    # ------------------------------------------------------------------ changes
    def evolve(self, **changes: Any) -> State:
        return replace(self, **changes)

    def with_run(self, run: StepRun, *, keep_position: bool = False) -> State:
        """A state where ``run`` is the record of its step (an output only if it completed).

        A new output goes last (completion order) unless ``keep_position`` asks to keep the
        step's existing place, as an edit of an output that was already there does.
        """
        name = run.name
        outputs = self.outputs
        if run.status is RunStatus.COMPLETED:
            outputs = dict(outputs)
            if not (keep_position and name in outputs):
                outputs.pop(name, None)
            outputs[name] = run.output
        elif name in outputs:
            outputs = dict(outputs)
            del outputs[name]
        runs = dict(self.runs)
        replaced = runs.get(name)
        runs[name] = run
        i = self.plan.index[name]
        halted_by = self.halted_by
        if halted_by is None and self.halts(i, run):
            halted_by = name
        elif halted_by == name and not self.halts(i, run):
            halted_by = self._first_halting(runs)
        prefix = self.done_prefix
        if replaced is None:
            order, names = self.plan.order, self.plan.names
            while prefix < len(order) and names[order[prefix]] in runs:
                prefix += 1
        stale = self.stale - {name} if name in self.stale else self.stale
        return self.evolve(outputs=outputs, runs=runs, halted_by=halted_by, done_prefix=prefix,
                           stale=stale)

    def without_runs(self, names: list[str]) -> State:
        """A state where ``names`` have no record (and no output): they are pending again."""
        if not names:
            return self
        outputs = {k: v for k, v in self.outputs.items() if k not in names}
        runs = {k: v for k, v in self.runs.items() if k not in names}
        prefix = min(self.done_prefix, *(self.order_pos[self.plan.index[n]] for n in names))
        return self.evolve(outputs=outputs, runs=runs, done_prefix=prefix,
                           halted_by=self._first_halting(runs), stale=self.stale - set(names))

    def release_skipped(self) -> State:
        """Steps skipped because an upstream step failed become pending once nothing blocks them."""
        names, runs = self.plan.names, dict(self.runs)
        released: list[str] = []
        for i in self.plan.order:
            run = runs.get(names[i])
            if run is None or not _skipped_by_upstream(run):
                continue
            if not any((r := runs.get(names[d])) is not None and blocks(self.steps[d], r)
                       for d in self.plan.deps[i]):
                del runs[names[i]]
                released.append(names[i])
        return self.without_runs(released)

    def settled(self) -> State:
        """This state with the done prefix and the halting failure recomputed, after its
        plan or records were replaced wholesale (an adaptive change, a reload)."""
        order, names, runs = self.plan.order, self.plan.names, self.runs
        prefix = 0
        while prefix < len(order) and names[order[prefix]] in runs:
            prefix += 1
        return self.evolve(done_prefix=prefix, halted_by=self._first_halting(runs))

    def _first_halting(self, runs: Mapping[str, StepRun]) -> str | None:
        index = self.plan.index
        return next((n for n, r in runs.items() if n in index and self.halts(index[n], r)), None)


def blocks(step: Step, run: StepRun) -> bool:
    """Whether ``run`` keeps the step's dependents from running (mirrors the runner)."""
    if run.status is RunStatus.FAILED:
        return step.on_error is not ErrorPolicy.CONTINUE or run.error_type in DEFINITION_ERROR_TYPES
    return run.status is RunStatus.CANCELLED or _skipped_by_upstream(run)


def _skipped_by_upstream(run: StepRun) -> bool:
    """Skipped without an attempt: an upstream step did not complete (a handler's skip has one;
    skips by an adaptive change or a continue-as-new do not block either)."""
    return (run.status is RunStatus.SKIPPED and run.attempts == 0
            and not (run.error or "").startswith((ADAPTIVE_SKIP_REASON, CONTINUED_REASON)))


def skipped_record(name: str, upstream: str) -> StepRun:
    return StepRun(name, RunStatus.SKIPPED,
                   error=f"not run: upstream step {upstream!r} did not complete")


class ContextView(ContextReads):
    """A read-only view of one state's params and outputs, with the handlers' read methods.

    Breakpoint conditions and ``Snapshot.context`` receive this, so inspecting can never
    change a run; edits go through ``set_param``/``set_output``.
    """

    __slots__ = ("run_id", "workflow_name", "params", "outputs")

    def __init__(self, state: State) -> None:
        self.run_id = state.run_id
        self.workflow_name = state.workflow_name
        self.params: Mapping[str, Any] = MappingProxyType(state.params)
        self.outputs: Mapping[str, Any] = MappingProxyType(state.outputs)

    @property
    def latest(self) -> dict[str, Any]:
        """The flat "latest wins" view plain functions draw their arguments from."""
        flat: dict[str, Any] = {}
        for output in self.outputs.values():
            if isinstance(output, Mapping):
                flat.update(output)
        return flat

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "params": dict(self.params), "outputs": dict(self.outputs)}

    def __repr__(self) -> str:
        return f"ContextView(params={list(self.params)}, outputs={list(self.outputs)})"


@dataclass(frozen=True, slots=True, eq=False)
class Snapshot:
    """One point on the playground's timeline: what happened and the state it left.

    ``index`` is the snapshot's place on the timeline (0 is the state at load); pass it to
    ``goto``. ``status``/``output``/``error``/``category``/``duration`` describe the step the
    snapshot is about (``None`` for a load or a param change); ``context`` is the whole state.
    """

    index: int
    kind: SnapshotKind
    step_name: str | None
    run: StepRun | None
    state: State = field(repr=False)
    note: str = ""

    @property
    def status(self) -> RunStatus | None:
        return self.run.status if self.run is not None else None

    @property
    def output(self) -> Any:
        return self.run.output if self.run is not None else None

    @property
    def error(self) -> str | None:
        return self.run.error if self.run is not None else None

    @property
    def category(self) -> str | None:
        return self.run.error_category if self.run is not None else None

    @property
    def duration(self) -> float:
        """Seconds the step took (0 for snapshots that ran nothing)."""
        return self.run.duration_seconds if self.run is not None else 0.0

    @property
    def params(self) -> Mapping[str, Any]:
        return MappingProxyType(self.state.params)

    @property
    def outputs(self) -> Mapping[str, Any]:
        return MappingProxyType(self.state.outputs)

    @property
    def runs(self) -> Mapping[str, StepRun]:
        """Every step's record at this point (steps without one have not run)."""
        return MappingProxyType(self.state.runs)

    @property
    def steps(self) -> tuple[Step, ...]:
        """The workflow's steps at this point (adaptive changes included), in the order
        ``step()`` takes them."""
        state = self.state
        return tuple(state.steps[i] for i in state.plan.order)

    @property
    def halted_by(self) -> str | None:
        """The failed step that stops the run at this point, if any."""
        return self.state.halted_by

    @property
    def stale(self) -> tuple[str, ...]:
        """Steps whose record here predates an edit of the workflow, in plan order: their
        output came from the code before the edit (``continue_stale`` runs them again)."""
        state = self.state
        if not state.stale:
            return ()
        names = state.plan.names
        return tuple(names[i] for i in state.plan.order if names[i] in state.stale)

    @property
    def context(self) -> ContextView:
        return ContextView(self.state)

    def to_dict(self) -> dict[str, Any]:
        """A summary row (no outputs, which may be large)."""
        return {"index": self.index, "kind": self.kind.value, "step": self.step_name,
                "status": self.status.value if self.status else None,
                "duration_ms": round(self.duration * 1000, 3), "error": self.error,
                "category": self.category, "note": self.note}


@dataclass(frozen=True, slots=True)
class SnapshotDiff:
    """What differs between two snapshots' params, outputs and step statuses.

    ``*_changed`` map a key to ``(before, after)``; outputs are compared by identity first,
    so unchanged (shared) outputs cost nothing however large they are. ``steps_added``/
    ``steps_removed`` compare the two plans and ``graph_changes`` are the adaptive changes
    ``after`` has and ``before`` has not.
    """

    params_added: dict[str, Any]
    params_removed: dict[str, Any]
    params_changed: dict[str, tuple[Any, Any]]
    outputs_added: dict[str, Any]
    outputs_removed: dict[str, Any]
    outputs_changed: dict[str, tuple[Any, Any]]
    statuses_changed: dict[str, tuple[RunStatus | None, RunStatus | None]]
    steps_added: tuple[str, ...] = ()
    steps_removed: tuple[str, ...] = ()
    graph_changes: tuple[GraphChange, ...] = ()

    def __bool__(self) -> bool:
        return any(self._parts())

    def _parts(self) -> Iterator[Any]:
        yield from (self.params_added, self.params_removed, self.params_changed,
                    self.outputs_added, self.outputs_removed, self.outputs_changed,
                    self.statuses_changed, self.steps_added, self.steps_removed,
                    self.graph_changes)

    def to_dict(self) -> dict[str, Any]:
        return {"params": {"added": self.params_added, "removed": self.params_removed,
                           "changed": self.params_changed},
                "outputs": {"added": self.outputs_added, "removed": self.outputs_removed,
                            "changed": self.outputs_changed},
                "statuses": self.statuses_changed,
                "steps": {"added": list(self.steps_added), "removed": list(self.steps_removed)},
                "graph_changes": [c.to_dict() for c in self.graph_changes]}


def diff_states(before: State, after: State) -> SnapshotDiff:
    p_added, p_removed, p_changed = _diff_maps(before.params, after.params)
    o_added, o_removed, o_changed = _diff_maps(before.outputs, after.outputs)
    statuses: dict[str, tuple[RunStatus | None, RunStatus | None]] = {}
    names = dict.fromkeys(before.plan.names)
    if after.plan is not before.plan:
        names.update(dict.fromkeys(after.plan.names))
    for name in names:
        old, new = before.runs.get(name), after.runs.get(name)
        old_status = old.status if old is not None else None
        new_status = new.status if new is not None else None
        if old_status != new_status:
            statuses[name] = (old_status, new_status)
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    if after.plan is not before.plan:
        added = tuple(n for n in after.plan.names if n not in before.plan.index)
        removed = tuple(n for n in before.plan.names if n not in after.plan.index)
    known = {id(c) for c in before.adaptive}
    changes = tuple(c for c in after.adaptive if id(c) not in known)
    return SnapshotDiff(p_added, p_removed, p_changed, o_added, o_removed, o_changed, statuses,
                        added, removed, changes)


def _diff_maps(before: Mapping[str, Any], after: Mapping[str, Any]
               ) -> tuple[dict[str, Any], dict[str, Any], dict[str, tuple[Any, Any]]]:
    if before is after:
        return {}, {}, {}
    added = {k: v for k, v in after.items() if k not in before}
    removed = {k: v for k, v in before.items() if k not in after}
    changed = {k: (v, after[k]) for k, v in before.items()
               if k in after and not _same(v, after[k])}
    return added, removed, changed


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:  # e.g. array-like values without a truth value: treat as changed
        return False


def initial_state(wf: Workflow, params: dict[str, Any], seed: Mapping[str, Any] | None,
                  call_chain: tuple[str, ...], run_id: str) -> State:
    """The state before a workflow's first step: its plan, params and any seeded outputs."""
    plan = wf.plan
    order_pos = [0] * len(plan.order)
    for k, i in enumerate(plan.order):
        order_pos[i] = k
    return State(run_id, wf.name, call_chain, wf.execution_policy, wf.steps, plan,
                 tuple(order_pos), params, dict(seed or {}), {})
