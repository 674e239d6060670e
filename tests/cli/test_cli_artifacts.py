"""``artifacts``: the refs a run recorded, and their state in a local artifact store."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from engine import ArtifactRecord, RunStore

RUN_LINE = re.compile(r"^run ([0-9a-f]{16})  (\S+) \(\d+ steps?\)$")


@pytest.fixture
def run_id(cli) -> str:
    result = cli("run", "artifacts/cli_artifacts.py", "--quiet")
    assert result.code == 0, result.err
    return RUN_LINE.match(result.out.splitlines()[0]).group(1)


def stored(store_path: Path, run_id: str) -> dict[str, ArtifactRecord]:
    store = RunStore(store_path)
    try:
        return {artifact.key: artifact for artifact in store.artifacts(run_id)}
    finally:
        store.close()


def artifact_root(tmp_path: Path) -> Path:
    return tmp_path / "home" / "artifacts"  # default_artifact_root() under the test SPINE_HOME


def test_lists_key_step_size_type_and_checksum(cli, run_id: str, store_path: Path) -> None:
    result = cli("artifacts", run_id[:8])
    assert result.code == 0, result.err
    refs = stored(store_path, run_id)
    rows = {line.split()[0]: line.split() for line in result.out.splitlines()
            if line.startswith("runs/")}
    rows_key, report_key = f"runs/{run_id}/rows.json", f"runs/{run_id}/report.txt"
    assert set(rows) == {rows_key, report_key} == set(refs)
    assert rows[rows_key][1:5] == ["extract", str(refs[rows_key].size_bytes), "B",
                                   "application/json"]
    assert rows[rows_key][5] == refs[rows_key].checksum[:12]
    assert rows[report_key][1:5] == ["report", "9", "B", "text/plain"]
    assert f"2 artifacts, {refs[rows_key].size_bytes + 9} B in run {run_id}" in result.out


def test_json_matches_the_store(cli, run_id: str, store_path: Path) -> None:
    data = json.loads(cli("artifacts", run_id, "--json").out)
    refs = stored(store_path, run_id)
    assert data["run_id"] == run_id and data["workflow"] == "cli.artifacts"
    assert data["root"] is None
    for item in data["artifacts"]:
        ref = refs[item["key"]]
        assert item == ref.to_dict()
        assert (item["step"], item["size_bytes"], item["checksum"], item["store"]) == (
            ref.step, ref.size_bytes, ref.checksum, "local")
        assert list(item) == ["key", "step", "store", "size_bytes", "content_type",
                              "checksum", "created_at"]
        assert datetime.fromisoformat(item["created_at"]) == ref.created_at


def test_root_verifies_present_missing_and_corrupt(cli, run_id: str, store_path: Path,
                                                   tmp_path: Path) -> None:
    result = cli("artifacts", run_id, "--root")  # default: $SPINE_HOME/artifacts
    assert result.code == 0, result.err
    assert [line.split()[-1] for line in result.out.splitlines()
            if line.startswith("runs/")] == ["ok", "ok"]
    assert "all intact in" in result.out

    refs = stored(store_path, run_id)
    report = refs[f"runs/{run_id}/report.txt"].checksum
    rows = refs[f"runs/{run_id}/rows.json"].checksum
    root = artifact_root(tmp_path)
    (root / "objects" / report[:2] / report[2:]).write_bytes(b"tampered\n")
    (root / "objects" / rows[:2] / rows[2:]).unlink()
    result = cli("artifacts", run_id, "--root", str(root), "--json")
    assert result.code == 1
    states = {a["key"].rsplit("/", 1)[1]: (a["state"], a["problem"])
              for a in json.loads(result.out)["artifacts"]}
    assert states["report.txt"][0] == "corrupt"
    assert "is corrupt: expected SHA-256" in states["report.txt"][1]
    assert states["rows.json"][0] == "missing"
    assert "data file" in states["rows.json"][1]
    text = cli("artifacts", run_id, "--root", str(root))
    assert text.code == 1
    assert "2 not intact in" in text.out


def test_a_run_without_artifacts_and_bad_input(cli, tmp_path: Path) -> None:
    result = cli("run", "good/cli_failing.py", "--quiet")
    run_id = RUN_LINE.match(result.out.splitlines()[0]).group(1)
    listing = cli("artifacts", run_id)
    assert listing.code == 0
    assert f"run {run_id} recorded no artifacts" in listing.out
    assert json.loads(cli("artifacts", run_id, "--json").out)["artifacts"] == []
    missing_root = tmp_path / "no-artifacts-here"
    result = cli("artifacts", run_id, "--root", str(missing_root))
    assert result.code == 2
    assert f"no artifact store at {missing_root}" in result.err
    assert not missing_root.exists()
    assert cli("artifacts", "feedfacefeedface").code == 2


def test_new_commands_have_help_with_examples(cli) -> None:
    for command in ("debug", "versions", "diff", "rollback", "analytics", "artifacts"):
        result = cli(command, "--help")
        assert result.code == 0, command
        assert "examples:" in result.out and f"spine-engine {command}" in result.out
