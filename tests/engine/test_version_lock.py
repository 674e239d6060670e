"""Workflow versioning (spec §9): a run locks to the version published when it starts
(``version_lock``), and published versions carry their migration info."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import (
    RunStatus,
    RunStore,
    Step,
    TrackedWorkflowRunner,
    VersionDiff,
    VersionInfo,
    Workflow,
    WorkflowContext,
)
from engine.versions import (
    MigrationScriptError,
    WorkflowDiff,
    WorkflowVersion,
    WorkflowVersionStore,
    version_for_run,
)

RESOURCES = Path(__file__).parent.parent / "resources"


def fetch(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
    return {"n": config["n"]}


def publishes_a_new_version(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
    """Another deploy lands while this run is in flight."""
    info = WorkflowVersionStore(config["db"]).publish(etl(99), changelog="deployed mid-run")
    return {"published": info.version}


def etl(n: int, **kwargs: Any) -> Workflow:
    return Workflow("etl", [Step.lambda_("fetch", fetch, config={"n": n})], **kwargs)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "spine.db"


@pytest.fixture
def versions(db: Path) -> Iterator[WorkflowVersionStore]:
    store = WorkflowVersionStore(db)
    yield store
    store.db.close()


def stored_definition(db: Path, name: str, version: int) -> str:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT definition FROM workflow_versions WHERE name = ? AND "
                           "version = ?", (name, version)).fetchone()
    finally:
        conn.close()
    return str(row[0])


# ---------------------------------------------------------------------- version_lock
def test_the_spec_in_flight_run_protection(db: Path, versions: WorkflowVersionStore) -> None:
    """``run = runner.execute(workflow, version_lock=True)`` records v5; publishing v6 later
    leaves the run on v5's definition."""
    for n in range(1, 5):
        versions.publish(etl(n))
    workflow = etl(5)
    with TrackedWorkflowRunner(db) as runner:
        run = runner.execute(workflow, version_lock=True)
    assert run.status is RunStatus.COMPLETED
    assert RunStore(db).get_run(run.run_id).version == 5

    six = versions.publish(etl(6), changelog="workflow updated to v6")
    assert six.version == 6
    assert RunStore(db).get_run(run.run_id).version == 5
    locked = versions.definition_for_run(run.run_id)
    assert locked.version == 5 and locked.definition != six.definition
    assert locked.definition["spec"]["steps"][0]["config"] == {"n": 5}


def test_a_run_keeps_its_version_when_another_is_published_mid_run(
        db: Path, versions: WorkflowVersionStore) -> None:
    wf = Workflow("etl", [Step.lambda_("deploy", publishes_a_new_version,
                                       config={"db": str(db)})])
    with TrackedWorkflowRunner(db) as runner:
        run = runner.execute(wf)
    assert run.outputs["deploy"] == {"published": 2}
    assert versions.latest("etl").version == 2
    assert RunStore(db).get_run(run.run_id).version == 1
    started = next(e for e in RunStore(db).events(run.run_id) if e.kind == "run_started")
    assert started.data["version"] == 1


def test_version_lock_is_the_default(db: Path, versions: WorkflowVersionStore) -> None:
    with TrackedWorkflowRunner(db) as runner:
        run = runner.execute(etl(1, version=3))
    assert versions.names() == ["etl"]
    assert [v.version for v in versions.list("etl")] == [3]
    assert RunStore(db).get_run(run.run_id).version == 3


def test_without_version_lock_nothing_is_published(db: Path,
                                                   versions: WorkflowVersionStore) -> None:
    with TrackedWorkflowRunner(db) as runner:
        first = runner.execute(etl(1, version=3), version_lock=False)
        versions.publish(etl(2))
        versions.publish(etl(4))
        second = runner.execute(etl(5), version_lock=False)
    assert first.status is second.status is RunStatus.COMPLETED
    assert [v.version for v in versions.list("etl")] == [1, 2]  # only the explicit publishes
    store = RunStore(db)
    assert store.get_run(first.run_id).version == 3  # the workflow's own number
    assert store.get_run(second.run_id).version == 1
    started = next(e for e in store.events(first.run_id) if e.kind == "run_started")
    assert started.data["version"] == 3


def test_the_result_exposes_the_locked_version(db: Path,
                                               versions: WorkflowVersionStore) -> None:
    for n in range(1, 5):
        versions.publish(etl(n))
    with TrackedWorkflowRunner(db) as runner:
        run = runner.execute(etl(5), version_lock=True)
        unlocked = runner.execute(etl(9, version=2), version_lock=False)
    assert run.workflow_version == 5  # type: ignore[attr-defined]
    assert unlocked.workflow_version == 2  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- migration info
