"""``spine-engine`` as a user runs it: real subprocesses, exit codes and parseable output."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine import RunStore

RUN_LINE = re.compile(r"^run ([0-9a-f]{16})  (\S+) \(\d+ steps?\)$")


def console_script() -> list[str]:
    script = Path(sys.executable).parent / "spine-engine"
    found = str(script) if script.exists() else shutil.which("spine-engine")
    if not found:
        pytest.skip("the spine-engine console script is not installed (pip install -e .)")
    return [found]


def test_console_script_runs_a_workflow_and_prints_the_run_id_first(run_module) -> None:
    result = run_module("run", "cli.complete", "--paths", "good", command=console_script())
    assert result.code == 0, result.err
    first, *rest = result.out.splitlines()
    assert RUN_LINE.match(first).group(2) == "cli.complete"
    assert "loading 16 rows" in rest  # what a step prints is not hidden
    assert any("cli.complete completed" in line for line in rest)
    assert '{"loaded": 16}' in result.out
    assert "Traceback" not in result.err


def test_console_script_version(run_module) -> None:
    result = run_module("--version", command=console_script())
    assert result.code == 0
    assert re.match(r"spine-engine \S+", result.out)


def test_failed_run_exits_1_with_the_error_category(run_module) -> None:
    result = run_module("run", "good/cli_failing.py")
    assert result.code == 1
    assert RUN_LINE.match(result.out.splitlines()[0])
    assert "no rows to process [DATA_QUALITY]" in result.out


def test_json_run_stays_parseable_while_steps_print(run_module) -> None:
    result = run_module("run", "cli.complete", "--paths", "good", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["status"] == "completed"
    assert data["outputs"]["load"] == {"loaded": 16}
    assert "loading 16 rows" in result.err  # the step's print went to stderr
    run_id = RUN_LINE.match(result.err.splitlines()[0]).group(1)
    assert data["run_id"] == run_id


def test_syntax_error_is_reported_with_file_and_line_without_traceback(
        run_module, broken_dir: Path) -> None:
    result = run_module("run", str(broken_dir / "cli_syntax.py"))
    assert result.code == 2
    assert result.out == ""
    assert re.search(r"^error: .*cli_syntax\.py:3: ", result.err, re.MULTILINE)
    assert "hint:" in result.err
    assert "Traceback" not in result.err


def test_unknown_workflow_suggests_close_names(run_module) -> None:
    result = run_module("run", "cli.complet", "--paths", "good")
    assert result.code == 2
    assert "did you mean cli.complete" in result.err
    assert "Traceback" not in result.err


def test_malformed_yaml_reports_file_and_line(run_module, spec_yaml) -> None:
    result = run_module("validate", "yaml_bad/cli_malformed.yaml")
    assert result.code == 2
    assert re.search(r"cli_malformed\.yaml:\d+: ", result.out)
    assert "Traceback" not in result.out + result.err
    result = run_module("run", "yaml_bad/cli_malformed.yaml")
    assert result.code == 2
    assert re.search(r"^error: yaml_bad/cli_malformed\.yaml:\d+: ", result.err, re.MULTILINE)
    assert "Traceback" not in result.err


def test_spine_debug_shows_the_traceback(run_module) -> None:
    result = run_module("show", "cli.nope", "--paths", "good", env={"SPINE_DEBUG": "1"})
    assert result.code == 2
    assert "Traceback" in result.err
    assert "error: no workflow named 'cli.nope'" in result.err


def test_ctrl_c_cancels_the_run_and_exits_130(resources: Path, store_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "spine_tui.engine_cli", "run", "slow/cli_slow.py"],
        cwd=resources, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # line progress: stderr is a pipe, not a terminal
            if "pause started" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "cancelling" in err
    assert "cli.slow cancelled" in out
    assert "Traceback" not in err
    store = RunStore(store_path)
    try:
        [record] = store.list_runs()
    finally:
        store.close()
    assert record.run_id == RUN_LINE.match(out.splitlines()[0]).group(1)
    assert record.status == "cancelled"


def test_the_cli_does_not_import_textual(run_module) -> None:
    code = ("import sys, spine_tui.engine_cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'screens')))")
    result = run_module(command=[sys.executable, "-c", code])
    assert result.code == 0, result.err
    assert result.out.strip() == "[]"
