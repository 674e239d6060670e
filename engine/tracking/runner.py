"""``TrackedWorkflowRunner``: a ``WorkflowRunner`` whose every run is persisted in the store.

Runs keep their step statuses, outputs, events and captured logs; ``partition={...}`` makes a
run idempotent (a partition that already completed is recorded as ``skipped`` and not run
again, like Dagster's partitioned assets); ``resume(run_id)`` continues a run after a crash
from the steps that completed, without executing them again; ``retry`` and ``replay_step``
re-execute a stored run as a new, linked run. Every run obeys commands other processes write
into the store (``RunControl``: pause, resume, cancel, approvals) and, given a
``ConcurrencyPolicy``, waits for a free slot of its workflow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

from ..alerts.listener import AlertListener
from ..artifacts import open_artifact_store
from ..errors import UnknownWorkflowError
from ..events import Lineage, Listener, RunOrigin, RunPending, RunSkipped
from ..executors import ExecutorLike
from ..ids import new_run_id, now
from ..lifecycle import LIVE, RESUMABLE, RETRYABLE, require
from ..params import partition_key, resolve_params
from ..registry import get_workflow
from ..results import RunStatus, StepRun, WorkflowResult
from ..run_loop import RunLoop
from ..runner import ContinuedRun, WorkflowRunner
from ..steps import Step, StepType
from ..store.control_inbox import POLL_SECONDS, discard_commands
from ..store.control_requests import RunControlError
from ..store.recorder import RunRecorder
from ..store.records import RunRecord
from ..store.runs import StoreLike, open_store, reap_dead_runs
from ..versions import WorkflowVersionStore, version_for_run
from ..workflow import ConcurrencyPolicy, Workflow
from .admission import admit
from .signals import ControlPoller, TrackedRunSignals


class TrackedWorkflowRunner:
    """Run workflows and persist them (runs, steps, outputs, events, logs) in a run store.

    ``store`` may be a path, a ``RunStore``/``Database`` or a sqlite3 connection; default is
    ``$SPINE_DB`` or ``~/.spine/spine.db``. ``runnable`` is accepted for the spec's
    ``TrackedWorkflowRunner(conn, runnable=dispatcher)`` form: pipelines resolve through the
    registry, so it is not needed. ``poll_interval`` is how often pending control commands
    are read while runs are in flight (and how often approvals and queued runs re-check).
    Handlers get ``ctx.artifact_store`` (default: the store ``$SPINE_ARTIFACTS`` names, else
    a ``LocalArtifactStore`` in an ``artifacts`` folder beside the database). Every run
    records the workflow version it ran: the definition is published to the version store
    (deduplicated by checksum) before the run starts, so later edits never change what a run
    in flight reports.
    ``executor`` chooses where handlers run (``engine.executors``); a run whose handlers a
    worker could not run is refused before anything is recorded.
    """

    def __init__(self, store: StoreLike | Any = None, *, runnable: Any = None,
                 listeners: Iterable[Listener] = (), capture_logs: bool = True,
                 poll_interval: float = POLL_SECONDS, artifact_store: Any = None,
                 executor: ExecutorLike = None) -> None:
        self.store = open_store(store)
        self.poll_interval = poll_interval
        self.poller = ControlPoller(self.store.db, poll_interval)
        self.recorder = RunRecorder(self.store.db)
        self.alerts = AlertListener(self.store.db)  # queues the workflows' alerts (outbox)
        self.versions = WorkflowVersionStore(self.store)
        if artifact_store is None:  # $SPINE_ARTIFACTS, else a local folder beside the store
            artifact_store = open_artifact_store(default_root=self.store.path.parent / "artifacts")
        self.runner = _LinkedRunner(self, listeners=[self.recorder, self.alerts, *listeners],
                                    capture_logs=capture_logs, artifact_store=artifact_store,
                                    executor=executor)

    def subscribe(self, listener: Listener) -> Any:
        return self.runner.subscribe(listener)

    def execute(self, workflow: Workflow | Any, params: Mapping[str, Any] | None = None, *,
                partition: Mapping[str, Any] | None = None, run_id: str | None = None,
                source: str | None = None, cancel: threading.Event | None = None,
                concurrency: ConcurrencyPolicy | None = None,
                started_by: str = "script", version_lock: bool = True) -> WorkflowResult:
        """Run and persist ``workflow``; see the class docstring for partitions.

        ``concurrency`` (default: the workflow's own ``concurrency``) admits the run only
        while a slot is free across every process using this store; otherwise the run is
        queued, skipped or cancels older runs, as the policy says. ``source`` is the
        ``SourceRef`` text a later resume rebuilds the definition from; ``started_by`` who
        asked for the run (``cli``, ``tui``, ``api``, ``script``, ``schedule:NAME``, ...).
        ``version_lock=True`` (spec §9, the default) publishes the definition before the run
        starts and records that version; ``False`` publishes nothing and records the
        workflow's own ``version`` number unchecked (a stored version of that number may hold
        another definition, so a resume should be handed the workflow).
        """
        wf = _unwrap(workflow)
        key = partition_key(partition) if partition else None
        version = (version_for_run(self.versions, wf, source=source) if version_lock
                   else wf.version)
        origin = RunOrigin(started_by=started_by, source=source, partition_key=key,
                           version=version)
        return self._launch(wf, resolve_params(wf, params, partition), run_id or new_run_id(),
                            origin, cancel=cancel, concurrency=concurrency,
                            check_partition=key is not None)

    def resume(self, run_id: str, workflow: Workflow | Any,
               cancel: threading.Event | None = None,
               concurrency: ConcurrencyPolicy | None = None,
               started_by: str = "script") -> WorkflowResult:
        """Continue a stored run under the same id: completed steps keep their outputs and are
        not run again (crash recovery; a paused run continues with ``RunControl.resume_paused``).
        """
        record = self._finished_run(run_id)
        if record.status in LIVE:
            raise RunControlError(f"run {record.run_id} is {record.status.value} in process "
                                  f"{record.pid} on {record.host}; cancel it or wait for it "
                                  "to end before resuming")
        require(record.run_id, record.status, RESUMABLE, "resumed", error=RunControlError)
        wf = _unwrap(workflow)
        refused = self.recorder.reopen(record.run_id)  # the check above, made atomic
        if refused is not None:
            raise RunControlError(f"run {record.run_id} is {refused}: another process resumed "
                                  "it first; only failed, cancelled or interrupted runs can be "
                                  "resumed")
        restored = self.store.completed_outputs(record.run_id)
        discard_commands(self.store.db, record.run_id)  # a stale pause/cancel must not apply
        origin = RunOrigin(started_by=started_by, source=record.source,
                           partition_key=record.partition_key)
        return self._launch(wf, record.params, record.run_id, origin, cancel=cancel,
                            restored=restored, concurrency=concurrency)

    def retry(self, run_id: str, workflow: Workflow | Any, *,
              cancel: threading.Event | None = None,
              concurrency: ConcurrencyPolicy | None = None,
              as_run_id: str | None = None, started_by: str = "script") -> WorkflowResult:
        """Re-run a failed, cancelled or interrupted run from where it stopped, as a new run.

        Steps that completed are not executed again: the new run starts with their rows and
        outputs (carried over by the recorder when the run is created), then runs the failed
        step and everything after it with the original params. The new run gets its own id —
        like Dagster's "re-execute from failure" and Temporal's reset — so the failed attempt
        stays in the history (and in success rates); the two are linked by a ``retry_of``
        event on the new run and a ``retried_by`` event on the old one
        (``RunControl.origin``). ``as_run_id`` chooses the new id. Continuing the *same* run
        after a crash is ``resume``.
        """
        record = self._finished_run(run_id)
        require(record.run_id, record.status, RETRYABLE, "retried", error=RunControlError)
        wf = self._same_workflow(record.workflow, workflow)
        restored = {k: v for k, v in self.store.completed_outputs(record.run_id).items()
                    if k in wf.plan.index}
        lineage = Lineage("retry", record.run_id, record.error_step, tuple(restored))
        origin = RunOrigin(started_by=started_by, source=record.source,
                           partition_key=record.partition_key, lineage=lineage)
        return self._launch(wf, record.params, as_run_id or new_run_id(), origin,
                            cancel=cancel, restored=restored, concurrency=concurrency)

    def replay_step(self, run_id: str, step: str, workflow: Workflow | Any, *,
                    cancel: threading.Event | None = None,
                    as_run_id: str | None = None, started_by: str = "script") -> WorkflowResult:
        """Execute one step of a stored run again, as a new one-step run of the workflow.

        The step sees the run's params and the stored outputs of every step upstream of it
        (what it saw the first time); nothing else runs. Like Dagster's "re-execute selected
        step", the replay is its own run (linked by a ``replay_of`` event), so the original
        run's record stays as it happened and a replay never marks a partition done.
        """
        record = self._finished_run(run_id)
        if record.status in LIVE:
            raise RunControlError(f"run {record.run_id} is still {record.status.value}; replay "
                                  "its steps after it has finished")
        wf = self._same_workflow(record.workflow, workflow)
        target = wf.get_step(step)
        upstream = _upstream(wf, step)
        stored = self.store.completed_outputs(record.run_id)
        missing = [name for name in upstream if name not in stored]
        if missing:
            raise RunControlError(
                f"cannot replay {step!r} of run {record.run_id}: upstream step(s) "
                f"{', '.join(missing)} have no stored output (they did not complete); "
                "retry the run instead")
        seed = {name: output for name, output in stored.items() if name in upstream}
        single = wf.with_steps([target.with_changes(depends_on=[])])
        origin = RunOrigin(started_by=started_by, source=record.source,
                           lineage=Lineage("replay", record.run_id, step, tuple(seed)))
        return self._launch(single, record.params, as_run_id or new_run_id(), origin,
                            cancel=cancel, seed=seed)

    def _finished_run(self, run_id: str) -> RunRecord:
        record = self.store.get_run(run_id)
        if reap_dead_runs(self.store.db, record.run_id):
            record = self.store.get_run(record.run_id)
        return record

    @staticmethod
    def _same_workflow(name: str, workflow: Workflow | Any) -> Workflow:
        wf = _unwrap(workflow)
        if wf.name != name:
            raise RunControlError(f"the stored run is of workflow {name!r}, "
                                  f"but the definition given is {wf.name!r}")
        return wf

    def _launch(self, wf: Workflow, params: dict[str, Any], run_id: str, origin: RunOrigin, *,
                cancel: threading.Event | None,
                concurrency: ConcurrencyPolicy | None = None,
                restored: Mapping[str, Any] | None = None,
                seed: Mapping[str, Any] | None = None,
                check_partition: bool = False,
                go: Callable[[TrackedRunSignals, RunOrigin], WorkflowResult] | None = None
                ) -> WorkflowResult:
        """Create the run (``RunPending``), skip it if its partition is done, admit it
        (concurrency), watch for control commands, run (``go``, default: execute ``wf``),
        and flush."""
        policy = concurrency if concurrency is not None else wf.concurrency
        version = (origin.version if origin.version is not None
                   else version_for_run(self.versions, wf, source=origin.source))
        origin = RunOrigin(started_by=origin.started_by, source=origin.source,
                           partition_key=origin.partition_key, version=version,
                           lineage=origin.lineage)
        emit = self.runner.emit
        self.runner.check_workflow(wf)  # nothing is recorded for a run no worker could run
        self.alerts.watch(run_id, wf.name, wf.alerts, wf.steps, subworkflows(wf))
        emit(RunPending(run_id=run_id, workflow=wf.name, at=now(), params=params,
                        step_names=wf.plan.names, origin=origin))
        signals = TrackedRunSignals(self.store.db, run_id, wf.name, emit, cancel,
                                    self.poll_interval)
        try:
            done = (self.store.find_partition_run(wf.name, origin.partition_key)
                    if check_partition and origin.partition_key else None)
            if done is not None:
                reason = f"partition {origin.partition_key} already completed by run {done.run_id}"
                emit(RunSkipped(run_id=run_id, workflow=wf.name, at=now(), reason=reason))
                return _unrun(wf, run_id, params, RunStatus.SKIPPED, reason, origin.version)
            if policy is not None:
                admission = admit(self.recorder, emit, run_id, wf.name, policy,
                                  signals.cancel_event, reap=self._reap,
                                  poll_interval=self.poll_interval)
                if admission.status is not None:
                    return _unrun(wf, run_id, params, admission.status,
                                  admission.reason or admission.status.value, origin.version)
            self.poller.watch(signals)
            try:
                if go is not None:
                    result = go(signals, origin)
                else:
                    result = self.runner.execute(wf, params, run_id=run_id, signals=signals,
                                                 restored=restored, seed_outputs=seed,
                                                 origin=origin)
            finally:
                self.poller.unwatch(run_id)
            self._apply_retention(wf, result)
            return result
        finally:
            self.recorder.flush()
            self.alerts.unwatch(run_id)

    def launch_link(self, link: ContinuedRun) -> tuple[RunLoop | None, WorkflowResult]:
        """Run one ``continue_as_new`` link as a tracked run of its own: created, admitted by
        the workflow's concurrency policy, and obeying its own control commands."""
        ran: list[RunLoop] = []

        def go(signals: TrackedRunSignals, origin: RunOrigin) -> WorkflowResult:
            run, result = self.runner.run_link(replace(link, origin=origin), signals)
            ran.append(run)
            return result

        origin = link.origin or RunOrigin()
        result = self._launch(link.workflow, resolve_params(link.workflow, link.params),
                              link.run_id, origin, cancel=link.cancel, go=go)
        return (ran[0] if ran else None), result

    def _apply_retention(self, wf: Workflow, result: WorkflowResult) -> None:
        """Expire or delete the run's artifacts as the workflow's ``artifact_retention`` says."""
        store = self.runner.artifact_store
        if wf.artifact_retention is None or store is None or not result.status.is_terminal:
            return
        wf.artifact_retention.apply(store, result.run_id, result.status)

    def _reap(self) -> None:
        self.store.reap_interrupted()

    def close(self) -> None:
        """Flush buffered events and stop the background writer and the command poller."""
        self.poller.close()
        self.recorder.close()
        self.alerts.close()

    def __enter__(self) -> TrackedWorkflowRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _LinkedRunner(WorkflowRunner):
    """The tracked runner's engine: every ``continue_as_new`` link goes through
    ``TrackedWorkflowRunner.launch_link``, so continued runs are tracked runs too."""

    def __init__(self, owner: TrackedWorkflowRunner, **options: Any) -> None:
        super().__init__(**options)
        self.owner = owner

    def continue_run(self, link: ContinuedRun) -> tuple[RunLoop | None, WorkflowResult]:
        return self.owner.launch_link(link)

    def detached_signals(self, run_id: str, workflow: str
                         ) -> AbstractContextManager[TrackedRunSignals]:
        """A detached sub-workflow run gets tracked signals of its own, watched by the
        poller while it runs: it can wait for approval and be approved, paused or cancelled
        by its own run id, after the run that started it has ended."""
        owner = self.owner
        return owner.poller.watching(TrackedRunSignals(owner.store.db, run_id, workflow,
                                                       self.emit, None, owner.poll_interval))