def test_migrated_from_is_the_version_a_version_was_published_over(
        versions: WorkflowVersionStore) -> None:
    assert versions.publish(etl(1)).migrated_from is None
    assert versions.publish(etl(2)).migrated_from == 1
    assert versions.publish(etl(3), migration_script="x = 1").migrated_from == 2
    jumped = versions.publish(etl(4, version=10))
    assert (jumped.version, jumped.migrated_from) == (10, 3)
    rolled = versions.rollback("etl", to_version=1)
    assert (rolled.version, rolled.migrated_from, rolled.rolled_back_from) == (11, 10, 1)
    listed = versions.list("etl")
    assert [v.migrated_from for v in listed] == [None, 1, 2, 3, 10]
    assert listed == [versions.get("etl", v.version) for v in listed]


SCRIPT = "def migrate(state):\n    state['n'] = state.pop('count')\n    return state\n"


def test_a_migration_script_is_kept_beside_the_definition_not_in_it(
        db: Path, versions: WorkflowVersionStore) -> None:
    versions.publish(etl(1))
    second = versions.publish(etl(2), changelog="rename count", created_by="ana",
                              migration_script=SCRIPT)
    assert second.migration_script == SCRIPT
    assert versions.get("etl", 2).migration_script == SCRIPT
    assert versions.latest("etl").migration_script == SCRIPT
    assert versions.get("etl", 1).migration_script is None
    assert second.to_dict()["migration_script"] == SCRIPT
    assert second.to_dict()["migrated_from"] == 1
    assert "x-spine-version" not in second.definition
    assert second.changes == ("changed fetch.config",)  # the script is no change of steps
    assert versions.diff("etl", 1, 2).changes() == ["changed fetch.config"]

    other = WorkflowVersionStore(db.with_name("other.db"))
    assert other.publish(etl(2)).checksum == second.checksum  # the script is not hashed
    assert version_for_run(versions, etl(2)) == 2  # a run of that definition reuses v2


def test_versions_without_a_script_are_stored_as_before(
        db: Path, versions: WorkflowVersionStore) -> None:
    plain = versions.publish(etl(1))
    scripted = versions.publish(etl(2), migration_script=SCRIPT)
    assert json.loads(stored_definition(db, "etl", 1)) == plain.definition
    raw = json.loads(stored_definition(db, "etl", 2))
    assert raw.pop("x-spine-version") == {"migration_script": SCRIPT}
    assert raw == scripted.definition


def test_a_script_for_an_unchanged_definition_must_be_the_one_already_published(
        db: Path, versions: WorkflowVersionStore) -> None:
    versions.publish(etl(1))
    first = versions.publish(etl(2), migration_script=SCRIPT)
    assert versions.publish(etl(2), migration_script=SCRIPT) == first  # a repeated deploy
    assert versions.publish(etl(2)) == first
    with pytest.raises(MigrationScriptError, match="etl v2 already has this definition"):
        versions.publish(etl(2), migration_script="x = 2")
    with pytest.raises(MigrationScriptError, match=r"does not compile: .*line 1"):
        versions.publish(etl(3), migration_script="def broken(:\n")
    with pytest.raises(MigrationScriptError, match="Python source text, got int"):
        versions.publish(etl(3), migration_script=42)  # type: ignore[arg-type]
    assert [v.version for v in versions.list("etl")] == [1, 2]  # nothing stored


def test_a_replayable_version_with_a_script_still_rebuilds(
        versions: WorkflowVersionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(RESOURCES))
    import yaml_handlers

    wf = Workflow("calc", [Step.lambda_("extract", yaml_handlers.extract, config={"n": 3})])
    info = versions.publish(wf, migration_script=SCRIPT)
    assert info.replayable and info.migration_script == SCRIPT
    assert info.to_workflow().get_step("extract").handler is yaml_handlers.extract
    assert "x-spine-version" not in info.to_yaml()


# ---------------------------------------------------------------------- the spec's names
def test_the_spec_names_and_argument_order(versions: WorkflowVersionStore) -> None:
    assert WorkflowVersion is VersionInfo and WorkflowDiff is VersionDiff
    first = versions.publish(etl(1), "first cut", "ana")  # publish(workflow, changelog, by)
    assert (first.changelog, first.created_by, first.source) == ("first cut", "ana", None)
    versions.publish(etl(2), "second", "bob")
    assert versions.get_version("etl", 1) == first
    assert versions.get_latest("etl").version == 2
    assert [v.version for v in versions.list_versions("etl")] == [1, 2]
    assert isinstance(versions.diff("etl", 1, 2), WorkflowDiff)
    back = versions.rollback("etl", to_version=1)
    assert back.workflow_name == "etl" and back.checksum == first.checksum
