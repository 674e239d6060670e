"""``run`` called in-process: params, exit codes, summaries, JSON and line progress."""

from __future__ import annotations

import json
import re

RUN_LINE = re.compile(r"^run ([0-9a-f]{16})  (\S+) \(\d+ steps?\)$")


def test_param_values_arrive_typed(cli) -> None:
    result = cli("run", "good/cli_params.py", "--param", "n=3", "--param", "label=Ada",
                 "--param", "flags=[1, true]", "--json")
    assert result.code == 0, result.err
    output = json.loads(result.out)["outputs"]["inspect"]
    assert output == {"n": 3, "n_type": "int", "doubled": 6, "label": "Ada",
                      "flags": [1, True]}
    assert json.loads(result.out)["params"]["n"] == 3


def test_workflow_defaults_apply_when_no_param_overrides_them(cli) -> None:
    result = cli("run", "cli.params", "--paths", "good", "--param", "n=0.5", "--json")
    output = json.loads(result.out)["outputs"]["inspect"]
    assert output["n_type"] == "float"
    assert output["label"] == "default"


def test_bad_param_syntax_exits_2_before_anything_runs(cli) -> None:
    result = cli("run", "good/cli_params.py", "--param", "n")
    assert result.code == 2
    assert result.out == ""
    assert "error: param 'n' is not key=value" in result.err
    assert "hint: use --param key=value" in result.err


def test_completed_run_summary(cli) -> None:
    result = cli("run", "cli.complete", "--paths", "good")
    assert result.code == 0
    lines = result.out.splitlines()
    assert RUN_LINE.match(lines[0]).group(2) == "cli.complete"
    summary = next(line for line in lines if "cli.complete completed" in line)
    assert RUN_LINE.match(lines[0]).group(1) in summary
    assert '{"total": 16}' in result.out


def test_failed_run_exits_1_and_names_the_step_and_category(cli) -> None:
    result = cli("run", "good/cli_failing.py")
    assert result.code == 1
    assert "cli.failing failed" in result.out
    assert "no rows to process [DATA_QUALITY]" in result.out
    assert "not run: step 'check' failed" in result.out
    assert "step 'check' failed: no rows to process [DATA_QUALITY]" in result.out


def test_failed_run_json(cli) -> None:
    result = cli("run", "good/cli_failing.py", "--json")
    assert result.code == 1
    data = json.loads(result.out)
    assert data["status"] == "failed"
    assert data["error_step"] == "check"
    assert data["steps"]["check"]["error_category"] == "DATA_QUALITY"
    assert data["steps"]["publish"]["status"] == "skipped"
    assert RUN_LINE.match(result.err.splitlines()[0]).group(1) == data["run_id"]


def test_retries_show_in_progress_and_summary(cli) -> None:
    result = cli("run", "cli.flaky", "--paths", "good")
    assert result.code == 0
    # stderr is not a terminal here, so progress is one line per event
    assert "↻ flaky failed: connection reset [TRANSIENT]; attempt 2 in 0s" in result.err
    assert "▶ flaky started (attempt 2)" in result.err
    row = next(line for line in result.out.splitlines() if line.startswith("✓  flaky"))
    assert row.split()[3] == "2"  # attempts


def test_quiet_prints_the_run_id_and_one_line(cli) -> None:
    result = cli("run", "good/cli_failing.py", "--quiet")
    assert result.code == 1
    lines = result.out.splitlines()
    assert RUN_LINE.match(lines[0])
    assert "cli.failing failed" in lines[1]
    assert lines[2].strip() == "step 'check' failed: no rows to process"
    assert len(lines) == 3
    assert result.err == ""


def test_json_quiet_prints_only_json(cli) -> None:
    result = cli("run", "good/cli_params.py", "--param", "n=1", "--json", "--quiet")
    assert result.code == 0
    assert json.loads(result.out)["status"] == "completed"
    assert result.err == ""


def test_unknown_pipeline_exits_2_after_the_run_id(cli) -> None:
    result = cli("run", "cli.orphan", "--paths", "bad")
    assert result.code == 2
    assert RUN_LINE.match(result.out.splitlines()[0])
    assert "error: unknown pipeline(s) in workflow 'cli.orphan': cli.no_such_pipeline" \
        in result.err
    assert "spine-engine validate bad/cli_unknown_pipeline.py" in result.err


def test_unknown_workflow_exits_2(cli) -> None:
    result = cli("run", "cli.nothing_like_it", "--paths", "good")
    assert result.code == 2
    assert "no workflow named 'cli.nothing_like_it'" in result.err
    assert result.out == ""


def test_missing_paths_exit_2(cli) -> None:
    result = cli("run", "cli.complete", "--paths", "nowhere")
    assert result.code == 2
    assert "no such file or directory: nowhere" in result.err


def test_yaml_workflow_runs_with_pipelines_from_its_folder(cli, spec_yaml) -> None:
    result = cli("run", "yaml/cli_yaml.yaml", "--paths", "yaml", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["outputs"]["double"] == {"doubled": 42}


SECRET_FLOW = '''from engine import Step, Workflow


def connect(ctx, config):
    return {"connected": True}


flow = Workflow("cli.needs_secret", [
    Step.lambda_("connect", connect, config={"password": "%s"}),
])
'''


def test_a_missing_secret_fails_the_run_as_configuration_and_exits_2(cli, tmp_path,
                                                                     monkeypatch) -> None:
    monkeypatch.delenv("SPINE_TEST_CLI_SECRET", raising=False)
    path = tmp_path / "needs_secret.py"
    path.write_text(SECRET_FLOW % "secret:env:SPINE_TEST_CLI_SECRET")
    result = cli("run", str(path))
    assert result.code == 2, result.out + result.err
    assert "SPINE_TEST_CLI_SECRET" in result.out and "[CONFIGURATION]" in result.out
    monkeypatch.setenv("SPINE_TEST_CLI_SECRET", "s3cr3t-value")
    again = cli("run", str(path), "--json")
    assert again.code == 0, again.err
    assert "s3cr3t-value" not in again.out


def test_a_malformed_secret_reference_is_refused_before_the_run(cli, tmp_path) -> None:
    path = tmp_path / "malformed_secret.py"
    path.write_text(SECRET_FLOW % "secret:env:bad name")
    result = cli("run", str(path))
    assert result.code == 2
    assert result.out == ""
    assert "step 'connect'" in result.err and "config key 'password'" in result.err
    assert "malformed secret reference" in result.err
