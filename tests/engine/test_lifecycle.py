"""The run lifecycle: one writer of runs and steps, an event for every state change, illegal
transitions refused, and ``start_run`` storing the run before it returns its id."""

from __future__ import annotations

import inspect
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import engine
from engine import (
    IllegalTransitionError,
    RunControl,
    RunControlError,
    RunPending,
    RunStarted,
    RunStatus,
    RunStore,
    Step,
    TrackedWorkflowRunner,
    Workflow,
    start_retry,
    start_run,
)
from engine.lifecycle import TRANSITIONS, can_move
from engine.store.db import Database
from engine.workflow import ConcurrencyPolicy

RESOURCES = Path(__file__).parent.parent / "resources" / "control"
sys.path.insert(0, str(RESOURCES))

import flows  # noqa: E402
from waits import wait_until  # noqa: E402

ROOT = Path(engine.__file__).parent.parent
WRITES = re.compile(r"\b(INSERT(\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+"
                    r"(runs|step_runs)\b", re.IGNORECASE)
WRITER = ROOT / "engine" / "store" / "run_writes.py"
SCHEMA = ROOT / "engine" / "store" / "schema.py"
PACKAGE = str(ROOT / "engine") + "/"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CTL_DIR", str(tmp_path))
    monkeypatch.delenv("SPINE_ENV", raising=False)
    return tmp_path / "runs.db"



def kinds(store: RunStore, run_id: str) -> list[str]:
    return [e.kind for e in store.events(run_id)]


