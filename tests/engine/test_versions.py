"""Workflow versions (spec §9): dedupe, numbering, diffs, rollback, concurrency, migration."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

from engine import Step, Workflow
from engine.policies import ErrorPolicy, ExecutionMode, WorkflowExecutionPolicy
from engine.store.db import Database
from engine.store.runs import RunStore, UnknownRunError
from engine.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, StoreError
from engine.versions.store import (
    UnknownVersionError,
    VersionNotReplayableError,
    WorkflowVersionStore,
    canonical_definition,
    checksum_of,
    version_for_run,
)

RESOURCES = Path(__file__).parent.parent / "resources"
PARALLEL = WorkflowExecutionPolicy(mode=ExecutionMode.PARALLEL, max_concurrency=2)


@pytest.fixture
def handlers(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """``yaml_handlers``: module-level functions, so versions using them are replayable."""
    monkeypatch.syspath_prepend(str(RESOURCES))
    import yaml_handlers

    yield yaml_handlers


@pytest.fixture
def store(tmp_path: Path) -> Iterator[WorkflowVersionStore]:
    versions = WorkflowVersionStore(tmp_path / "spine.db")
    yield versions
    versions.db.close()


def etl(n: int = 1, *, extra: bool = False, **kwargs: object) -> Workflow:
    steps = [Step.pipeline("fetch", "etl.fetch", config={"n": n}),
             Step.pipeline("clean", "etl.clean")]
    if extra:
        steps.append(Step.pipeline("load", "etl.load", depends_on=["clean"]))
    return Workflow("etl", steps, **kwargs)  # type: ignore[arg-type]


def test_publishing_an_unchanged_definition_returns_the_latest(store: WorkflowVersionStore) -> None:
    first = store.publish(etl(), source="etl.py", created_by="ana")
    again = store.publish(etl(), created_by="bob")
    bumped = store.publish(etl(version=7))  # the version number alone is not a change

    assert first.version == again.version == bumped.version == 1
    assert again.created_by == "ana" and again.source == "etl.py"
    assert first.checksum == checksum_of(canonical_definition(etl(version=7))[0])
    assert len(store.list("etl")) == 1
    assert store.db.scalar("SELECT count(*) FROM workflow_versions") == 1


def test_changed_definitions_get_the_next_number_or_a_higher_declared_one(
        store: WorkflowVersionStore) -> None:
    assert store.publish(etl(1)).version == 1
    assert store.publish(etl(2)).version == 2
    assert store.publish(etl(3, version=2)).version == 3  # declared <= latest: ignored
    assert store.publish(etl(4, version=10)).version == 10  # declared higher: used
    assert store.publish(etl(5)).version == 11
    assert store.publish(etl(1)).version == 12  # an older definition again is a change
    assert [v.version for v in store.list("etl")] == [1, 2, 3, 10, 11, 12]
    assert store.latest("etl").version == 12
    assert store.get("etl", 10).to_workflow().version == 10
    assert store.get("etl", 2).definition["spec"]["steps"][0]["config"] == {"n": 2}


def test_config_values_that_differ_only_as_dates_are_different_versions(
        store: WorkflowVersionStore) -> None:
    def dated(day: date) -> Workflow:
        return Workflow("dated", [Step.pipeline("a", "p.a", config={"since": day})])

    assert store.publish(dated(date(2024, 1, 1))).version == 1
    assert store.publish(dated(date(2025, 1, 1))).version == 2
    assert store.get("dated", 2).definition["spec"]["steps"][0]["config"] == {
        "since": "2025-01-01"}


def test_diff_lists_added_removed_and_changed_steps_and_workflow_fields(
        store: WorkflowVersionStore) -> None:
    store.publish(etl(1))
    old_steps = [Step.pipeline("fetch", "etl.fetch", config={"n": 1}),
                 Step.pipeline("clean", "etl.clean")]
    new_steps = [Step.pipeline("fetch", "etl.fetch_v2", config={"n": 2},
                               on_error=ErrorPolicy.CONTINUE),
                 Step.pipeline("load", "etl.load")]
    store.publish(Workflow("etl", old_steps, tags=["a"], schedule="0 6 * * *"))
    store.publish(Workflow("etl", new_steps, tags=["a", "b"], execution_policy=PARALLEL,
                           description="nightly", defaults={"region": "eu"}))

    diff = store.diff("etl", 2, 3)
    assert diff.added_steps == ("load",)
    assert diff.removed_steps == ("clean",)
    fetch = diff.step_changes("fetch")
    assert set(fetch) == {"pipeline", "config", "on_error"}
    assert (fetch["config"].old, fetch["config"].new) == ({"n": 1}, {"n": 2})
    assert (fetch["on_error"].old, fetch["on_error"].new) == ("stop", "continue")
    assert (fetch["pipeline"].old, fetch["pipeline"].new) == ("etl.fetch", "etl.fetch_v2")
    fields = {f.field: (f.old, f.new) for f in diff.workflow_changes}
    assert fields == {"tags": (["a"], ["a", "b"]), "description": ("", "nightly"),
                      "defaults": ({}, {"region": "eu"}), "schedule": ("0 6 * * *", None),
                      "policy.execution": ("sequential", "parallel"),
                      "policy.max_concurrency": (4, 2)}
    assert "added step load" in diff.changes() and "changed fetch.config" in diff.changes()
    assert "changed policy.execution" in diff.changes()
    text = diff.summary()
    assert "etl: v2 -> v3" in text and "+ step load" in text and "- step clean" in text
    assert "config: {'n': 1} -> {'n': 2}" in text
    assert "policy.execution: 'sequential' -> 'parallel'" in text
    data = json.loads(json.dumps(diff.to_dict()))
    assert data["changed_steps"][0]["step"] == "fetch"
    assert store.diff("etl", 1, 2).step_changes("fetch") == {}  # only tags/schedule changed
    assert store.list("etl")[2].changes == tuple(diff.changes())
    assert store.list("etl")[0].changes == ("first version",)


def test_reordering_steps_is_a_change(store: WorkflowVersionStore) -> None:
    a, b = Step.pipeline("a", "p.a"), Step.pipeline("b", "p.b")
    store.publish(Workflow("order", [a, b]))
    store.publish(Workflow("order", [b, a]))
    diff = store.diff("order", 1, 2)
    assert diff.changes() == ["changed step_order"]
    assert diff.workflow_changes[0].new == ["b", "a"]


def test_rollback_publishes_the_old_definition_as_a_new_version(
        store: WorkflowVersionStore) -> None:
    store.publish(etl(1))
    store.publish(etl(2, extra=True))
    rolled = store.rollback("etl", 1, created_by="ops")

    assert rolled.version == 3 and rolled.rolled_back_from == 1 and rolled.created_by == "ops"
    assert rolled.checksum == store.get("etl", 1).checksum
    assert store.diff("etl", 3, 1).is_empty and store.diff("etl", 1, 3).is_empty
    assert store.diff("etl", 2, 3).removed_steps == ("load",)
    assert rolled.changes[0] == "rollback to v1" and "removed step load" in rolled.changes
    assert [s.name for s in rolled.to_workflow().steps] == ["fetch", "clean"]
    assert [v.version for v in store.list("etl")] == [1, 2, 3]
    assert store.get("etl", 2).rolled_back_from is None
    again = store.rollback("etl", 3)  # already the latest definition: nothing to append
    assert again.version == 3
    assert store.rollback("etl", 2).version == 4


def test_replayable_version_rebuilds_the_workflow(store: WorkflowVersionStore,
                                                   handlers: ModuleType) -> None:
    wf = Workflow("calc", [Step.lambda_("extract", handlers.extract, config={"n": 3}),
                           Step.from_function("total", handlers.total)])
    info = store.publish(wf)
    rebuilt = info.to_workflow()
    assert info.replayable and info.step_count == 2
    assert rebuilt.get_step("extract").handler is handlers.extract
    assert rebuilt.get_step("extract").config == {"n": 3}
    assert "lambda: yaml_handlers:extract" in info.to_yaml()


def test_lambda_handlers_are_published_but_not_replayable(store: WorkflowVersionStore,
                                                          handlers: ModuleType) -> None:
    def lam(n: int) -> Workflow:
        return Workflow("adhoc", [Step.lambda_("fetch", lambda ctx, config: {}, config={"n": n}),
                                  Step.pipeline("load", "p.load")])

    first = store.publish(lam(1))
    assert store.publish(lam(1)).version == 1
    second = store.publish(lam(2))
    assert not first.replayable and not second.replayable and second.version == 2
    assert "<lambda>" in first.definition["steps"][0]["handler"]
    assert store.diff("adhoc", 1, 2).changes() == ["changed fetch.config"]
    with pytest.raises(VersionNotReplayableError, match="lambdas, closures"):
        second.to_workflow()
    fixed = store.publish(Workflow("adhoc", [
        Step.lambda_("fetch", handlers.square, config={"n": 2}), Step.pipeline("load", "p.load")]))
    assert fixed.replayable and fixed.version == 3
    changed = store.diff("adhoc", 2, 3).step_changes("fetch")
    assert list(changed) == ["handler"]  # the two stored forms compare field by field
    assert changed["handler"].new == "yaml_handlers:square"
    assert fixed.to_workflow().get_step("fetch").handler is handlers.square


def test_unknown_names_and_versions_raise_a_specific_error(store: WorkflowVersionStore) -> None:
    with pytest.raises(UnknownVersionError, match="no workflow is published yet"):
        store.latest("etl")
    store.publish(etl(1))
    store.publish(etl(2))
    with pytest.raises(UnknownVersionError, match=r"'nope' has no published.*workflows: etl"):
        store.list("nope")
    with pytest.raises(UnknownVersionError, match=r"no version 9; versions: 1-2 \(latest 2\)"):
        store.get("etl", 9)
    with pytest.raises(UnknownVersionError):
        store.diff("etl", 1, 5)
    with pytest.raises(UnknownVersionError):
        store.rollback("etl", 0)
    assert issubclass(UnknownVersionError, StoreError)
    assert issubclass(UnknownVersionError, LookupError)


def _insert_run(db: Database, run_id: str, workflow: str, version: int | None) -> None:
    with db.transaction() as conn:
        conn.execute("INSERT INTO runs (run_id, workflow, version, status, created_at) "
                     "VALUES (?, ?, ?, 'running', ?)", (run_id, workflow, version, time.time()))


def test_a_run_keeps_the_version_it_started_with(store: WorkflowVersionStore) -> None:
    started = version_for_run(store.db, etl(1))
    assert started == 1 and version_for_run(store, etl(1)) == 1
    _insert_run(store.db, "run-a", "etl", started)
    assert version_for_run(store, etl(2, extra=True)) == 2  # published while run-a is in flight
    assert version_for_run(store, etl(1)) == 1  # an older definition reuses its version
    assert store.latest("etl").version == 2

    recorded = store.definition_for_run("run-a")
    assert recorded.version == 1
    assert [s.name for s in recorded.to_workflow().steps] == ["fetch", "clean"]
    _insert_run(store.db, "run-b", "etl", None)
    with pytest.raises(UnknownVersionError, match="recorded no workflow version"):
        store.definition_for_run("run-b")
    with pytest.raises(UnknownRunError):
        store.definition_for_run("missing-run")


PUBLISHER = r"""
import json, sys, time
from engine import Step, Workflow
from engine.versions import WorkflowVersionStore, version_for_run

