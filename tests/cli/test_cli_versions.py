"""``versions``, ``diff`` and ``rollback`` over ``WorkflowVersionStore`` in the ``--db`` file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine import Step, Workflow
from engine.versions import WorkflowVersionStore


def etl(*, extra: bool = False, n: int = 1) -> Workflow:
    steps = [Step.pipeline("fetch", "etl.fetch", config={"n": n}),
             Step.pipeline("clean", "etl.clean")]
    if extra:
        steps.append(Step.pipeline("load", "etl.load", depends_on=["clean"]))
    return Workflow("cli.etl", steps, domain="testing")


def with_lambda() -> Workflow:
    return Workflow("cli.opaque", [Step.lambda_("anon", lambda ctx, config: None)])


@pytest.fixture
def published(store_path: Path) -> Path:
    """cli.etl v1 (two steps), v2 (adds load), v3 (fetch config changed)."""
    store_path.parent.mkdir(parents=True, exist_ok=True)
    versions = WorkflowVersionStore(store_path)
    try:
        versions.publish(etl(), created_by="ana", changelog="first cut")
        versions.publish(etl(extra=True), created_by="ben")
        versions.publish(etl(extra=True, n=5), created_by="ana", changelog="bigger batches")
        versions.publish(with_lambda(), created_by="ana")
    finally:
        versions.db.close()
    return store_path


def rows(out: str) -> dict[str, str]:
    return {m.group(1): line for line in out.splitlines()
            if (m := re.match(r"^\s*(v\d+)\b", line))}


def test_versions_lists_each_version_with_its_changes(cli, published: Path) -> None:
    result = cli("versions", "cli.etl")
    assert result.code == 0, result.err
    table = rows(result.out)
    assert list(table) == ["v1", "v2", "v3"]
    assert "first version" in table["v1"] and "first cut" in table["v1"]
    assert " ana " in table["v1"]
    assert "added step load" in table["v2"] and " ben " in table["v2"]
    assert "v3 latest" in table["v3"]
    assert "changed fetch.config" in table["v3"] and "bigger batches" in table["v3"]
    assert "3 versions of cli.etl in " in result.out
    assert "not replayable" not in result.out


def test_versions_json_and_non_replayable_marker(cli, published: Path) -> None:
    data = json.loads(cli("versions", "cli.etl", "--json").out)
    assert data["latest"] == 3
    assert [v["version"] for v in data["versions"]] == [1, 2, 3]
    assert [v["changes"] for v in data["versions"]] == [
        ["first version"], ["added step load"], ["changed fetch.config"]]
    assert [v["step_count"] for v in data["versions"]] == [2, 3, 3]
    assert "definition" not in data["versions"][0]
    full = json.loads(cli("versions", "cli.etl", "--json", "--definitions").out)
    assert full["versions"][0]["definition"]["metadata"]["name"] == "cli.etl"
    opaque = cli("versions", "cli.opaque")
    assert "v1 latest *" in opaque.out
    assert "* not replayable" in opaque.out


def test_versions_yaml_prints_a_replayable_definition(cli, published: Path) -> None:
    result = cli("versions", "cli.etl", "--yaml", "2")
    assert result.code == 0, result.err
    assert "name: cli.etl" in result.out and "etl.load" in result.out
    result = cli("versions", "cli.opaque", "--yaml", "1")  # VersionNotReplayableError
    assert result.code == 2
    assert "error: cli.opaque v1 cannot be rebuilt" in result.err


def test_diff_shows_steps_and_fields_in_text_and_json(cli, published: Path) -> None:
    result = cli("diff", "cli.etl", "1", "v3")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "cli.etl: v1 -> v3"
    assert "  + step load" in lines
    assert "  ~ step fetch" in lines
    assert any(line.strip().startswith("config: ") and "5" in line for line in lines)
    data = json.loads(cli("diff", "cli.etl", "1", "3", "--json").out)
    versions = WorkflowVersionStore(published)
    try:
        assert data == json.loads(json.dumps(versions.diff("cli.etl", 1, 3).to_dict()))
    finally:
        versions.db.close()
    assert data["added_steps"] == ["load"]
    assert cli("diff", "cli.etl", "2", "2").out.strip() == "cli.etl: v2 -> v2: no changes"


def test_rollback_publishes_the_old_definition_as_the_latest(cli, published: Path) -> None:
    result = cli("rollback", "cli.etl", "1", "-m", "v2 broke the loader")
    assert result.code == 0, result.err
    assert ("rolled back cli.etl: v4 is now the latest, with the definition of v1 (was v3)"
            in result.out)
    assert "  rollback to v1" in result.out.splitlines()
    assert "  removed step load" in result.out.splitlines()
    data = json.loads(cli("versions", "cli.etl", "--json").out)
    latest = data["versions"][-1]
    assert (latest["version"], latest["rolled_back_from"]) == (4, 1)
    assert latest["changelog"] == "v2 broke the loader"
    again = cli("rollback", "cli.etl", "1", "--json")
    assert again.code == 0
    assert json.loads(again.out)["published"] is False
    assert json.loads(again.out)["version"] == 4
    text = cli("rollback", "cli.etl", "4")
    assert "cli.etl v4 already has the definition of v4; nothing published" in text.out


def test_unknown_names_and_versions_exit_2(cli, published: Path) -> None:
    cases = [(("versions", "nope"), "workflow 'nope' has no published versions in"),
             (("diff", "cli.etl", "1", "9"),
              "workflow 'cli.etl' has no version 9; versions: 1-3 (latest 3)"),
             (("rollback", "cli.etl", "7"), "has no version 7"),
             (("versions", "cli.etl", "--yaml", "5"), "has no version 5")]
    for argv, message in cases:
        result = cli(*argv)
        assert result.code == 2, argv
        assert message in result.err, (argv, result.err)
        assert "Traceback" not in result.err
    for argv in (("diff", "cli.etl", "one", "2"), ("rollback", "cli.etl", "0"), ("diff",)):
        result = cli(*argv)
        assert result.code == 2
        assert "usage: spine-engine" in result.err


def test_versions_on_a_missing_store_exit_2_without_creating_it(cli, tmp_path: Path) -> None:
    path = tmp_path / "none.db"
    for argv in (("versions", "cli.etl"), ("diff", "cli.etl", "1", "2"),
                 ("rollback", "cli.etl", "1")):
        result = cli(*argv, "--db", str(path))
        assert result.code == 2
        assert "does not exist yet" in result.err
    assert not path.exists()