# ---------------------------------------------------------------------- one writer
def test_only_the_recorders_statements_write_runs_and_steps() -> None:
    """Static: no module but ``engine/store/run_writes.py`` holds a statement that writes the
    runs or step_runs tables (the schema's migrations aside), and only the recorder imports it."""
    offenders = []
    importers = []
    for package in ("engine", "spine_tui", "screens"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            if path not in (WRITER, SCHEMA) and WRITES.search(text):
                offenders.append(str(path.relative_to(ROOT)))
            if path != WRITER and re.search(r"\brun_writes\b", text):
                importers.append(str(path.relative_to(ROOT)))
    assert offenders == []
    assert importers == ["engine/store/recorder.py"]


@pytest.fixture
def write_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Every write to runs/step_runs on a store connection, with the module that issued it
    (SQLite's authorizer runs while the statement is prepared, inside the caller's frame)."""
    log: list[tuple[str, str]] = []
    original = Database.connection

    def authorizer(action: int, table: str | None, *_: Any) -> int:
        if action in (sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE,
                      sqlite3.SQLITE_DELETE) and table in ("runs", "step_runs"):
            frame = inspect.currentframe()
            module = "?"
            while frame is not None:
                filename = frame.f_code.co_filename
                if filename.startswith(PACKAGE) and not filename.endswith("/store/db.py"):
                    module = filename[len(PACKAGE):]
                    break
                frame = frame.f_back
            log.append((table, module))
        return sqlite3.SQLITE_OK

    def connection(self: Database) -> sqlite3.Connection:
        conn = original(self)
        if not getattr(conn, "_spine_audited", False):
            conn.set_authorizer(authorizer)
        return conn

    monkeypatch.setattr(Database, "connection", connection)
    yield log


def test_every_run_write_comes_from_the_recorder(db: Path, write_log: list[tuple[str, str]],
                                                 tmp_path: Path) -> None:
    """Dynamic: a session that queues, skips, pauses, waits for approval, fails, retries,
    replays, resumes and reaps runs writes runs/step_runs only through ``run_writes``."""
    policy = ConcurrencyPolicy(max_concurrent_runs=1, on_conflict="skip")
    with TrackedWorkflowRunner(db, poll_interval=0.02) as runner:
        wf = Workflow("life.part", steps=[Step.lambda_("a", flows.tick, config={"name": "a"})])
        runner.execute(wf, partition={"day": "1"})
        skipped = runner.execute(wf, partition={"day": "1"})
        assert skipped.status is RunStatus.SKIPPED
        failed = runner.execute(flows.retryable())
        assert failed.status is RunStatus.FAILED
        (tmp_path / "fixed").touch()
        assert runner.retry(failed.run_id, flows.retryable()).status is RunStatus.COMPLETED
        assert runner.replay_step(failed.run_id, "two", flows.retryable()).status \
            is RunStatus.COMPLETED
        gated = start_run(flows.gated(policy), {"gate": "open"}, runner=runner)
        wait_until(lambda: "hold" in flows.ran(), what="the gated run to hold")
        second = runner.execute(flows.gated(policy), {"gate": "open"})
        assert second.status is RunStatus.SKIPPED
        control = RunControl(runner.store)
        control.pause(gated.run_id)
        wait_until(lambda: control.status(gated.run_id).status is RunStatus.PAUSED,
                   what="paused")
        control.resume_paused(gated.run_id)
        (tmp_path / "open").touch()
        assert gated.wait(30).status is RunStatus.COMPLETED
    modules = {module for _table, module in write_log} - {"store/schema.py"}  # migrations
    assert write_log, "the authorizer saw no write at all"
    assert modules == {"store/run_writes.py"}


# ---------------------------------------------------------------------- events
def test_every_state_change_is_an_event_on_the_run(db: Path, tmp_path: Path) -> None:
    store = RunStore(db)
    with TrackedWorkflowRunner(db, poll_interval=0.02) as runner:
        seen: list[Any] = []
        runner.subscribe(seen.append)
        handle = start_run(flows.approval(), runner=runner, started_by="tui")
        control = RunControl(store)
        wait_until(lambda: control.approvals(handle.run_id), what="the approval request")
        control.pause(handle.run_id)
        wait_until(lambda: control.status(handle.run_id).status is RunStatus.PAUSED,
                   what="paused")
        control.resume_paused(handle.run_id)
        wait_until(lambda: control.status(handle.run_id).status is RunStatus.WAITING,
                   what="waiting again")
        control.approve(handle.run_id, "deploy_approval", by="lead")
        assert handle.wait(30).status is RunStatus.COMPLETED
    stored = kinds(store, handle.run_id)
    for kind in ("run_pending", "run_started", "waiting", "paused", "resumed", "run_finished"):
        assert kind in stored, (kind, stored)
    assert stored.index("run_pending") < stored.index("run_started") < stored.index("waiting")
    mine = [type(e).__name__ for e in seen if e.run_id == handle.run_id]
    for name in ("RunPending", "RunStarted", "RunWaiting", "RunPaused", "RunResumed",
                 "RunFinished"):
        assert name in mine
    record = store.get_run(handle.run_id)
    assert record.started_by == "tui" and record.version == 1


def test_a_run_killed_mid_step_is_interrupted_with_an_event(db: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, str(RESOURCES / "run_flow.py"), str(db), "victim",
                             "gated", '{"gate": "never"}'], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: db.exists() and any(
            s.step == "hold" for s in RunStore(db).step_runs("victim")),
            what="the blocking step's row to be stored")
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    store = RunStore(db)
    record = store.get_run("victim")  # reading notices the dead process
    assert record.status is RunStatus.INTERRUPTED
    assert kinds(store, "victim")[-1] == "run_interrupted"
    steps = {s.step: s.status for s in store.step_runs("victim")}
    assert steps["hold"] is RunStatus.INTERRUPTED


# ---------------------------------------------------------------------- transitions
def test_the_transition_table_is_closed_and_finished_runs_never_move() -> None:
    for source, moves in TRANSITIONS.items():
        assert set(moves) <= set(RunStatus)
        assert source not in moves
    assert not TRANSITIONS[RunStatus.COMPLETED] and not TRANSITIONS[RunStatus.SKIPPED]
    assert can_move("queued", "running") and not can_move("completed", "running")


def test_illegal_transitions_are_refused_naming_the_state(db: Path) -> None:
    wf = Workflow("life.done", steps=[Step.lambda_("a", flows.tick, config={"name": "a"})])
    with TrackedWorkflowRunner(db) as runner:
        done = runner.execute(wf)
        with pytest.raises(RunControlError, match="is completed; only failed, cancelled or "
                                                  "interrupted runs can be resumed"):
            runner.resume(done.run_id, wf)
    control = RunControl(db)
    with pytest.raises(IllegalTransitionError, match="no step of it is waiting for approval"):
        control.approve(done.run_id, "a")
    assert control.status(done.run_id).status is RunStatus.COMPLETED


# ---------------------------------------------------------------------- one way to start
def test_start_run_stores_the_run_before_it_returns(db: Path) -> None:
    seen: list[str] = []

    def check(event: Any) -> None:
        if isinstance(event, RunPending):
            seen.append(RunStore(db).get_run(event.run_id).status.value)

    handle = start_run(flows.gated(), {"gate": "go"}, db=db, started_by="cli",
                       listeners=[check])
    try:
        record = RunStore(db).get_run(handle.run_id)  # no race: the row is there already
        assert record.started_by == "cli" and record.workflow == "ctl.gated"
        assert record.status in (RunStatus.PENDING, RunStatus.RUNNING)
        assert seen == ["pending"]
    finally:
        handle.cancel()
    assert handle.wait(30).status is RunStatus.CANCELLED
    assert RunStore(db).get_run(handle.run_id).status is RunStatus.CANCELLED


def test_run_handle_streams_its_events_and_retry_links_the_runs(db: Path,
                                                                tmp_path: Path) -> None:
    handle = start_run(flows.retryable(), db=db, started_by="api")
    names = [type(e).__name__ for e in handle.events(timeout=30)]
    assert names[-1] == "RunFinished" and "StepFinished" in names
    assert handle.result().status is RunStatus.FAILED
    (tmp_path / "fixed").touch()
    retry = start_retry(handle.run_id, flows.retryable(), db=db, started_by="schedule:nightly")
    result = retry.wait(30)
    assert result.status is RunStatus.COMPLETED
    store = RunStore(db)
    assert store.get_run(retry.run_id).started_by == "schedule:nightly"
    assert RunControl(db).origin(retry.run_id) == {"kind": "retry", "run_id": handle.run_id,
                                                   "step": "two"}
    assert "retried_by" in kinds(store, handle.run_id)
    steps = {s.step: s.status for s in store.step_runs(retry.run_id)}
    assert steps == {"one": RunStatus.COMPLETED, "two": RunStatus.COMPLETED,
                     "three": RunStatus.COMPLETED}
    assert flows.ran().count("one") == 1  # carried over, not executed again


def test_start_run_refuses_an_unknown_workflow_name_before_storing_anything(db: Path) -> None:
    with pytest.raises(engine.UnknownWorkflowError):
        start_run("no.such.workflow", db=db)
    assert RunStore(db).count_runs() == 0


def test_events_carry_the_origin_forward(db: Path) -> None:
    started: list[RunStarted] = []
    with TrackedWorkflowRunner(db) as runner:
        runner.subscribe(lambda e: started.append(e) if isinstance(e, RunStarted) else None)
        runner.execute(Workflow("life.origin", steps=[
            Step.lambda_("a", flows.tick, config={"name": "a"})]), partition={"day": "2"},
            source="registry:life.origin", started_by="trigger:s3-drop")
    (event,) = started
    assert event.origin.started_by == "trigger:s3-drop"
    assert event.origin.partition_key == '{"day":"2"}'
    assert event.origin.source == "registry:life.origin" and event.origin.version == 1
    assert event.params == {"day": "2"}


def test_a_queued_run_is_announced_and_admitted_in_order(db: Path, tmp_path: Path) -> None:
    policy = ConcurrencyPolicy(max_concurrent_runs=1, on_conflict="queue")
    with TrackedWorkflowRunner(db, poll_interval=0.02) as runner:
        first = start_run(flows.gated(policy), {"gate": "first"}, runner=runner)
        wait_until(lambda: "hold" in flows.ran(), what="the first run to hold the slot")
        second = start_run(flows.gated(policy), {"gate": "second"}, runner=runner)
        store = RunStore(db)
        wait_until(lambda: store.get_run(second.run_id).status is RunStatus.QUEUED,
                   what="the second run to queue")
        (tmp_path / "first").touch()
        (tmp_path / "second").touch()
        assert first.wait(30).status is RunStatus.COMPLETED
        assert second.wait(30).status is RunStatus.COMPLETED
    assert kinds(store, second.run_id)[:4] == ["run_pending", "queued", "admitted",
                                               "run_started"]
    queued = next(e for e in store.events(second.run_id) if e.kind == "queued")
    assert queued.data["holders"] == [first.run_id]


def test_threads_started_by_runs_end(db: Path) -> None:
    before = {t.name for t in threading.enumerate()}
    start_run(Workflow("life.quick", steps=[Step.lambda_("a", flows.tick,
                                                          config={"name": "a"})]),
              db=db).wait(30)
    wait_until(lambda: not [t for t in threading.enumerate()
                            if t.name.startswith("spine-run-") and t.name not in before],
               what="the run thread to end")


# ---------------------------------------------------------------------- continue_as_new
def _rounds(ctx: Any, config: Any) -> dict[str, Any]:
    n = ctx.get_param("n", 0)
    if n < 2:
        ctx.continue_as_new(params={"n": n + 1, "gate": f"g{n + 1}"})
    return {"n": n}


def _gate(ctx: Any, config: Any) -> Any:
    return flows.block(ctx, {"name": f"gate{ctx.get_param('n', 0)}"})


def test_each_continue_as_new_link_is_a_tracked_run_with_its_own_control(db: Path,
                                                                         tmp_path: Path) -> None:
    """A continued run is created (RunPending), admitted by the workflow's concurrency policy
    and obeys its own control commands: cancelling the second link ends the chain there."""
    policy = ConcurrencyPolicy(max_concurrent_runs=1, on_conflict="queue")
    wf = Workflow("life.rounds", concurrency=policy, steps=[
        Step.lambda_("hold", _gate), Step.lambda_("round", _rounds)])
    (tmp_path / "g0").touch()  # the first link's gate is open; the second waits on g1
    store = RunStore(db)
    with TrackedWorkflowRunner(db, poll_interval=0.02) as runner:
        handle = start_run(wf, {"n": 0, "gate": "g0"}, runner=runner, started_by="cli")
        second = wait_until(lambda: [r for r in store.list_runs("life.rounds")
                                     if r.run_id != handle.run_id
                                     and r.status is RunStatus.RUNNING], what="the second link")
        link = second[0]
        assert link.started_by == "cli"
        assert store.get_run(handle.run_id).status is RunStatus.COMPLETED
        RunControl(store).cancel(link.run_id)
        result = handle.wait(30)
    assert result.run_id == link.run_id and result.status is RunStatus.CANCELLED
    assert kinds(store, link.run_id)[:3] == ["run_pending", "admitted", "run_started"]
    assert store.count_runs("life.rounds") == 2  # the chain stopped at the cancelled link


# ---------------------------------------------------------------------- adaptive runs
def test_a_run_with_inserted_steps_resumes_and_opens_in_the_playground_with_them(
        db: Path, tmp_path: Path) -> None:
    import adaptive_flows

    source = str(RESOURCES / "adaptive_flows.py")
    with TrackedWorkflowRunner(db) as runner:
        failed = runner.execute(adaptive_flows.adaptive(), source=source)
    assert failed.status is RunStatus.FAILED and "audit" in failed.steps
    store = RunStore(db)
    rebuilt = engine.workflow_for_run(store, store.get_run(failed.run_id))
    assert rebuilt.step_names() == ["plan", "audit", "finish"]
    assert rebuilt.dependencies("finish") == ["audit"]

    playground = engine.WorkflowPlayground()
    playground.load_run(failed.run_id, store)  # knows the inserted step
    assert [s.step_name for s in playground.history][:2] == ["plan", "audit"]

    (tmp_path / "fixed").touch()
    resumed = engine.start_resume(failed.run_id, db=db).wait(30)
    assert resumed.status is RunStatus.COMPLETED
    assert resumed.outputs["finish"] == {"done": True}
    assert flows.ran() == ["plan", "audit", "finish", "finish"]  # plan and audit not again


def test_a_sub_workflow_run_records_its_parent_run_and_step(db: Path) -> None:
    child = Workflow("life.child", steps=[Step.lambda_("c", flows.tick, config={"name": "c"})])
    engine.register_workflow(child)
    try:
        parent = Workflow("life.parent", steps=[Step.workflow("sub", "life.child")])
        handle = start_run(parent, db=db, started_by="api")
        result = handle.wait(30)
    finally:
        engine.unregister_workflow("life.child")
    store = RunStore(db)
    child_id = result.steps["sub"].child_run_id
    record = store.get_run(child_id)
    assert (record.parent_run_id, record.parent_step, record.started_by) == (
        handle.run_id, "sub", "api")
