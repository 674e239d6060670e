"""Run control through the store: pause/resume/cancel from other processes, approval gates,
concurrency slots across processes, retry from the failed step and single-step replay."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import RunStatus, RunStore, Step, TrackedWorkflowRunner, UnknownRunError, Workflow
from engine.control import RunControl, RunControlError
from engine.policies import ErrorCategory, ExecutionMode, WorkflowExecutionPolicy
from engine.runner import WorkflowRunner
from engine.signals import RunSignals
from engine.workflow import ConcurrencyPolicy, WorkflowValidationError

RESOURCES = Path(__file__).parent.parent / "resources" / "control"
sys.path.insert(0, str(RESOURCES))

import flows  # noqa: E402
from waits import wait_until  # noqa: E402


@pytest.fixture
def ctl_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CTL_DIR", str(tmp_path))
    monkeypatch.delenv("SPINE_ENV", raising=False)
    return tmp_path


@pytest.fixture
def db(ctl_dir: Path) -> Path:
    return ctl_dir / "runs.db"


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()



def start(procs: list[subprocess.Popen[str]], db: Path, run_id: str, flow: str,
          params: dict[str, Any] | None = None,
          policy: dict[str, Any] | None = None) -> subprocess.Popen[str]:
    args = [sys.executable, str(RESOURCES / "run_flow.py"), str(db), run_id, flow,
            json.dumps(params or {})]
    if policy is not None:
        args.append(json.dumps(policy))
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())
    procs.append(proc)
    return proc


def finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def status_of(db: Path, run_id: str) -> str | None:
    rows = RunStore(db).db.query("SELECT status FROM runs WHERE run_id = ?", [run_id])
    return rows[0]["status"] if rows else None


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def target() -> None:
        box["result"] = fn()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


# ---------------------------------------------------------------------- pause / resume / cancel
def test_cancel_a_running_run_from_another_process(db: Path, procs: list) -> None:
    proc = start(procs, db, "cancel1", "slow")
    wait_until(lambda: len(flows.ran()) >= 3, what="three steps")
    control = RunControl(db)
    assert control.cancel("cancel1").status is RunStatus.RUNNING
    result = finish(proc)
    assert result["status"] == "cancelled"
    assert control.status("cancel1").status is RunStatus.CANCELLED
    assert len(flows.ran()) < 60
    steps = {s.step: s.status for s in RunStore(db).step_runs("cancel1")}
    assert set(steps.values()) <= {RunStatus.COMPLETED, RunStatus.CANCELLED}
    assert control.db.scalar("SELECT count(*) FROM control WHERE handled_at IS NULL") == 0


def test_pause_then_resume_from_another_process(db: Path, procs: list) -> None:
    proc = start(procs, db, "pause1", "slow")
    wait_until(lambda: len(flows.ran()) >= 2, what="two steps")
    control = RunControl(db)
    control.pause("pause1")
    assert control.wait("pause1", ["paused"], timeout=10).status is RunStatus.PAUSED
    wait_until(lambda: RunStore(db).db.scalar(
        "SELECT count(*) FROM step_runs WHERE run_id = 'pause1' AND status = 'running'") == 0,
        what="the running step to finish")
    frozen = len(flows.ran())
    time.sleep(0.4)  # several poll intervals: a paused run starts nothing
    assert len(flows.ran()) == frozen < 60
    assert status_of(db, "pause1") == "paused"
    control.resume_paused("pause1")
    result = finish(proc)
    assert result["status"] == "completed" and len(flows.ran()) == 60
    assert flows.ran() == [f"s{i}" for i in range(60)]  # nothing ran twice
    with pytest.raises(RunControlError, match="completed, not paused"):
        control.resume_paused("pause1")


def test_control_refuses_what_does_not_fit_the_run(db: Path) -> None:
    with TrackedWorkflowRunner(db) as runner:
        done = runner.execute(Workflow("ctl.done", steps=[Step.lambda_("a", flows.tick,
                                                                       config={"name": "a"})]))
    control = RunControl(db)
    with pytest.raises(RunControlError, match="is completed; only running"):
        control.cancel(done.run_id)
    with pytest.raises(RunControlError, match="is completed; only running"):
        control.pause(done.run_id)
    with pytest.raises(UnknownRunError):
        control.cancel("no-such-run")
    with pytest.raises(RunControlError, match="only failed, cancelled or interrupted"):
        control.retry(done.run_id, Workflow("ctl.done", steps=[Step.lambda_("a", flows.tick)]))


def test_a_paused_run_whose_process_dies_becomes_interrupted(db: Path, procs: list) -> None:
    proc = start(procs, db, "dies1", "slow")
    wait_until(lambda: len(flows.ran()) >= 1, what="a step")
    control = RunControl(db)
    control.pause("dies1")
    control.wait("dies1", ["paused"], timeout=10)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert control.status("dies1").status is RunStatus.INTERRUPTED


def test_in_memory_signals_pause_a_parallel_run(ctl_dir: Path) -> None:
    signals = RunSignals()
    started: list[str] = []

    def first(ctx: Any, config: Any) -> dict:
        started.append("first")
        signals.pause()  # held before anything else starts
        return {}

    def later(ctx: Any, config: Any) -> dict:
        started.append(config["name"])
        return {}

    wf = Workflow("ctl.par", execution_policy=WorkflowExecutionPolicy(ExecutionMode.PARALLEL, 4),
                  steps=[Step.lambda_("first", first),
                         *[Step.lambda_(f"b{i}", later, config={"name": f"b{i}"},
                                        depends_on=["first"]) for i in range(4)]])
    thread, box = in_thread(lambda: WorkflowRunner().execute(wf, signals=signals))
    wait_until(lambda: started == ["first"])
    time.sleep(0.1)
    assert started == ["first"] and thread.is_alive()
    signals.resume()
    thread.join(5)
    assert box["result"].status is RunStatus.COMPLETED and len(started) == 5


def test_cancelling_held_in_memory_signals_ends_the_run() -> None:
    signals = RunSignals()
    signals.pause()
    thread, box = in_thread(lambda: WorkflowRunner().execute(
        Workflow("ctl.held", steps=[Step.lambda_("a", flows.tick, config={"name": "a"})]),
        signals=signals))
    time.sleep(0.05)
    assert thread.is_alive()
    signals.cancel()
    thread.join(5)
    assert box["result"].status is RunStatus.CANCELLED


# ---------------------------------------------------------------------- approvals
def test_approve_from_another_process_continues_the_run(db: Path, procs: list) -> None:
    proc = start(procs, db, "appr1", "approval")
    control = RunControl(db)
    pending = wait_until(lambda: control.approvals("appr1") if RunStore(db).db.query(
        "SELECT 1 FROM runs WHERE run_id = 'appr1'") else None, what="a pending approval")
    assert [(a.step, a.status, a.message) for a in pending] == [
        ("deploy_approval", "pending", "Deploy risk model v3 to production?")]
    assert control.wait("appr1", ["waiting"], timeout=10).status is RunStatus.WAITING
    assert "deploy" not in flows.ran()
    decided = control.approve("appr1", "deploy_approval", by="alice", comment="ship it")
    assert decided.status == "approved" and decided.decided_by == "alice"
    result = finish(proc)
    assert result["status"] == "completed"
    assert result["outputs"]["deploy_approval"] == {
        "approved": True, "by": "alice", "comment": "ship it", "context": {"risk_score": 0.2}}
    assert flows.ran() == ["build", "deploy"]
    logs = [line.message for line in RunStore(db).logs("appr1", step="deploy_approval")]
    assert any("waiting for approval" in m and "team-lead@company.com" in m for m in logs)
    with pytest.raises(RunControlError, match="already approved by alice"):
        control.reject("appr1", "deploy_approval")


def test_reject_fails_the_step_with_category_rejected(db: Path) -> None:
    runner = TrackedWorkflowRunner(db, poll_interval=0.05)
    thread, box = in_thread(lambda: runner.execute(flows.approval(), run_id="appr2"))
    control = RunControl(RunStore(db))  # its own connection, as another process would have
    wait_until(lambda: control.approvals("appr2") if status_of(db, "appr2") else None)
    with pytest.raises(RunControlError, match="no approval step 'nope'.*deploy_approval"):
        control.approve("appr2", "nope")
    control.reject("appr2", "deploy_approval", by="risk", comment="too risky")
    thread.join(10)
    runner.close()
    result = box["result"]
    assert result.status is RunStatus.FAILED and result.error_step == "deploy_approval"
    step = result.steps["deploy_approval"]
    assert step.error_category == ErrorCategory.REJECTED == "REJECTED"
    assert "rejected by risk: too risky" in (step.error or "")
    assert result.steps["deploy"].status is RunStatus.SKIPPED
    assert RunStore(db).step_runs("appr2")[1].error_category == "REJECTED"


def test_an_undecided_approval_times_out(db: Path) -> None:
    with TrackedWorkflowRunner(db, poll_interval=0.05) as runner:
        result = runner.execute(flows.approval(timeout=0.3), run_id="appr3")
    assert result.status is RunStatus.FAILED
    assert result.steps["deploy_approval"].error_category == "TIMEOUT"
    assert [a.status for a in RunControl(db).approvals("appr3", status=None)] == ["expired"]
    assert status_of(db, "appr3") == "failed"


def test_auto_approve_envs(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wf = flows.approval()
    untracked = WorkflowRunner().execute(wf)
    assert untracked.status is RunStatus.FAILED
    assert "needs a tracked run" in (untracked.steps["deploy_approval"].error or "")
    assert untracked.steps["deploy_approval"].error_category == "CONFIGURATION"
    monkeypatch.setenv("SPINE_ENV", "Staging")
    assert WorkflowRunner().execute(wf).outputs["deploy_approval"] == {
        "approved": True, "by": "auto", "env": "Staging"}
    with TrackedWorkflowRunner(db) as runner:
        tracked = runner.execute(wf, run_id="appr4")
    assert tracked.status is RunStatus.COMPLETED
    (record,) = RunControl(db).approvals("appr4", status=None)
    assert (record.status, record.decided_by) == ("approved", "auto")


def test_approval_step_definition() -> None:
    step = Step.approval("gate", message="ok?", approvers=["a@x"], timeout_hours=24,
                         auto_approve_envs=["dev"], context_fields=["risk"])
    assert step.timeout_seconds == 24 * 3600 and step.gate is not None
    assert step.to_dict()["approval"]["approvers"] == ["a@x"]
    with pytest.raises(ValueError, match="not both"):
        Step.approval("gate", timeout_seconds=1, timeout_hours=1)
    with pytest.raises(TypeError, match="not the string"):
        Step.approval("gate", auto_approve_envs="dev")


# ---------------------------------------------------------------------- concurrency
QUEUE = {"max_concurrent_runs": 1, "on_conflict": "queue", "queue_timeout_seconds": 30}


def hold_first_run(procs: list, db: Path, policy: dict[str, Any]) -> subprocess.Popen[str]:
    proc = start(procs, db, "first", "gated", {"gate": "release"}, policy)
    wait_until(lambda: "hold" in flows.ran(), what="the first run to hold its slot")
    return proc


def test_queue_waits_for_the_slot_across_processes(db: Path, ctl_dir: Path, procs: list) -> None:
    first = hold_first_run(procs, db, QUEUE)
    second = start(procs, db, "second", "gated", {"gate": "release"}, QUEUE)
    wait_until(lambda: status_of(db, "second") == "queued", what="the second run queued")
    time.sleep(0.2)
    assert status_of(db, "second") == "queued" and flows.ran().count("start") == 1
    (ctl_dir / "release").touch()
    assert finish(first)["status"] == "completed"
    assert finish(second)["status"] == "completed"
    store = RunStore(db)
    a, b = store.get_run("first"), store.get_run("second")
    assert b.started_at is not None and a.finished_at is not None
    assert b.started_at >= a.finished_at
    assert flows.ran() == ["start", "hold", "end"] * 2
    assert [e.kind for e in store.events("second")][:4] == [
        "run_pending", "queued", "admitted", "run_started"]


def test_skip_records_a_skipped_run_with_the_reason(db: Path, ctl_dir: Path, procs: list) -> None:
    first = hold_first_run(procs, db, QUEUE)
    with TrackedWorkflowRunner(db) as runner:
        result = runner.execute(flows.gated(ConcurrencyPolicy(1, "skip")), run_id="skipped")
    assert result.status is RunStatus.SKIPPED and "first" in (result.error or "")
    record = RunStore(db).get_run("skipped")
    assert record.status is RunStatus.SKIPPED and "max_concurrent_runs=1" in (record.error or "")
    (ctl_dir / "release").touch()
    assert finish(first)["status"] == "completed"
    assert flows.ran().count("start") == 1


def test_cancel_existing_cancels_the_oldest_run(db: Path, ctl_dir: Path, procs: list) -> None:
    first = hold_first_run(procs, db, QUEUE)
    (ctl_dir / "release_second").touch()
    policy = ConcurrencyPolicy(1, "cancel_existing", queue_timeout_seconds=30)
    with TrackedWorkflowRunner(db, poll_interval=0.05) as runner:
        result = runner.execute(flows.gated(), {"gate": "release_second"}, run_id="newest",
                                concurrency=policy)
    assert finish(first)["status"] == "cancelled"
    assert result.status is RunStatus.COMPLETED
    assert RunStore(db).get_run("first").status is RunStatus.CANCELLED
    assert flows.ran() == ["start", "hold", "start", "hold", "end"]


def test_queue_timeout_fails_with_a_clear_message(db: Path, ctl_dir: Path, procs: list) -> None:
    first = hold_first_run(procs, db, QUEUE)
    policy = ConcurrencyPolicy(1, "queue", queue_timeout_seconds=0.4)
    with TrackedWorkflowRunner(db) as runner:
        result = runner.execute(flows.gated(policy), run_id="late")
    assert result.status is RunStatus.FAILED
    assert "waited 0.4s in the queue" in (result.error or "") and "first" in (result.error or "")
    store = RunStore(db)
    assert store.get_run("late").status is RunStatus.FAILED
    assert store.events("late")[-1].data["category"] == "TIMEOUT"
    (ctl_dir / "release").touch()
    assert finish(first)["status"] == "completed"


def test_a_queued_run_can_be_cancelled(db: Path, ctl_dir: Path, procs: list) -> None:
    first = hold_first_run(procs, db, QUEUE)
    runner = TrackedWorkflowRunner(db, poll_interval=0.05)
    thread, box = in_thread(lambda: runner.execute(flows.gated(ConcurrencyPolicy(1)),
                                                   run_id="waiter"))
    wait_until(lambda: status_of(db, "waiter") == "queued")
    RunControl(db).cancel("waiter")
    thread.join(10)
    runner.close()
    assert box["result"].status is RunStatus.CANCELLED
    assert status_of(db, "waiter") == "cancelled"
    (ctl_dir / "release").touch()
    assert finish(first)["status"] == "completed"
    assert flows.ran().count("start") == 1


def test_a_slot_of_a_killed_run_is_freed(db: Path, ctl_dir: Path, procs: list) -> None:
    first = hold_first_run(procs, db, QUEUE)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    (ctl_dir / "release").touch()
    with TrackedWorkflowRunner(db) as runner:
        result = runner.execute(flows.gated(ConcurrencyPolicy(1, queue_timeout_seconds=5)))
    assert result.status is RunStatus.COMPLETED
    assert status_of(db, "first") == "interrupted"


def test_concurrency_policy_validation() -> None:
    with pytest.raises(WorkflowValidationError, match="on_conflict must be one of"):
        ConcurrencyPolicy(1, "drop")
    with pytest.raises(WorkflowValidationError, match=">= 1"):
        ConcurrencyPolicy(0)
    policy = ConcurrencyPolicy(2, "skip", None)
    assert flows.gated(policy).to_dict()["concurrency"] == {
        "max_concurrent_runs": 2, "on_conflict": "skip", "queue_timeout_seconds": None}


# ---------------------------------------------------------------------- retry / replay
def test_retry_resumes_from_the_failed_step_as_a_new_linked_run(db: Path, ctl_dir: Path) -> None:
    wf = flows.retryable()
    with TrackedWorkflowRunner(db) as runner:
        failed = runner.execute(wf, {"start": 4})
    assert failed.status is RunStatus.FAILED and flows.ran() == ["one", "two"]
    (ctl_dir / "fixed").touch()
    control = RunControl(db)
    retried = control.retry(failed.run_id[:8], wf)
    assert retried.status is RunStatus.COMPLETED and retried.run_id != failed.run_id
    assert flows.ran() == ["one", "two", "two", "three"]  # "one" did not run again
    assert retried.outputs["three"] == {"total": 41} and retried.params == {"start": 4}
    store = RunStore(db)
    assert store.get_run(failed.run_id).status is RunStatus.FAILED  # history kept
    assert store.completed_outputs(retried.run_id)["one"] == {"value": 4}
    assert {s.step: s.status.value for s in store.step_runs(retried.run_id)} == {
        "one": "completed", "two": "completed", "three": "completed"}
    assert control.origin(retried.run_id) == {"kind": "retry", "run_id": failed.run_id,
                                              "step": "two"}
    assert [e.kind for e in store.events(failed.run_id)][-1] == "retried_by"
    with pytest.raises(RunControlError, match="not 'other'|is of workflow"):
        control.retry(failed.run_id, Workflow("other", steps=[Step.lambda_("x", flows.tick)]))


def test_replay_one_step_with_stored_upstream_outputs(db: Path, ctl_dir: Path) -> None:
    (ctl_dir / "fixed").touch()
    wf = flows.retryable()
    with TrackedWorkflowRunner(db) as runner:
        original = runner.execute(wf, {"start": 2})
    assert flows.ran() == ["one", "two", "three"]
    control = RunControl(db)
    replay = control.replay_step(original.run_id, "three", wf)
    assert flows.ran() == ["one", "two", "three", "three"]
    assert replay.status is RunStatus.COMPLETED and list(replay.steps) == ["three"]
    assert replay.outputs == {"three": {"total": 21}}
    assert control.origin(replay.run_id) == {"kind": "replay", "run_id": original.run_id,
                                             "step": "three"}
    store = RunStore(db)
    assert [s.step for s in store.step_runs(replay.run_id)] == ["three"]
    assert store.get_run(original.run_id).status is RunStatus.COMPLETED


def test_replay_needs_upstream_outputs(db: Path, ctl_dir: Path) -> None:
    wf = flows.retryable()
    with TrackedWorkflowRunner(db) as runner:
        failed = runner.execute(wf)
    with pytest.raises(RunControlError, match="upstream step.*two.*no stored output"):
        RunControl(db).replay_step(failed.run_id, "three", wf)
    replay = RunControl(db).replay_step(failed.run_id, "two", wf)  # its input "one" is stored
    assert replay.status is RunStatus.FAILED and flows.ran() == ["one", "two", "two"]


def test_cancel_while_waiting_for_approval(db: Path) -> None:
    runner = TrackedWorkflowRunner(db, poll_interval=0.05)
    thread, box = in_thread(lambda: runner.execute(flows.approval(), run_id="appr5"))
    control = RunControl(db)
    wait_until(lambda: status_of(db, "appr5") == "waiting")
    control.cancel("appr5")
    thread.join(10)
    runner.close()
    assert box["result"].status is RunStatus.CANCELLED
    assert box["result"].steps["deploy_approval"].status is RunStatus.CANCELLED
    assert [a.status for a in control.approvals("appr5", status=None)] == ["cancelled"]
    assert "deploy" not in flows.ran()


def test_approved_while_the_process_was_dead_then_resumed(db: Path, procs: list) -> None:
    proc = start(procs, db, "appr6", "approval")
    control = RunControl(db)
    wait_until(lambda: status_of(db, "appr6") == "waiting")
    with TrackedWorkflowRunner(db) as runner, pytest.raises(RunControlError,
                                                            match="waiting in process"):
        runner.resume("appr6", flows.approval())
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert control.status("appr6").status is RunStatus.INTERRUPTED
    control.approve("appr6", "deploy_approval", by="bob")
    with TrackedWorkflowRunner(db) as runner:
        result = runner.resume("appr6", flows.approval())
    assert result.status is RunStatus.COMPLETED
    assert result.outputs["deploy_approval"]["by"] == "bob"
    assert flows.ran() == ["build", "deploy"]  # "build" restored, not run again
