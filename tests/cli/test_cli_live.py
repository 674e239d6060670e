"""Runs in other processes: ``logs --follow`` on a live run, ``resume`` after ``kill -9``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine import RunStore
from spine_tui.engine_cli import main

RUN_LINE = re.compile(r"^run ([0-9a-f]{16})  (\S+) \(\d+ steps?\)$")
CLI = [sys.executable, "-m", "spine_tui.engine_cli"]


def start(resources: Path, *argv: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([*CLI, *argv], cwd=resources, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "SPINE_DEBUG": "", **(env or {})})


def first_run_id(proc: subprocess.Popen) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = RUN_LINE.match(line.rstrip("\n"))
    assert match, line
    return match.group(1)


def wait_for(stream, text: str) -> None:
    for line in stream:
        if text in line:
            return
    raise AssertionError(f"{text!r} never appeared")


def test_run_in_a_subprocess_is_seen_by_runs_status_and_logs(cli, run_module) -> None:
    result = run_module("run", "cli.complete", "--paths", "good")
    assert result.code == 0, result.err
    run_id = RUN_LINE.match(result.out.splitlines()[0]).group(1)
    listed = json.loads(cli("runs", "--json").out)["runs"]
    assert [(r["run_id"], r["status"]) for r in listed] == [(run_id, "completed")]
    assert json.loads(cli("status", run_id, "--json").out)["outputs"]["load"] == {"loaded": 16}
    assert cli("logs", run_id).out.rstrip().endswith("load stdout loading 16 rows")


def test_logs_follow_streams_a_run_in_another_process_until_it_ends(
        resources: Path, capsys: pytest.CaptureFixture[str], store_path: Path) -> None:
    proc = start(resources, "run", "follow/cli_chatty.py")
    try:
        run_id = first_run_id(proc)
        wait_for(proc.stderr, "first started")  # the run is in the store from here on
        assert proc.poll() is None
        capsys.readouterr()
        code = main(["logs", run_id[:8], "--follow"])
        out, err = capsys.readouterr()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0
    assert proc.returncode == 0
    messages = [line.split(" ", 3)[1:] for line in out.splitlines()]
    expected = [[step, "stdout", f"{step} line {n}"] for step in ("first", "second", "third")
                for n in (1, 2, 3)]
    assert messages == expected
    assert f"run {run_id} completed" in err


def test_ctrl_c_stops_following_cleanly_and_the_run_goes_on(resources: Path,
                                                             store_path: Path) -> None:
    run = start(resources, "run", "slow/cli_slow.py")
    follower = None
    try:
        run_id = first_run_id(run)
        wait_for(run.stderr, "pause started")
        follower = start(resources, "logs", run_id, "--follow")
        wait_for(follower.stderr, f"following run {run_id} (running)")
        follower.send_signal(signal.SIGINT)
        out, err = follower.communicate(timeout=30)
        run.communicate(timeout=30)
    finally:
        for proc in (run, follower):
            if proc is not None and proc.poll() is None:
                proc.kill()
    assert follower.returncode == 0, err
    assert "Traceback" not in err
    assert run.returncode == 0


def test_logs_follow_json_prints_one_object_per_line(cli) -> None:
    run_id = RUN_LINE.match(cli("run", "follow/cli_chatty.py").out.splitlines()[0]).group(1)
    result = cli("logs", run_id, "--follow", "--json", "--step", "second")
    lines = [json.loads(text) for text in result.out.splitlines()]
    assert [line["message"] for line in lines] == [f"second line {n}" for n in (1, 2, 3)]
    assert {line["stream"] for line in lines} == {"stdout"}


def test_resume_after_the_process_was_killed_does_not_rerun_completed_steps(
        cli, resources: Path, tmp_path: Path, store_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"CLI_KILL_COUNTER": str(tmp_path / "counter.txt"),
           "CLI_KILL_MARKER": str(tmp_path / "killed.marker")}
    proc = start(resources, "run", "kill/cli_kill.py", "--param", "base=10", env=env)
    run_id = first_run_id(proc)
    proc.communicate(timeout=30)
    assert proc.returncode == -9  # SIGKILL in step three
    counter = Path(env["CLI_KILL_COUNTER"])
    assert counter.read_text().split() == ["one", "two", "three"]

    status = cli("status", run_id, "--json")
    assert json.loads(status.out)["status"] == "interrupted"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)  # the recorded source is absolute: no --paths needed
    result = cli("resume", run_id[:10])
    assert result.code == 0, result.err
    assert RUN_LINE.match(result.out.splitlines()[0]).group(1) == run_id
    assert "2 completed steps kept, 3 to run" in result.err
    assert "one restored from the earlier attempt" in result.err
    assert counter.read_text().split() == ["one", "two", "three", "three", "four", "five"]

    store = RunStore(store_path)
    try:
        assert store.get_run(run_id).status == "completed"
        outputs = store.outputs(run_id)
    finally:
        store.close()
    assert outputs["one"] == {"value": 13}
    assert outputs["four"] == {"value": 17}  # built on the restored output of "one"
    again = cli("resume", run_id)
    assert again.code == 2
    assert f"run {run_id} already completed" in again.err


def test_resume_refuses_when_the_source_file_is_gone(cli, run_module, tmp_path: Path) -> None:
    flow = tmp_path / "gone_flow.py"
    flow.write_text(Path("good/cli_failing.py").read_text())
    result = cli("run", str(flow))
    assert result.code == 1
    run_id = RUN_LINE.match(result.out.splitlines()[0]).group(1)
    flow.unlink()
    result = run_module("resume", run_id)  # a fresh process: nothing registered from the file
    assert result.code == 2
    assert f"cannot rebuild workflow 'cli.failing' for run {run_id}" in result.err
    assert f"{flow}: file not found" in result.err
    assert "--from" in result.err
    assert "Traceback" not in result.err
    result = cli("resume", run_id, "--from", "good/cli_failing.py", "--json")
    assert result.code == 1  # it runs again (and fails again in "check")
    data = json.loads(result.out)
    assert data["run_id"] == run_id
    assert data["steps"]["extract"]["attempts"] == 0  # restored, not executed


def test_resume_of_a_registered_workflow_finds_it_by_name(cli, tmp_path: Path) -> None:
    from engine import Step, StepResult, Workflow, registry

    def check(ctx, config):
        return StepResult.fail("still broken")

    registry.register_workflow(Workflow("cli.registered", steps=[
        Step.wait("nap", 0), Step.lambda_("check", check)]))
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("run", "cli.registered", "--paths", str(empty))
    assert result.code == 1
    run_id = RUN_LINE.match(result.out.splitlines()[0]).group(1)
    assert json.loads(cli("status", run_id, "--json").out)["source"] == "registry:cli.registered"
    result = cli("resume", run_id, "--paths", str(empty), "--json")
    assert result.code == 1, result.err
    assert json.loads(result.out)["steps"]["nap"]["attempts"] == 0
