"""``list``, ``show`` and ``validate`` called in-process through ``main(argv)``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from spine_tui.engine_cli import catalog


def test_list_prints_a_table_and_load_errors_but_exits_0(cli, broken_dir: Path) -> None:
    result = cli("list", "good", str(broken_dir))
    assert result.code == 0
    for name in ("cli.complete", "cli.failing", "cli.flaky", "cli.params"):
        assert name in result.out
    assert "parallel ×2" in result.out
    assert "good/cli_complete.py" in result.out
    assert "cli_syntax.py:3: " in result.out
    assert "1 file failed to load" in result.out


def test_list_json_has_workflows_and_errors(cli, broken_dir: Path) -> None:
    result = cli("list", "good", str(broken_dir), "--json")
    assert result.code == 0
    data = json.loads(result.out)
    by_name = {w["name"]: w for w in data["workflows"]}
    assert by_name["cli.complete"]["steps"] == 4
    assert by_name["cli.complete"]["mode"] == "parallel"
    assert by_name["cli.complete"]["tags"] == ["cli", "diamond"]
    assert by_name["cli.params"]["schedule"] == "0 6 * * *"
    [error] = data["errors"]
    assert error["path"].endswith("cli_syntax.py")
    assert error["line"] == 3
    assert error["error_type"] == "SyntaxError"


def test_list_exits_2_when_a_path_does_not_exist(cli) -> None:
    result = cli("list", "good", "no/such/folder")
    assert result.code == 2
    assert "error: no such file or directory: no/such/folder" in result.err
    assert result.out == ""


def test_list_defaults_to_the_workflows_folder(cli, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "workflows").mkdir()
    shutil.copy(Path("good/cli_params.py"), tmp_path / "workflows" / "cli_params.py")
    monkeypatch.chdir(tmp_path)
    data = json.loads(cli("list", "--json").out)
    assert [w["name"] for w in data["workflows"]] == ["cli.params"]


def test_show_prints_steps_dependencies_and_layers(cli) -> None:
    result = cli("show", "cli.complete", "--paths", "good")
    assert result.code == 0
    out = result.out
    assert "Two fetches joined and loaded." in out
    assert "parallel (max_concurrency 2, on_failure stop)" in out
    assert "fetch_a, fetch_b" in out  # combine's resolved dependencies
    assert "(root)" in out
    assert "30s" in out
    assert "1. fetch_a, fetch_b" in out
    assert "2. combine" in out
    assert "3. load" in out


def test_show_a_file_resolves_implicit_dependencies(cli) -> None:
    result = cli("show", "good/cli_failing.py")
    assert result.code == 0
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.split("│")[1:-1]]
                                          for line in result.out.splitlines()
                                          if line.startswith("│"))}
    # depends_on=None means "after the previous step"
    assert rows["extract"][3] == "(root)"
    assert rows["check"][3] == "extract"
    assert rows["publish"][3] == "check"


def test_show_retry_policy(cli) -> None:
    result = cli("show", "good/cli_flaky.py")
    assert "3× from 0s (×2)" in result.out


def test_show_json_adds_resolved_edges_and_layers(cli) -> None:
    result = cli("show", "cli.complete", "--paths", "good", "--json")
    assert result.code == 0
    data = json.loads(result.out)
    assert data["name"] == "cli.complete"
    assert [s["name"] for s in data["steps"]] == ["fetch_a", "fetch_b", "combine", "load"]
    assert ["fetch_a", "combine"] in data["edges"]
    assert ["combine", "load"] in data["edges"]
    assert data["layers"] == [["fetch_a", "fetch_b"], ["combine"], ["load"]]
    assert data["source"].endswith("cli_complete.py")


def test_show_json_and_yaml_are_exclusive(cli) -> None:
    result = cli("show", "cli.complete", "--paths", "good", "--json", "--yaml")
    assert result.code == 2
    assert "not allowed with argument" in result.err


def test_show_yaml_exports_a_spec(cli, spec_yaml) -> None:
    result = cli("show", "cli.from_yaml", "--paths", "yaml", "--yaml")
    assert result.code == 0, result.err
    assert "cli.yaml.double" in result.out
    assert "name: cli.from_yaml" in result.out


def test_show_unknown_name_suggests_close_ones(cli) -> None:
    result = cli("show", "cli.faling", "--paths", "good")
    assert result.code == 2
    assert "did you mean cli.failing" in result.err
    assert "hint: " in result.err


def test_show_missing_file(cli) -> None:
    result = cli("show", "good/nope.py")
    assert result.code == 2
    assert "error: no such file: good/nope.py" in result.err


def test_validate_valid_files(cli) -> None:
    result = cli("validate", "good/cli_complete.py", "good/cli_params.py")
    assert result.code == 0
    assert "✓ cli.complete (4 steps)" in result.out
    assert "✓ cli.params (1 step)" in result.out
    assert "2 valid, 0 problems" in result.out


def test_validate_a_folder(cli) -> None:
    result = cli("validate", "good")
    assert result.code == 0
    assert result.out.count("✓") == 4


def test_validate_reports_unregistered_pipelines(cli) -> None:
    result = cli("validate", "good/cli_params.py", "bad/cli_unknown_pipeline.py")
    assert result.code == 2
    assert "✓ cli.params" in result.out
    assert "✗ bad/cli_unknown_pipeline.py: unknown pipeline(s) in workflow 'cli.orphan': " \
           "cli.no_such_pipeline" in result.out


def test_validate_reports_load_errors_with_line(cli, broken_dir: Path) -> None:
    result = cli("validate", str(broken_dir / "cli_syntax.py"), "missing.py")
    assert result.code == 2
    assert "cli_syntax.py:3: " in result.out
    assert "✗ missing.py: no such file or directory" in result.out


def test_validate_json(cli, broken_dir: Path) -> None:
    result = cli("validate", "good/cli_complete.py", "bad/cli_unknown_pipeline.py",
                 str(broken_dir / "cli_syntax.py"), "--json")
    assert result.code == 2
    data = json.loads(result.out)
    assert data["valid"] is False
    by_name = {w["name"]: w for w in data["workflows"]}
    assert by_name["cli.complete"]["valid"] is True
    assert by_name["cli.orphan"]["valid"] is False
    assert "cli.no_such_pipeline" in by_name["cli.orphan"]["problems"][0]
    assert data["errors"][0]["line"] == 3


def test_validate_warns_about_a_file_without_workflows(cli) -> None:
    result = cli("validate", "yaml/cli_yaml_pipelines.py")
    assert result.code == 0
    assert "! yaml/cli_yaml_pipelines.py: defines no workflow" in result.out


def test_validate_yaml_with_its_pipelines(cli, spec_yaml) -> None:
    result = cli("validate", "yaml")
    assert result.code == 0, result.out
    assert "✓ cli.from_yaml (1 step)" in result.out


@pytest.mark.parametrize("command", ["list", "show", "validate", "run"])
def test_every_command_has_help_with_examples(cli, command: str) -> None:
    result = cli(command, "--help")
    assert result.code == 0
    assert "examples:" in result.out
    assert f"spine-engine {command}" in result.out


def test_top_level_help_version_and_usage_errors(cli) -> None:
    assert "exit status:" in cli("--help").out
    version = cli("--version")
    assert version.code == 0 and version.out.startswith("spine-engine ")
    missing = cli()
    assert missing.code == 2
    assert "required: COMMAND" in missing.err
    assert cli("frobnicate").code == 2


def test_unexpected_errors_are_one_line_unless_debugging(
        cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(paths: object = None) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(catalog, "discover", explode)
    result = cli("list", "good")
    assert result.code == 2
    assert "error: RuntimeError: disk on fire" in result.err
    assert "SPINE_DEBUG=1" in result.err
    assert "Traceback" not in result.err
    monkeypatch.setenv("SPINE_DEBUG", "1")
    assert "Traceback" in cli("list", "good").err


def test_show_yaml_of_an_inexpressible_workflow_exits_2(cli, spec_yaml, tmp_path: Path) -> None:
    (tmp_path / "cli_lambda.py").write_text(
        "from engine import Step, Workflow\n\n"
        "wf = Workflow('cli.lambda', steps=[Step.from_function('a', lambda: {})])\n")
    result = cli("show", str(tmp_path / "cli_lambda.py"), "--yaml")
    assert result.code == 2
    assert result.out == ""
    assert "error: cli.lambda cannot be written as YAML: step 'a'" in result.err
