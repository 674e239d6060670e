"""The run store: tracked runs persist everything, survive SIGKILL, refuse bad files."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine import (
    LogLine,
    ManagedWorkflow,
    RunStatus,
    RunStore,
    Step,
    StepResult,
    StoreFileError,
    TrackedWorkflowRunner,
    UnknownRunError,
    Workflow,
)
from engine.discovery import load_file
from engine.ids import now
from engine.store.schema import SCHEMA_VERSION, check_file

RESOURCES = Path(__file__).parent.parent / "resources" / "store"


def ok(ctx, config):
    print("working", config.get("n", 0))
    return {"n": config.get("n", 0)}


def broken(ctx, config):
    return StepResult.fail("bad rows", category="DATA_QUALITY")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_tracked_run_persists_run_steps_outputs_events_and_logs(tmp_path: Path) -> None:
    wf = Workflow("store.basic", steps=[Step.lambda_("a", ok, config={"n": 1}),
                                        Step.lambda_("b", broken)])
    with TrackedWorkflowRunner(tmp_path / "s.db") as runner:
        result = runner.execute(wf, {"date": "2025-01-01"}, source="test")
    store = RunStore(tmp_path / "s.db")
    run = store.get_run(result.run_id)
    assert run.status is RunStatus.FAILED and run.error_step == "b"
    assert run.params == {"date": "2025-01-01"} and run.source == "test"
    steps = {s.step: s for s in store.step_runs(result.run_id)}
    assert steps["a"].status is RunStatus.COMPLETED and steps["a"].attempts == 1
    assert steps["b"].error_category == "DATA_QUALITY" and steps["b"].error == "bad rows"
    assert store.outputs(result.run_id) == {"a": {"n": 1}}
    assert [log.message for log in store.logs(result.run_id)] == ["working 1"]
    kinds = [e.kind for e in store.events(result.run_id)]
    assert kinds == ["run_pending", "run_started", "step_started", "step_finished", "step_started",
                     "step_finished", "run_finished"]
    assert store.get_run(result.run_id[:8]).run_id == result.run_id


def test_last_output_is_the_newest_runs_and_skips_runs_without_one(tmp_path: Path) -> None:
    def echo(n: int) -> dict[str, int]:
        return {"n": n}

    wf = Workflow("store.last", steps=[Step.from_function("a", echo), Step.lambda_("b", broken)])
    with TrackedWorkflowRunner(tmp_path / "s.db") as runner:
        first = runner.execute(wf, {"n": 1})
        time.sleep(0.01)
        second = runner.execute(wf, {"n": 2})
    store = RunStore(tmp_path / "s.db")
    last = store.last_output("store.last", "a")
    assert last is not None and last.run_id == second.run_id and last.value == {"n": 2}
    assert last.run_status is RunStatus.FAILED  # the run failed later, at b
    assert store.last_output("store.last", "b") is None  # b never produced an output
    assert store.last_output("store.other", "a") is None
    older = store.last_output("store.last", "a", within_runs=1)
    assert older is not None and older.run_id == second.run_id
    assert first.run_id != second.run_id


def test_partitions_make_runs_idempotent(tmp_path: Path) -> None:
    calls: list[str] = []

    def fetch(date: str) -> dict:
        calls.append(date)
        return {"date": date}

    wf = ManagedWorkflow("store.backfill", db=str(tmp_path / "b.db")).step("fetch", fetch).build()
    first = wf.run(params={"date": "2025-01-01"}, partition={"date": "2025-01-01"})
    second = wf.run(params={"date": "2025-01-01"}, partition={"date": "2025-01-01"})
    other = wf.run(params={"date": "2025-01-02"}, partition={"date": "2025-01-02"})
    assert first.status == "completed" and other.status == "completed"
    assert second.status == "skipped" and first.run_id in (second.error or "")
    assert calls == ["2025-01-01", "2025-01-02"]
    statuses = sorted(r.status.value for r in RunStore(tmp_path / "b.db").list_runs())
    assert statuses == ["completed", "completed", "skipped"]


def test_a_failed_partition_runs_again(tmp_path: Path) -> None:
    wf = Workflow("store.retry_partition", steps=[Step.lambda_("b", broken)])
    with TrackedWorkflowRunner(tmp_path / "s.db") as runner:
        runner.execute(wf, partition={"day": 1})
        again = runner.execute(wf, partition={"day": 1})
    assert again.status == "failed"


def test_sigkilled_run_is_interrupted_then_resumes_without_rerunning_steps(tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    counter, marker = tmp_path / "counter.txt", tmp_path / "killed.marker"
    env = {**os.environ, "KILL_FLOW_COUNTER": str(counter), "KILL_FLOW_MARKER": str(marker)}
    proc = subprocess.run([sys.executable, str(RESOURCES / "kill_flow.py"), str(db), "killrun1"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9
    assert counter.read_text().split() == ["one", "two", "three"]

    store = RunStore(db)
    run = store.get_run("killrun1")
    assert run.status is RunStatus.INTERRUPTED
    assert store.completed_outputs("killrun1") == {
        "one": {"value": 3, "step": "one"}, "two": {"value": 6, "step": "two"}}

    os.environ["KILL_FLOW_COUNTER"], os.environ["KILL_FLOW_MARKER"] = str(counter), str(marker)
    try:
        workflows, errors = load_file(run.source or "")
        assert errors == []
        with TrackedWorkflowRunner(db) as runner:
            result = runner.resume("killrun1", workflows[0].workflow)
    finally:
        del os.environ["KILL_FLOW_COUNTER"], os.environ["KILL_FLOW_MARKER"]
    assert result.status == "completed" and result.run_id == "killrun1"
    assert counter.read_text().split() == ["one", "two", "three", "three", "four", "five"]
    assert result.outputs["five"] == {"value": 7, "step": "five"}  # "one"'s output restored
    assert store.get_run("killrun1").status is RunStatus.COMPLETED
    seqs = [e.seq for e in store.events("killrun1")]
    assert seqs == sorted(set(seqs))


def test_corrupt_and_foreign_files_are_refused_and_left_unchanged(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
        conn.execute("INSERT INTO customers VALUES (1, 'Ada')")
    for path, phrase in ((junk, "not a SQLite database"), (foreign, "another application")):
        before = digest(path)
        with pytest.raises(StoreFileError, match=phrase) as info:
            RunStore(path)
        assert str(path) in str(info.value)
        assert digest(path) == before


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    RunStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = digest(path)
    with pytest.raises(StoreFileError, match="newer"):
        RunStore(path)
    assert digest(path) == before


def test_processes_opening_a_new_store_together_all_get_it(tmp_path: Path) -> None:
    """A journal-mode switch that meets another opener's lock fails at once in SQLite (no
    busy wait): ``spine-tui`` and ``spine-engine run`` starting together must both open."""
    errors: list[str] = []

    def open_store(path: Path, start: threading.Barrier) -> None:
        start.wait()
        try:
            RunStore(path).close()
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    for round_ in range(60):
        path = tmp_path / f"r{round_}" / "spine.db"
        start = threading.Barrier(4)
        threads = [threading.Thread(target=open_store, args=(path, start)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert RunStore(tmp_path / "r0" / "spine.db").list_runs() == []


def test_a_store_being_created_is_never_mistaken_for_a_foreign_database(tmp_path: Path) -> None:
    """``spine-tui`` opening the store while ``spine-engine run`` creates it must not read
    the new tables without the marker committed with them (it refused the store)."""
    errors: list[str] = []
    for round_ in range(30):
        path = tmp_path / f"r{round_}" / "spine.db"
        creating = threading.Event()

        def check(path: Path = path, creating: threading.Event = creating) -> None:
            while not creating.is_set():
                try:
                    check_file(path)
                except StoreFileError as exc:
                    errors.append(str(exc))
                    return

        checkers = [threading.Thread(target=check) for _ in range(2)]
        for thread in checkers:
            thread.start()
        RunStore(path).close()
        creating.set()
        for thread in checkers:
            thread.join()
    assert errors == []


def test_unknown_and_ambiguous_run_ids(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "s.db")
    with pytest.raises(UnknownRunError, match="no run 'nope'"):
        store.get_run("nope")


def test_several_processes_write_while_one_reads(tmp_path: Path) -> None:
    db = tmp_path / "conc.db"
    RunStore(db).close()
    procs = [subprocess.Popen([sys.executable, str(RESOURCES / "writer_proc.py"), str(db),
                               f"w{i}", "3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(4)]
    reader_errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        store = RunStore(db)
        while not stop.is_set():
            try:
                for run in store.list_runs(limit=20):
                    store.step_runs(run.run_id)
            except BaseException as exc:  # any lock error fails the test
                reader_errors.append(exc)
            time.sleep(0.01)

    reader = threading.Thread(target=read)
    reader.start()
    outs = [p.communicate(timeout=120) for p in procs]
    stop.set()
    reader.join()
    assert reader_errors == []
    for proc, (_out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
    total = sum(int(out.split()[-1]) for out, _ in outs)
    store = RunStore(db)
    assert store.count_runs() == total
    completed = store.db.scalar("SELECT count(*) FROM step_runs WHERE status = 'completed'")
    assert completed == total * 5
    assert store.db.scalar("SELECT count(*) FROM logs") == total * 5
    assert store.db.scalar("SELECT count(*) FROM events") == total * 13  # run_pending, run_started, 5 x 2, run_finished


def test_artifact_refs_in_outputs_are_recorded(tmp_path: Path) -> None:
    from engine import LocalArtifactStore

    artifacts = LocalArtifactStore(tmp_path / "artifacts")

    def produce(ctx, config):
        ref = artifacts.put_json(f"runs/{ctx.run_id}/produce/rows.json", {"rows": [1, 2, 3]})
        return {"rows_ref": ref, "nested": [{"again": ref}]}

    wf = Workflow("store.artifacts", steps=[Step.lambda_("produce", produce)])
    with TrackedWorkflowRunner(tmp_path / "s.db") as runner:
        result = runner.execute(wf)
    records = RunStore(tmp_path / "s.db").artifacts(result.run_id)
    assert [(r.step, r.key) for r in records] == [
        ("produce", f"runs/{result.run_id}/produce/rows.json")]
    assert records[0].size_bytes > 0 and len(records[0].checksum) == 64


def test_artifact_records_rebuild_the_ref_and_verify_it_on_disk(tmp_path: Path) -> None:
    from datetime import UTC

    from engine import ArtifactRecord, LocalArtifactStore

    refs = []

    def write(ctx, config):
        refs.append(ctx.artifact_store.put(f"runs/{ctx.run_id}/write/report.txt",
                                           b"all rows ok\n", content_type="text/plain"))
        return {"report": refs[-1]}

    wf = Workflow("store.artifact_records", steps=[Step.lambda_("write", write)])
    with TrackedWorkflowRunner(tmp_path / "s.db") as runner:
        result = runner.execute(wf)
    [record] = RunStore(tmp_path / "s.db").artifacts(result.run_id)
    assert isinstance(record, ArtifactRecord)
    assert (record.run_id, record.step, record.size_bytes, record.content_type) == (
        result.run_id, "write", 12, "text/plain")
    assert record.created_at.tzinfo == UTC
    assert record.to_ref() == refs[0]
    assert record.to_dict() == {
        "key": refs[0].key, "step": "write", "store": "local", "size_bytes": 12,
        "content_type": "text/plain", "checksum": refs[0].checksum,
        "created_at": refs[0].created_at.isoformat()}
    with pytest.raises(AttributeError):
        record.key = "elsewhere"  # type: ignore[misc]

    artifacts = LocalArtifactStore(tmp_path / "artifacts")
    assert record.verify(artifacts) == ("ok", None)
    assert record.verify(LocalArtifactStore(tmp_path / "artifacts", name="s3"))[0] == (
        "other store")
    checksum = record.checksum
    (tmp_path / "artifacts" / "objects" / checksum[:2] / checksum[2:]).write_bytes(b"tampered\n")
    state, problem = record.verify(artifacts)
    assert state == "corrupt" and "expected SHA-256" in (problem or "")
    artifacts.delete(record.key)
    assert record.verify(artifacts) == ("missing", "no such key in the store")


def test_playground_opens_a_stored_run_without_rerunning_earlier_steps(tmp_path: Path) -> None:
    from engine import WorkflowPlayground, register_workflow, unregister_workflow

    calls: list[str] = []

    def count(ctx, config):
        calls.append(config["name"])
        return {config["name"]: len(calls)}

    wf = Workflow("store.replay", steps=[Step.lambda_(n, count, config={"name": n})
                                          for n in ("a", "b", "c")])
    register_workflow(wf)
    try:
        with TrackedWorkflowRunner(tmp_path / "s.db") as runner:
            result = runner.execute(wf)
        pg = WorkflowPlayground()
        pg.load_run(result.run_id, RunStore(tmp_path / "s.db"), at="c")
        assert calls == ["a", "b", "c"]
        assert [s.name for s in pg.remaining_steps] == ["c"]
        assert pg.step().output == {"c": 4}
        assert calls == ["a", "b", "c", "c"]
    finally:
        unregister_workflow("store.replay")


def test_runs_record_the_published_version_and_handlers_get_an_artifact_store(
        tmp_path: Path) -> None:
    from engine import WorkflowVersionStore


    def uses_store(ctx, config):
        ref = ctx.artifact_store.put_json(f"runs/{ctx.run_id}/s/data.json", {"v": 1})
        return {"ref": ref}

    v1 = Workflow("store.versioned", steps=[Step.lambda_("s", uses_store)])
    v2 = Workflow("store.versioned", steps=[Step.lambda_("s", uses_store, config={"x": 1})])
    with TrackedWorkflowRunner(tmp_path / "s.db") as runner:
        first = runner.execute(v1)
        again = runner.execute(v1)
        second = runner.execute(v2)
    store = RunStore(tmp_path / "s.db")
    assert [store.get_run(r.run_id).version for r in (first, again, second)] == [1, 1, 2]
    assert [v.version for v in WorkflowVersionStore(store).list("store.versioned")] == [1, 2]
    assert (tmp_path / "artifacts").is_dir()
    assert store.artifacts(first.run_id)[0].key == f"runs/{first.run_id}/s/data.json"


def test_partition_keys_are_default_params(tmp_path: Path) -> None:
    def fetch(date: str, source: str = "sec") -> dict:
        return {"date": date, "source": source}

    wf = Workflow("store.partition_params", steps=[Step.from_function("fetch", fetch)])
    with TrackedWorkflowRunner(tmp_path / "s.db") as runner:
        result = runner.execute(wf, {"source": "edgar"}, partition={"date": "2025-01-03"})
    assert result.outputs["fetch"] == {"date": "2025-01-03", "source": "edgar"}


def test_artifact_retention_applies_when_a_tracked_run_ends(tmp_path: Path) -> None:
    from engine import ArtifactRetention

    def produce(ctx, config):
        return {"ref": ctx.artifact_store.put_json(f"runs/{ctx.run_id}/p/x.json", {"a": 1})}

    def fail(ctx, config):
        return StepResult.fail("boom")

    retention = ArtifactRetention(on_success="delete", on_failure="keep")
    ok_wf = Workflow("store.retain_ok", steps=[Step.lambda_("p", produce)],
                     artifact_retention=retention)
    bad_wf = Workflow("store.retain_bad", steps=[Step.lambda_("p", produce),
                                                 Step.lambda_("f", fail)],
                      artifact_retention=retention)
    with TrackedWorkflowRunner(tmp_path / "s.db") as runner:
        ok_run = runner.execute(ok_wf)
        bad_run = runner.execute(bad_wf)
        artifacts = runner.runner.artifact_store
        assert not artifacts.exists(f"runs/{ok_run.run_id}/p/x.json")
        assert artifacts.exists(f"runs/{bad_run.run_id}/p/x.json")


def test_step_records_tell_a_maps_items_from_the_runs_steps(tmp_path: Path) -> None:
    inner = [Step.lambda_("score", lambda ctx, config: {"x": config["x"]})]
    wf = Workflow("store.items", steps=[
        Step.lambda_("load", lambda ctx, config: {"items": [{"x": 1}, {"x": 2}]}),
        Step.map("fan", "$.outputs.load.items", iterator_steps=inner)])
    with TrackedWorkflowRunner(tmp_path / "s.db") as runner:
        result = runner.execute(wf)
    steps = RunStore(tmp_path / "s.db").step_runs(result.run_id)
    assert {s.step: s.is_map_item for s in steps} == {
        "load": False, "fan": False, "fan[0].score": True, "fan[1].score": True}


def test_a_line_that_arrives_after_its_run_ended_is_stored_after_the_others(
        tmp_path: Path) -> None:
    """A worker's relayed line can reach the recorder after ``RunFinished`` (which forgets the
    run's counters): it continues the run's numbering instead of reusing seq 1."""
    with TrackedWorkflowRunner(tmp_path / "spine.db", capture_logs=True) as runner:
        result = runner.execute(Workflow("store.late", [Step.lambda_("a", ok)]))
        runner.recorder(LogLine(run_id=result.run_id, workflow="store.late", at=now(),
                                step="a", message="late line from a worker"))
        runner.recorder.flush()
        store = RunStore(tmp_path / "spine.db")
        lines = [line.message for line in store.logs(result.run_id)]
    assert lines[-1] == "late line from a worker" and "working 0" in lines
