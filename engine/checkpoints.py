"""Checkpoints (spec §10): the state a tracked run resumes from, read back from the run store.

A tracked run is checkpointed after every step already: the recorder commits each finished
step's status and output in one transaction before the runner moves on, and
``TrackedWorkflowRunner.resume`` restores exactly the outputs of the steps that completed.
``CheckpointStore`` gives that commit the spec's names instead of keeping a second copy:
``load`` builds a ``WorkflowState`` from the stored run, ``resume`` lists the steps still to
run, and ``save`` checks a state against what the recorder committed and returns its
``CheckpointRef``. It writes nothing (the schema's ``checkpoints`` table stays unused), so a
checkpoint can never disagree with what a resume restores, and a run's outputs are stored
once rather than again in every snapshot.

Checkpoint *k* is the state after *k* steps completed (checkpoint 0 is the run as created:
its params only), counted in completion order, so ``current_step_index`` is *k* too: for a
sequential run, the index of the step that runs next. Map items (``fan[3].clean``) are parts
of their map step, not steps of the run.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .artifacts.refs import ArtifactRef
from .definitions import workflow_for_run
from .results import RunStatus
from .serialization import to_json
from .steps import Step
from .store.records import RunRecord, StepRecord
from .store.runs import RunStore, StoreLike, UnknownRunError, open_store
from .store.schema import StoreError
from .workflow import CheckpointConfig, Workflow

__all__ = ["CheckpointConfig", "CheckpointError", "CheckpointRef", "CheckpointStore",
           "WorkflowState"]


class CheckpointError(StoreError, ValueError):
    """A state handed to ``CheckpointStore.save`` does not match the stored run."""


@dataclass(frozen=True, slots=True)
class CheckpointRef:
    """Where a checkpoint is: run, the step whose completion committed it (None for checkpoint
    0), its number (steps completed) and when it was committed."""

    run_id: str
    step: str | None
    seq: int
    checkpointed_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "step": self.step, "seq": self.seq,
                "checkpointed_at": self.checkpointed_at.isoformat()}


@dataclass(frozen=True, slots=True)
class WorkflowState:
    """A run's resumable state: the completed steps (in completion order), their outputs and
    the run's params (``context_snapshot``: ``{"params": ..., "outputs": ...}``, the JSON
    form resume restores), the artifacts those outputs refer to (by artifact key) and when
    the last of them was committed. ``workflow_version`` is the version the run recorded
    (None only for runs stored before versions were recorded)."""

    run_id: str
    workflow_version: int | None
    current_step_index: int
    completed_steps: list[str] = field(default_factory=list)
    context_snapshot: dict[str, Any] = field(default_factory=dict)
    artifact_refs: dict[str, ArtifactRef] = field(default_factory=dict)
    checkpointed_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.context_snapshot.get("params") or {})

    @property
    def outputs(self) -> dict[str, Any]:
        return dict(self.context_snapshot.get("outputs") or {})

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "workflow_version": self.workflow_version,
                "current_step_index": self.current_step_index,
                "completed_steps": list(self.completed_steps),
                "context_snapshot": self.context_snapshot,
                "artifact_refs": {k: r.to_dict() for k, r in self.artifact_refs.items()},
                "checkpointed_at": self.checkpointed_at.isoformat()}


@dataclass(frozen=True, slots=True)
class _Stored:
    record: RunRecord
    completed: list[StepRecord]  # completed steps of the run, in completion order
    state: WorkflowState


class CheckpointStore:
    """The spec's checkpoint API over the local run store (see the module docstring).

    ``store`` is what ``TrackedWorkflowRunner`` takes: a path, a ``RunStore``/``Database``, a
    sqlite3 connection, or None for the default store. The async methods run their SQLite
    reads in a worker thread; ``save_sync``, ``load_sync`` and ``resume_sync`` are their
    blocking twins.
    """

    def __init__(self, store: StoreLike | Any = None) -> None:
        self.store: RunStore = open_store(store)

    # ------------------------------------------------------------------ the spec's API
    async def save(self, run_id: str, step_name: str, state: WorkflowState) -> CheckpointRef:
        """The checkpoint committed when ``step_name`` completed, once ``state`` is checked
        against it (see ``save_sync``)."""
        return await _in_thread(self.save_sync, run_id, step_name, state)

    async def load(self, run_id: str) -> WorkflowState | None:
        """The run's latest checkpoint, or None when the store has no such run."""
        return await _in_thread(self.load_sync, run_id)

    async def resume(self, run_id: str, workflow: Workflow | Any = None) -> AsyncIterator[Step]:
        """Yield the steps the run has not completed, in plan order (see ``resume_sync``)."""
        for step in await _in_thread(self.resume_sync, run_id, workflow):
            yield step

    # ------------------------------------------------------------------ blocking twins
    def load_sync(self, run_id: str) -> WorkflowState | None:
        """The run's latest checkpoint, or None when the store has no such run (an id prefix
        matching several runs raises ``UnknownRunError``)."""
        stored = self._read(run_id)
        return None if stored is None else stored.state

    def save_sync(self, run_id: str, step_name: str, state: WorkflowState) -> CheckpointRef:
        """The ``CheckpointRef`` of the commit the recorder made when ``step_name`` completed.

        Nothing is written: the run's step commits are its checkpoints. ``state`` must agree
        with them (same run and version, ``step_name`` among its completed steps, every step
        it lists completed in the store with the same output, the same params), else
        ``CheckpointError`` says what differs; a run that is not in the store (one not run by
        a tracked runner) has no checkpoints to refer to.
        """
        if not isinstance(state, WorkflowState):
            raise TypeError(f"state must be a WorkflowState, got {type(state).__name__}")
        stored = self._read(run_id)
        if stored is None:
            raise CheckpointError(
                f"no run {run_id!r} in {self.store.path}: checkpoints are the step commits of "
                "tracked runs (TrackedWorkflowRunner, start_run, spine-engine run)")
        record, current = stored.record, stored.state
        if state.run_id not in (run_id, record.run_id):
            raise CheckpointError(f"the state is of run {state.run_id!r}, not {record.run_id!r}")
        done = {s.step: s for s in stored.completed}
        if step_name not in done:
            raise CheckpointError(_not_completed(self.store, record, step_name, current))
        if step_name not in state.completed_steps:
            raise CheckpointError(f"the state does not list {step_name!r} among its completed "
                                  f"steps ({', '.join(state.completed_steps) or 'none'})")
        _check_agrees(record, current, state)
        seq = current.completed_steps.index(step_name) + 1
        at = done[step_name].finished_at or current.checkpointed_at
        return CheckpointRef(record.run_id, step_name, seq, at)

    def resume_sync(self, run_id: str, workflow: Workflow | Any = None) -> list[Step]:
        """The steps of the run's workflow it has not completed, in plan order: what
        ``TrackedWorkflowRunner.resume(run_id, workflow)`` would run.

        ``workflow`` defaults to the run's own definition, rebuilt from its recorded source
        file, the registry or its stored version (``engine.definitions.workflow_for_run``).
        """
        stored = self._read(run_id)
        if stored is None:
            raise UnknownRunError(f"no run {run_id!r} in {self.store.path}; "
                                  "`spine-engine runs` lists the stored runs")
        record = stored.record
        if workflow is None:
            wf = workflow_for_run(self.store, record)
        else:
            wf = workflow if isinstance(workflow, Workflow) else workflow.workflow
            if wf.name != record.workflow:
                raise CheckpointError(f"run {record.run_id} is of workflow {record.workflow!r}, "
                                      f"but the definition given is {wf.name!r}")
        done = set(stored.state.completed_steps)
        return [wf.get_step(name) for name in wf.plan.names if name not in done]

    # ------------------------------------------------------------------ reading
    def _read(self, run_id: str) -> _Stored | None:
        try:
            record = self.store.get_run(run_id)
        except UnknownRunError:
            if self._prefix_matches(run_id) > 1:  # ambiguous: an error in the id, not absence
                raise
            return None
        completed = sorted((s for s in self.store.step_runs(record.run_id)
                            if s.status is RunStatus.COMPLETED and not s.is_map_item),
                           key=lambda s: (s.finished_at or _EPOCH, s.step))
        last = completed[-1].finished_at if completed else None
        at = last or record.started_at or record.created_at or datetime.now(UTC)
        state = WorkflowState(
            run_id=record.run_id, workflow_version=record.version,
            current_step_index=len(completed), completed_steps=[s.step for s in completed],
            context_snapshot={"params": dict(record.params),
                              "outputs": self.store.completed_outputs(record.run_id)},
            artifact_refs={a.key: a.to_ref() for a in self.store.artifacts(record.run_id)},
            checkpointed_at=at)
        return _Stored(record, completed, state)

    def _prefix_matches(self, run_id: str) -> int:
        if len(run_id) < 4:
            return 0
        return int(self.store.db.scalar(
            "SELECT count(*) FROM (SELECT 1 FROM runs WHERE run_id LIKE ? LIMIT 2)",
            [run_id.replace("%", "") + "%"]))