def _unwrap(workflow: Workflow | Any) -> Workflow:
    """The ``Workflow`` itself, also from a ``ManagedWorkflow`` or a catalog entry."""
    return workflow if isinstance(workflow, Workflow) else workflow.workflow


def _unrun(wf: Workflow, run_id: str, params: dict[str, Any], status: RunStatus,
           reason: str, version: int | None) -> WorkflowResult:
    """The result of a run that never started a step (skipped, cancelled or timed out queued)."""
    at = now()
    steps = {s.name: StepRun(s.name, RunStatus.SKIPPED, error=f"not run: {reason}")
             for s in wf.steps}
    return WorkflowResult(run_id=run_id, workflow_name=wf.name, status=status, params=params,
                          steps=steps, error=reason, started_at=at, finished_at=at,
                          workflow_version=version or wf.version)


def _upstream(wf: Workflow, step: str) -> set[str]:
    """Every step ``step`` transitively depends on."""
    plan = wf.plan
    seen: set[int] = set()
    todo = list(plan.deps[plan.index[step]])
    while todo:
        i = todo.pop()
        if i not in seen:
            seen.add(i)
            todo.extend(plan.deps[i])
    return {plan.names[i] for i in seen}


def subworkflows(wf: Workflow) -> dict[str, Workflow]:
    """The registered workflows ``wf`` runs as sub-workflows, at any depth, by name: their
    approval steps notify through the alert policy of the run that started them."""
    found: dict[str, Workflow] = {}
    pending = [wf]
    while pending:
        for step in _every_step(pending.pop().steps):
            name = step.workflow_name
            if step.step_type is not StepType.WORKFLOW or not name or name in found:
                continue
            try:
                child = get_workflow(name)
            except UnknownWorkflowError:  # the run itself reports it, at that step
                continue
            found[name] = child
            pending.append(child)
    return found


def _every_step(steps: Iterable[Step]) -> Iterable[Step]:
    for step in steps:
        yield step
        yield from _every_step(step.iterator_steps)
