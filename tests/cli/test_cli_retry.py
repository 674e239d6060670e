"""``retry`` and ``replay`` (new linked runs), control commands' errors and help."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import RunControl

RUN_LINE = re.compile(r"^run ([0-9a-f]{16})  (\S+) \((\d+) steps?\)$")
CONTROL_COMMANDS = ("pause", "cancel", "resume", "retry", "replay", "approvals", "approve",
                    "reject")


@pytest.fixture
def ctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "ctl"
    folder.mkdir()
    monkeypatch.setenv("CLI_CTL_DIR", str(folder))
    return folder


def ran(ctl: Path) -> list[str]:
    path = ctl / "counter.txt"
    return path.read_text().split() if path.exists() else []


def run_id_of(text: str) -> str:
    match = RUN_LINE.match(text.splitlines()[0])
    assert match, text
    return match.group(1)


def failed_run(cli: Callable[..., Any], ctl: Path) -> str:
    """A run of cli.ctl_retry that failed at step two (one completed)."""
    result = cli("run", "cli.ctl_retry", "--paths", "control", "--param", "start=4")
    assert result.code == 1, result.err
    assert ran(ctl) == ["one", "two"]
    return run_id_of(result.out)


def test_retry_reuses_completed_outputs_and_prints_the_new_run_id_first(
        cli, run_module, ctl: Path, store_path: Path) -> None:
    old = failed_run(cli, ctl)
    (ctl / "fixed").touch()
    result = run_module("retry", old[:8])  # a real process: stdout's first line is the new id
    assert result.code == 0, result.err
    new = run_id_of(result.out)
    assert new != old and RUN_LINE.match(result.out.splitlines()[0]).group(2) == "cli.ctl_retry"
    assert f"retrying failed run {old}: 1 completed step reused, 2 to run" in result.err
    assert "one restored from the earlier attempt" in result.err
    assert 'restored · {"value": 4}' in result.out
    assert "cli.ctl_retry completed" in result.out
    assert ran(ctl) == ["one", "two", "two", "three"]  # "one" did not run again

    data = json.loads(cli("status", new, "--json").out)
    assert data["status"] == "completed" and data["params"] == {"start": 4}
    assert data["outputs"]["three"] == {"total": 41}
    assert json.loads(cli("status", old, "--json").out)["status"] == "failed"  # history kept
    assert RunControl(store_path).origin(new) == {"kind": "retry", "run_id": old, "step": "two"}


def test_retry_json_and_a_retry_that_fails_again(cli, ctl: Path) -> None:
    old = failed_run(cli, ctl)
    again = cli("retry", old, "--json")
    assert again.code == 1
    data = json.loads(again.out)
    assert data["status"] == "failed" and data["run_id"] != old
    assert run_id_of(again.err) == data["run_id"]  # the id line goes to stderr with --json
    assert ran(ctl) == ["one", "two", "two"]


def test_replay_runs_one_step_with_its_stored_inputs(cli, ctl: Path) -> None:
    (ctl / "fixed").touch()
    original = run_id_of(cli("run", "cli.ctl_retry", "--paths", "control",
                             "--param", "start=2").out)
    assert ran(ctl) == ["one", "two", "three"]
    result = cli("replay", original, "three")
    assert result.code == 0, result.err
    new = run_id_of(result.out)
    assert new != original and RUN_LINE.match(result.out.splitlines()[0]).group(3) == "1"
    assert f"replaying step three of run {original}" in result.err
    assert ran(ctl) == ["one", "two", "three", "three"]
    result = cli("replay", original, "three", "--json")
    data = json.loads(result.out)
    assert data["outputs"] == {"three": {"total": 21}} and data["status"] == "completed"
    assert run_id_of(result.err) == data["run_id"]
    assert [s["step"] for s in json.loads(cli("status", new, "--json").out)["steps"]] == [
        "three"]
    assert json.loads(cli("status", original, "--json").out)["status"] == "completed"


def test_replay_and_retry_refuse_what_does_not_fit(cli, ctl: Path) -> None:
    failed = failed_run(cli, ctl)
    result = cli("replay", failed, "three")
    assert result.code == 2
    assert "upstream step(s) two have no stored output" in result.err
    result = cli("replay", failed, "nope")
    assert result.code == 2
    assert "has no step 'nope'" in result.err and "its steps: one, two, three" in result.err
    result = cli("retry", failed, "--from", "cli.ctl_gated", "--paths", "control")
    assert result.code == 2
    assert f"defines cli.ctl_gated, but run {failed} ran cli.ctl_retry" in result.err
    (ctl / "fixed").touch()
    done = run_id_of(cli("run", "cli.ctl_retry", "--paths", "control").out)
    result = cli("retry", done)
    assert result.code == 2
    assert f"run {done} is completed; only failed, cancelled or interrupted" in result.err
    assert f"hint: replay one step with `spine-engine replay {done} STEP`" in result.err
    for argv, message in (
            (("pause", done), f"run {done} is completed; only running, waiting or queued runs "
                              "can be paused"),
            (("cancel", done), f"run {done} is completed; only running"),
            (("resume", done), "already completed"),
            (("approve", done, "deploy"), "no step of it is waiting for approval"),
            (("pause", "feedfacefeedface"), "no run 'feedfacefeedface'"),
            (("approvals", "feedfacefeedface"), "no run 'feedfacefeedface'"),
            (("retry", "feedfacefeedface"), "no run 'feedfacefeedface'")):
        result = cli(*argv)
        assert result.code == 2, argv
        assert message in result.err, (argv, result.err)
        assert "Traceback" not in result.err
    statuses = {r["run_id"]: r["status"] for r in json.loads(cli("runs", "--json").out)["runs"]}
    assert statuses == {failed: "failed", done: "completed"}  # refusals changed nothing


def test_control_commands_never_create_a_store(cli, tmp_path: Path) -> None:
    path = tmp_path / "none.db"
    for argv in (("pause", "abcd"), ("cancel", "abcd", "--wait"), ("approve", "abcd", "s"),
                 ("retry", "abcd"), ("replay", "abcd", "s")):
        result = cli(*argv, "--db", str(path))
        assert result.code == 2, argv
        assert "does not exist yet" in result.err
    listed = cli("approvals", "--db", str(path), "--json")
    assert listed.code == 0 and json.loads(listed.out)["approvals"] == []
    assert "no pending approval requests" in cli("approvals", "--db", str(path)).out
    assert not path.exists()


def test_bad_control_arguments_are_usage_errors(cli) -> None:
    for argv in (("pause",), ("cancel", "x", "--timeout", "0"), ("cancel", "x", "--timeout",
                                                                  "soon"),
                 ("approve", "x"), ("replay", "x"), ("retry",)):
        result = cli(*argv)
        assert result.code == 2, argv
        assert "usage: spine-engine" in result.err


@pytest.mark.parametrize("command", CONTROL_COMMANDS)
def test_control_commands_have_help_with_examples(cli, command: str) -> None:
    result = cli(command, "--help")
    assert result.code == 0
    assert "examples:" in result.out and f"spine-engine {command} 3f9a" in result.out
    top = cli("--help").out
    assert f"spine-engine {command} " in top
