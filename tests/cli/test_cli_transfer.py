"""``export`` writes a workflow as YAML; ``import`` checks one and copies it into a folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("spec_yaml")


def test_export_import_round_trip_then_run(cli, tmp_path: Path) -> None:
    exported = tmp_path / "out" / "from_yaml.yaml"
    result = cli("export", "cli.from_yaml", "--paths", "yaml", "--yaml", "-o", str(exported))
    assert result.code == 0, result.err
    assert result.out == ""
    assert f"wrote cli.from_yaml (1 step) to {exported}" in result.err
    text = exported.read_text()
    assert text.startswith("apiVersion: spine.io/v1\n")
    assert "pipeline: cli.yaml.double" in text
    assert cli("export", "yaml/cli_yaml.yaml").out == text  # stdout by default

    folder = tmp_path / "workflows"
    result = cli("import", str(exported), "--into", str(folder), "--paths", "yaml")
    assert result.code == 0, result.err
    assert "✓ cli.from_yaml v1 (1 step)" in result.out
    assert "double  pipeline  cli.yaml.double" in result.out
    assert (folder / "from_yaml.yaml").read_text() == text
    assert "imported cli.from_yaml into" in result.out

    listed = json.loads(cli("list", str(folder), "--json").out)
    assert [w["name"] for w in listed["workflows"]] == ["cli.from_yaml"]
    ran = cli("run", str(folder / "from_yaml.yaml"), "--paths", "yaml", "--json")
    assert ran.code == 0, ran.err
    assert json.loads(ran.out)["outputs"]["double"] == {"doubled": 42}


def test_export_python_workflow_keeps_its_handlers(cli, tmp_path: Path) -> None:
    result = cli("export", "good/cli_complete.py", "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["metadata"]["name"] == "cli.complete"
    assert [s.get("lambda") or s.get("function") for s in doc["spec"]["steps"]] == [
        "cli_complete:fetch_a", "cli_complete:fetch_b", "cli_complete:combine",
        "cli_complete:load"]
    target = tmp_path / "complete.yaml"
    cli("export", "good/cli_complete.py", "-o", str(target))
    checked = cli("import", str(target), "--paths", "good", "--json")
    assert checked.code == 0, checked.err
    data = json.loads(checked.out)
    assert data["valid"] and data["name"] == "cli.complete" and data["steps"] == 4
    assert data["destination"] is None
    assert data["workflow"] == doc


def test_export_of_an_inexpressible_workflow_exits_2(cli, tmp_path: Path) -> None:
    target = tmp_path / "chatty.yaml"
    result = cli("export", "follow/cli_chatty.py", "--yaml", "-o", str(target))
    assert result.code == 2
    assert "error: cli.chatty cannot be written as YAML: step 'first'" in result.err
    assert "closure" in result.err
    assert not target.exists()


def test_import_check_never_copies(cli, tmp_path: Path) -> None:
    folder = tmp_path / "workflows"
    result = cli("import", "yaml/cli_yaml.yaml", "--into", str(folder), "--check")
    assert result.code == 0, result.err
    assert "check only: would copy to" in result.out
    assert not folder.exists()


def test_import_refuses_bad_files_and_conflicts(cli, tmp_path: Path) -> None:
    result = cli("import", "yaml_bad/cli_malformed.yaml")
    assert result.code == 2
    assert "error: yaml_bad/cli_malformed.yaml:" in result.err
    result = cli("import", "good/cli_complete.py")
    assert result.code == 2
    assert "not a YAML workflow file" in result.err
    result = cli("import", "nope.yaml")
    assert result.code == 2 and "no such file: nope.yaml" in result.err

    orphan = tmp_path / "orphan.yaml"
    orphan.write_text(Path("yaml/cli_yaml.yaml").read_text()
                      .replace("cli.from_yaml", "cli.orphan_yaml")
                      .replace("cli.yaml.double", "cli.yaml.missing"))
    result = cli("import", str(orphan))
    assert result.code == 2
    assert "unknown pipeline(s) in workflow 'cli.orphan_yaml': cli.yaml.missing" in result.err

    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "cli_yaml.yaml").write_text("# something else\n")
    result = cli("import", "yaml/cli_yaml.yaml", "--into", str(folder))
    assert result.code == 2
    assert "exists with other content" in result.err and "--force" in result.err
    assert cli("import", "yaml/cli_yaml.yaml", "--into", str(folder), "--force").code == 0
    assert (folder / "cli_yaml.yaml").read_text() == Path("yaml/cli_yaml.yaml").read_text()

    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(Path("yaml/cli_yaml.yaml").read_text())
    result = cli("import", str(renamed), "--into", str(folder))
    assert result.code == 2
    assert "already defines cli.from_yaml" in result.err