_EPOCH = datetime.fromtimestamp(0, UTC)


def _not_completed(store: RunStore, record: RunRecord, step: str, state: WorkflowState) -> str:
    status = next((s.status.value for s in store.step_runs(record.run_id) if s.step == step),
                  None)
    done = ", ".join(state.completed_steps) or "none yet"
    if status is None:
        return (f"run {record.run_id} has no checkpoint for {step!r}: the step has not run "
                f"(completed steps: {done})")
    return (f"run {record.run_id} has no checkpoint for {step!r}: the step is {status}, and a "
            f"checkpoint is committed when a step completes (completed steps: {done})")


def _check_agrees(record: RunRecord, current: WorkflowState, state: WorkflowState) -> None:
    """Raise ``CheckpointError`` where ``state`` says something the stored run does not."""
    if (state.workflow_version is not None and current.workflow_version is not None
            and state.workflow_version != current.workflow_version):
        raise CheckpointError(f"the state is of version {state.workflow_version}, but run "
                              f"{record.run_id} recorded version {current.workflow_version}")
    unknown = [s for s in state.completed_steps if s not in current.completed_steps]
    if unknown:
        raise CheckpointError(f"the state lists step(s) {', '.join(unknown)} as completed; in "
                              f"run {record.run_id} they are not")
    stored_outputs = current.outputs
    for step, output in state.outputs.items():
        if step not in stored_outputs:
            raise CheckpointError(f"the state holds an output of {step!r}, which run "
                                  f"{record.run_id} has not stored")
        if _jsonable(output) != stored_outputs[step]:
            raise CheckpointError(f"the state's output of {step!r} differs from the one run "
                                  f"{record.run_id} stored; a checkpoint cannot change a "
                                  "completed step's output")
    params = state.context_snapshot.get("params")
    if params is not None and _jsonable(params) != current.params:
        raise CheckpointError(f"the state's params differ from the params run "
                              f"{record.run_id} started with")


def _jsonable(value: Any) -> Any:
    """``value`` as the store holds it (JSON round trip, artifact refs as their dicts)."""
    return json.loads(to_json(value))


async def _in_thread(fn: Any, /, *args: Any) -> Any:
    import asyncio  # lazily: importing the engine should not pay for asyncio

    return await asyncio.to_thread(fn, *args)
