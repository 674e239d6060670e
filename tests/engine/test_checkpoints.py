"""Checkpoints (spec §10): ``CheckpointConfig`` on a workflow, and ``CheckpointStore`` reading
the state a tracked run resumes from out of a real run-store file."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from engine import (
    ArtifactRef,
    LocalArtifactStore,
    RunStatus,
    RunStore,
    Step,
    TrackedWorkflowRunner,
    UnknownRunError,
    Workflow,
    WorkflowContext,
    WorkflowValidationError,
    load_file,
)
from engine.checkpoints import (
    CheckpointConfig,
    CheckpointError,
    CheckpointRef,
    CheckpointStore,
    WorkflowState,
)

KILL_FLOW = Path(__file__).parent.parent / "resources" / "store" / "kill_flow.py"


# ---------------------------------------------------------------------- CheckpointConfig
@pytest.mark.parametrize(("frequency", "steps", "seconds"), [
    ("per_step", 1, None), ("every_10_steps", 10, None), ("every_1_step", 1, None),
    ("every_5_min", None, 300.0), ("every_2_minutes", None, 120.0)])
def test_frequencies_are_a_step_or_a_time_interval(frequency: str, steps: int | None,
                                                   seconds: float | None) -> None:
    config = CheckpointConfig(frequency=frequency)
    assert (config.every_steps, config.every_seconds) == (steps, seconds)


@pytest.mark.parametrize("frequency", ["hourly", "every_0_steps", "every_x_min",
                                       "every_5_hours", "", 5, None])
def test_a_bad_frequency_is_refused_naming_the_accepted_forms(frequency: Any) -> None:
    with pytest.raises(WorkflowValidationError, match=r"'per_step', 'every_<N>_steps'") as info:
        CheckpointConfig(frequency=frequency)
    assert repr(frequency) in str(info.value)


@pytest.mark.parametrize("store", ["redis", "s3", "postgres"])
def test_remote_stores_are_refused_not_replaced(store: str) -> None:
    with pytest.raises(WorkflowValidationError,
                       match=rf"store='{store}' is not available: only the local SQLite run "
                             "store exists"):
        CheckpointConfig(store=store)


def test_the_local_run_store_is_the_only_store() -> None:
    assert CheckpointConfig().store == "sqlite"
    assert CheckpointConfig(store="local").store == "sqlite"
    assert CheckpointConfig(store=None).store == "sqlite"
    with pytest.raises(WorkflowValidationError, match="'mongodb' is not a checkpoint store"):
        CheckpointConfig(store="mongodb")
    with pytest.raises(WorkflowValidationError, match="not a checkpoint store"):
        CheckpointConfig(store=Path("x.db"))  # type: ignore[arg-type]


@pytest.mark.parametrize("days", [0, -1, True, "7"])
def test_retention_days_must_be_a_positive_number(days: Any) -> None:
    with pytest.raises(WorkflowValidationError, match="retention_days"):
        CheckpointConfig(retention_days=days)


def test_enabled_must_be_a_bool() -> None:
    with pytest.raises(WorkflowValidationError, match="enabled"):
        CheckpointConfig(enabled="yes")  # type: ignore[arg-type]
    assert CheckpointConfig(retention_days=None).retention_days is None
    assert CheckpointConfig(retention_days=0.5).retention_days == 0.5


def test_a_workflow_keeps_its_checkpoint_config_in_its_definition() -> None:
    config = CheckpointConfig(frequency="every_10_steps", retention_days=3)
    wf = Workflow("cp.keep", [Step.lambda_("a", step_a)], checkpoint_config=config)
    assert wf.checkpoint_config is config
    assert wf.to_dict()["checkpoint_config"] == {
        "enabled": True, "frequency": "every_10_steps", "store": "sqlite", "retention_days": 3}
    plain = Workflow("cp.plain", [Step.lambda_("a", step_a)])
    assert plain.checkpoint_config is None and "checkpoint_config" not in plain.to_dict()
    with pytest.raises(WorkflowValidationError, match="checkpoint_config must be a "
                                                      "CheckpointConfig, got dict"):
        Workflow("cp.bad", [Step.lambda_("a", step_a)],
                 checkpoint_config={"frequency": "per_step"})  # type: ignore[arg-type]


def test_the_spec_section_10_workflow_is_refused_only_for_its_redis_store() -> None:
    """The spec's snippet, with its ``steps=[...]`` placeholder filled in: ``store="redis"``
    is refused with the reason; the same lines with the local store build the workflow."""

    def spec_workflow(store: str) -> Workflow:
        return Workflow(
            name="long_running_etl",
            steps=[Step.lambda_("extract", step_a)],
            checkpoint_config=CheckpointConfig(
                enabled=True,
                frequency="per_step",         # or "every_5_min", "every_10_steps"
                store=store,                  # or "s3", "postgres"
                retention_days=7,
            ),
        )

    with pytest.raises(WorkflowValidationError, match="only the local SQLite run store"):
        spec_workflow("redis")
    wf = spec_workflow("sqlite")
    assert wf.checkpoint_config == CheckpointConfig(retention_days=7)


# ---------------------------------------------------------------------- handlers
def step_a(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
    _count(config, "a")
    return {"x": ctx.params.get("p", 0) + 1}


def step_b(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
    _count(config, "b")
    return {"y": ctx.get_output("a", "x") * 10}


def fails_once(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
    _count(config, "c")
    flag = Path(config["flag"])
    if not flag.exists():
        flag.write_text("failed once")
        raise RuntimeError("c is not ready yet")
    return {"z": ctx.get_output("b", "y") + 1}


def step_d(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
    _count(config, "d")
    return {"done": True}


def writes_artifact(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
    ref = ctx.artifact_store.put_json(f"runs/{ctx.run_id}/a/rows.json", [1, 2, 3])
    return {"rows_ref": ref}


def always_fails(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("broken")


def _count(config: dict[str, Any], name: str) -> None:
    with Path(config["counter"]).open("a") as handle:
        handle.write(name + "\n")


def abcd(tmp_path: Path) -> Workflow:
    cfg = {"counter": str(tmp_path / "counter.txt"), "flag": str(tmp_path / "flag")}
    return Workflow("cp.abcd", [Step.lambda_("a", step_a, config=cfg),
                                Step.lambda_("b", step_b, config=cfg),
                                Step.lambda_("c", fails_once, config=cfg),
                                Step.lambda_("d", step_d, config=cfg)])


def ran(tmp_path: Path) -> list[str]:
    return (tmp_path / "counter.txt").read_text().split()


@pytest.fixture
def failed_run(tmp_path: Path) -> tuple[Path, str]:
    """A tracked run of a, b, c, d whose step c failed: a and b are checkpointed."""
    db = tmp_path / "runs.db"
    with TrackedWorkflowRunner(db) as runner:
        result = runner.execute(abcd(tmp_path), {"p": 4})
    assert result.status is RunStatus.FAILED and result.error_step == "c"
    return db, result.run_id


def dump(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


# ---------------------------------------------------------------------- load / resume
def test_load_gives_the_state_a_resume_restores(failed_run: tuple[Path, str],
                                                tmp_path: Path) -> None:
    db, run_id = failed_run
    store = RunStore(db)
    state = CheckpointStore(db).load_sync(run_id)
    assert state is not None
    assert state.run_id == run_id
    assert state.workflow_version == store.get_run(run_id).version == 1
    assert state.completed_steps == ["a", "b"] and state.current_step_index == 2
    assert state.context_snapshot == {"params": {"p": 4},
                                      "outputs": {"a": {"x": 5}, "b": {"y": 50}}}
    assert state.outputs == store.completed_outputs(run_id)
    finished_b = next(s.finished_at for s in store.step_runs(run_id) if s.step == "b")
    assert state.checkpointed_at == finished_b
    assert state.artifact_refs == {}

    assert [s.name for s in CheckpointStore(db).resume_sync(run_id, abcd(tmp_path))] == ["c", "d"]
    with TrackedWorkflowRunner(db) as runner:
        resumed = runner.resume(run_id, abcd(tmp_path))
    assert resumed.status is RunStatus.COMPLETED
    assert ran(tmp_path) == ["a", "b", "c", "c", "d"]  # a and b restored, not run again

    after = CheckpointStore(db).load_sync(run_id)
    assert after is not None
    assert after.completed_steps == ["a", "b", "c", "d"] and after.current_step_index == 4
    assert after.outputs["c"] == {"z": 51}
    assert after.checkpointed_at > state.checkpointed_at
    assert CheckpointStore(db).resume_sync(run_id, abcd(tmp_path)) == []


def test_checkpoint_zero_is_the_run_as_created(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    wf = Workflow("cp.zero", [Step.lambda_("broken", always_fails), Step.lambda_("after", step_d)])
    with TrackedWorkflowRunner(db) as runner:
        result = runner.execute(wf, {"day": "2024-01-02"})
    state = CheckpointStore(db).load_sync(result.run_id)
    assert state is not None
    assert state.completed_steps == [] and state.current_step_index == 0
    assert state.context_snapshot == {"params": {"day": "2024-01-02"}, "outputs": {}}
    assert state.checkpointed_at == RunStore(db).get_run(result.run_id).started_at
    assert [s.name for s in CheckpointStore(db).resume_sync(result.run_id, wf)] == [
        "broken", "after"]


def test_async_methods_match_their_blocking_twins(failed_run: tuple[Path, str],
                                                  tmp_path: Path) -> None:
    db, run_id = failed_run
    checkpoints = CheckpointStore(RunStore(db))

    async def session() -> tuple[Any, ...]:
        state = await checkpoints.load(run_id)
        missing = await checkpoints.load("no-such-run")
        steps = [s.name async for s in checkpoints.resume(run_id, abcd(tmp_path))]
        assert state is not None
        ref = await checkpoints.save(run_id, "b", state)
        return state, missing, steps, ref

    state, missing, steps, ref = asyncio.run(session())
    assert state == checkpoints.load_sync(run_id)
    assert missing is None
    assert steps == ["c", "d"]
    assert ref == checkpoints.save_sync(run_id, "b", state)


def test_load_accepts_an_id_prefix_and_returns_none_for_an_unknown_run(
        failed_run: tuple[Path, str]) -> None:
    db, run_id = failed_run
    checkpoints = CheckpointStore(db)
    state = checkpoints.load_sync(run_id[:8])
    assert state is not None and state.run_id == run_id
    assert checkpoints.load_sync("0000-not-a-run") is None
    with pytest.raises(UnknownRunError):
        checkpoints.resume_sync("0000-not-a-run")


def test_resume_refuses_another_workflows_definition(failed_run: tuple[Path, str]) -> None:
    db, run_id = failed_run
    other = Workflow("cp.other", [Step.lambda_("a", step_a)])
    with pytest.raises(CheckpointError, match="of workflow 'cp.abcd', but the definition "
                                              "given is 'cp.other'"):
        CheckpointStore(db).resume_sync(run_id, other)


def test_artifact_refs_are_the_artifacts_of_the_completed_steps(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    wf = Workflow("cp.artifacts", [Step.lambda_("a", writes_artifact),
                                   Step.lambda_("b", always_fails)])
    with TrackedWorkflowRunner(db) as runner:
        result = runner.execute(wf)
    state = CheckpointStore(db).load_sync(result.run_id)
    assert state is not None
    key = f"runs/{result.run_id}/a/rows.json"
    assert list(state.artifact_refs) == [key]
    ref = state.artifact_refs[key]
    assert isinstance(ref, ArtifactRef)
    assert LocalArtifactStore(tmp_path / "artifacts").get_json(ref) == [1, 2, 3]
    assert state.outputs["a"]["rows_ref"]["checksum"] == ref.checksum


def test_a_run_killed_mid_step_resumes_from_its_last_checkpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The spec's recovery flow: steps one and two complete (checkpoints 1 and 2), three
    starts, the process is SIGKILLed; the state is found at checkpoint 2 and the remaining
    steps are three, four and five, from the run's own recorded definition."""
    db = tmp_path / "kill.db"
    counter = tmp_path / "counter.txt"
    monkeypatch.setenv("KILL_FLOW_COUNTER", str(counter))
    monkeypatch.setenv("KILL_FLOW_MARKER", str(tmp_path / "killed.marker"))
    proc = subprocess.run([sys.executable, str(KILL_FLOW), str(db), "crash-run-1"],
                          env=dict(os.environ), capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr

    checkpoints = CheckpointStore(db)
    state = checkpoints.load_sync("crash-run-1")
    assert state is not None
    assert state.completed_steps == ["one", "two"] and state.current_step_index == 2
    assert state.outputs == {"one": {"value": 3, "step": "one"},
                             "two": {"value": 6, "step": "two"}}
    assert state.params == {"p": 1}

    async def remaining() -> list[str]:
        return [s.name async for s in checkpoints.resume("crash-run-1")]

    assert asyncio.run(remaining()) == ["three", "four", "five"]

    workflows, errors = load_file(KILL_FLOW)
    assert errors == []
    with TrackedWorkflowRunner(db) as runner:
        result = runner.resume("crash-run-1", workflows[0].workflow)
    assert result.status is RunStatus.COMPLETED
    assert counter.read_text().split() == ["one", "two", "three", "three", "four", "five"]
    final = checkpoints.load_sync("crash-run-1")
    assert final is not None and final.current_step_index == 5


# ---------------------------------------------------------------------- save
def test_save_refers_to_the_recorders_commit_and_writes_nothing(
        failed_run: tuple[Path, str]) -> None:
    db, run_id = failed_run
    checkpoints = CheckpointStore(db)
    state = checkpoints.load_sync(run_id)
    assert state is not None
    before = dump(db)
    ref = checkpoints.save_sync(run_id, "b", state)
    steps = {s.step: s for s in RunStore(db).step_runs(run_id)}
    assert ref == CheckpointRef(run_id, "b", 2, steps["b"].finished_at)
    first = checkpoints.save_sync(run_id, "a", replace(
        state, completed_steps=["a"], context_snapshot={"outputs": {"a": {"x": 5}}}))
    assert (first.seq, first.step, first.checkpointed_at) == (1, "a", steps["a"].finished_at)
    assert isinstance(ref.checkpointed_at, datetime)
    assert dump(db) == before
    assert sqlite3.connect(db).execute("SELECT count(*) FROM checkpoints").fetchone() == (0,)


@pytest.mark.parametrize(("step", "change", "message"), [
    ("c", {}, "no checkpoint for 'c': the step is failed"),
    ("zzz", {}, "no checkpoint for 'zzz': the step has not run"),
    ("b", {"completed_steps": ["a"]}, "does not list 'b' among its completed steps"),
    ("b", {"completed_steps": ["a", "b", "c"]}, r"lists step\(s\) c as completed"),
    ("b", {"run_id": "another-run"}, "the state is of run 'another-run'"),
    ("b", {"workflow_version": 7}, "the state is of version 7, but run .* recorded version 1"),
    ("b", {"context_snapshot": {"params": {"p": 4}, "outputs": {"b": {"y": 51}}}},
     "output of 'b' differs"),
    ("b", {"context_snapshot": {"outputs": {"c": {"z": 1}}}}, "output of 'c', which run"),
    ("b", {"context_snapshot": {"params": {"p": 5}}}, "params differ"),
])
def test_save_refuses_a_state_the_stored_run_does_not_hold(
        failed_run: tuple[Path, str], step: str, change: dict[str, Any], message: str) -> None:
    db, run_id = failed_run
    checkpoints = CheckpointStore(db)
    state = checkpoints.load_sync(run_id)
    assert state is not None
    with pytest.raises(CheckpointError, match=message):
        checkpoints.save_sync(run_id, step, replace(state, **change))


def test_save_needs_a_tracked_run_and_a_workflow_state(failed_run: tuple[Path, str]) -> None:
    db, run_id = failed_run
    checkpoints = CheckpointStore(db)
    state = checkpoints.load_sync(run_id)
    assert state is not None
    with pytest.raises(CheckpointError, match="no run 'untracked-run'.*tracked runs"):
        checkpoints.save_sync("untracked-run", "b", replace(state, run_id="untracked-run"))
    with pytest.raises(TypeError, match="WorkflowState, got dict"):
        checkpoints.save_sync(run_id, "b", state.to_dict())  # type: ignore[arg-type]


def test_a_state_is_json_ready() -> None:
    state = WorkflowState(run_id="r", workflow_version=2, current_step_index=1,
                          completed_steps=["a"], context_snapshot={"params": {}, "outputs": {}})
    data = state.to_dict()
    assert data["completed_steps"] == ["a"] and data["workflow_version"] == 2
    assert datetime.fromisoformat(data["checkpointed_at"]) == state.checkpointed_at