db, tag, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
store = WorkflowVersionStore(db)
same = Workflow("same", [Step.pipeline("a", "p.a", config={"n": 1})])
while time.time() < start:
    time.sleep(0.001)
out = {"same": [], "mixed": []}
for i in range(15):
    out["same"].append(store.publish(same).version)
    out["same"].append(version_for_run(store, same))
    wf = Workflow("mixed", [Step.pipeline("a", "p.a", config={"proc": tag, "i": i})])
    info = store.publish(wf)
    out["mixed"].append([info.version, info.checksum])
print(json.dumps(out))
"""


def test_concurrent_publishers_in_separate_processes_get_gap_free_versions(
        tmp_path: Path) -> None:
    db_path = tmp_path / "shared.db"
    WorkflowVersionStore(db_path).db.close()  # created and migrated before the race
    start = time.time() + 1.5
    procs = [subprocess.Popen([sys.executable, "-c", PUBLISHER, str(db_path), tag, str(start)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for tag in ("p1", "p2", "p3")]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out))

    store = WorkflowVersionStore(db_path)
    assert all(v == 1 for r in results for v in r["same"])
    assert [v.version for v in store.list("same")] == [1]
    mixed = store.list("mixed")
    assert [v.version for v in mixed] == list(range(1, 46))
    assert len({v.checksum for v in mixed}) == 45
    by_version = {v.version: v.checksum for v in mixed}
    for r in results:
        numbers = [n for n, _ in r["mixed"]]
        assert numbers == sorted(numbers)
        assert all(by_version[n] == checksum for n, checksum in r["mixed"])
    store.db.close()


def test_a_v1_file_migrates_to_v2_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    definition, _ = canonical_definition(etl(1))
    conn = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](conn)  # the v1 schema exactly as v1 of spine-tui created it
    conn.execute("PRAGMA user_version = 1")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("INSERT INTO workflow_versions (name, version, checksum, definition, source, "
                 "created_at, created_by) VALUES ('etl', 1, ?, ?, 'etl.py', 1700000000, 'ana')",
                 (checksum_of(definition), json.dumps(definition)))
    conn.execute("INSERT INTO runs (run_id, workflow, version, status, created_at) "
                 "VALUES ('old-run', 'etl', 1, 'completed', 1700000001)")
    conn.close()

    store = WorkflowVersionStore(path)
    assert store.db.scalar("PRAGMA user_version") == SCHEMA_VERSION >= 2
    indexes = {r["name"] for r in store.db.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "step_runs_stats" in indexes and "step_runs_workflow" not in indexes
    old = store.get("etl", 1)
    assert (old.source, old.created_by, old.replayable, old.rolled_back_from) == (
        "etl.py", "ana", True, None)
    assert old.created_at.timestamp() == 1700000000
    assert store.definition_for_run("old-run").checksum == old.checksum
    assert store.publish(etl(1)).version == 1  # the v1 row's checksum still dedupes
    assert store.publish(etl(2)).version == 2
    assert store.rollback("etl", 1).rolled_back_from == 1
    store.db.close()
    reopened = WorkflowVersionStore(path)  # opening a v2 file again migrates nothing
    assert [v.version for v in reopened.list("etl")] == [1, 2, 3]
    reopened.db.close()


def test_a_v3_file_migrates_to_v4_with_outputs_in_step_rows(tmp_path: Path) -> None:
    """v4 moves each completed step's output into its step row and records who started a
    run; a v3 store's outputs, resume data and last outputs read the same after it."""
    path = tmp_path / "v3.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for version in range(3):
        MIGRATIONS[version](conn)
    conn.execute("PRAGMA user_version = 3")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("INSERT INTO runs (run_id, workflow, version, status, created_at) "
                 "VALUES ('v3-run', 'etl', 1, 'failed', 1700000001)")
    conn.executemany("INSERT INTO step_runs (run_id, step, workflow, status, attempts, "
                     "finished_at) VALUES ('v3-run', ?, 'etl', ?, 1, ?)",
                     [("load", "completed", 1700000002), ("save", "failed", 1700000003)])
    conn.execute("INSERT INTO outputs (run_id, step, data) VALUES ('v3-run', 'load', ?)",
                 (json.dumps({"rows": 3}),))
    conn.close()

    store = RunStore(path)
    assert store.db.scalar("PRAGMA user_version") == SCHEMA_VERSION >= 4
    assert not store.db.query("SELECT name FROM sqlite_master WHERE name = 'outputs'")
    assert store.outputs("v3-run") == {"load": {"rows": 3}}
    assert store.completed_outputs("v3-run") == {"load": {"rows": 3}}
    last = store.last_output("etl", "load")
    assert last is not None and last.value == {"rows": 3}
    record = store.get_run("v3-run")
    assert record.started_by is None and record.parent_step is None
    store.close()
