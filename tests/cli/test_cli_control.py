"""``pause``, ``cancel``, ``resume`` of a paused run, approvals: a real ``spine-engine run`` in
another process, controlled from the test through the same store file."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

RUN_LINE = re.compile(r"^run ([0-9a-f]{16})  (\S+) \(\d+ steps?\)$")
CLI = [sys.executable, "-m", "spine_tui.engine_cli"]
RESOURCES = Path(__file__).resolve().parent.parent / "resources" / "cli"
EXIT_CANCELLED = 130


@pytest.fixture
def ctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the fixture workflows write their counter and look for gate files."""
    folder = tmp_path / "ctl"
    folder.mkdir()
    monkeypatch.setenv("CLI_CTL_DIR", str(folder))
    monkeypatch.delenv("SPINE_ENV", raising=False)  # "dev" would auto-approve
    return folder


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def start_run(procs: list[subprocess.Popen[str]], workflow: str,
              *argv: str) -> tuple[subprocess.Popen[str], str]:
    """``spine-engine run WORKFLOW`` in a subprocess; returns it and the run id it prints first."""
    proc = subprocess.Popen([*CLI, "run", workflow, "--paths", "control", *argv], cwd=RESOURCES,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "SPINE_DEBUG": ""})
    procs.append(proc)
    assert proc.stdout is not None
    line = proc.stdout.readline().rstrip("\n")
    match = RUN_LINE.match(line)
    if not match:
        proc.kill()
        raise AssertionError(f"no run id line: {line!r}\n{proc.communicate()[1]}")
    return proc, match.group(1)


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def ran(ctl: Path) -> list[str]:
    path = ctl / "counter.txt"
    return path.read_text().split() if path.exists() else []


def status(cli: Callable[..., Any], run_id: str) -> dict[str, Any]:
    result = cli("status", run_id, "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)  # type: ignore[no-any-return]


def run_status(cli: Callable[..., Any], run_id: str) -> str | None:
    """The run's status; None while the starting process has not written the run yet."""
    result = cli("status", run_id, "--json")
    return json.loads(result.out)["status"] if result.code == 0 else None


def step_status(cli: Callable[..., Any], run_id: str, step: str) -> str | None:
    steps = {s["step"]: s["status"] for s in status(cli, run_id)["steps"]}
    return steps.get(step)


# ---------------------------------------------------------------------- pause / resume
def test_pause_wait_holds_the_run_and_resume_lets_it_finish(cli, ctl: Path, procs) -> None:
    proc, run_id = start_run(procs, "cli.ctl_gated")
    wait_until(lambda: "hold" in ran(ctl), "the hold step to start")
    result = cli("pause", run_id[:8], "--wait", "--timeout", "20", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"run_id": run_id, "workflow": "cli.ctl_gated",
                                      "request": "pause", "status": "paused", "waited": True}
    (ctl / "release").touch()  # the running step finishes; nothing new starts
    wait_until(lambda: step_status(cli, run_id, "hold") == "completed", "hold to finish")
    time.sleep(0.5)  # a few of the run's poll intervals
    assert ran(ctl) == ["s0", "hold"]
    assert status(cli, run_id)["status"] == "paused"
    shown = cli("status", run_id)
    assert re.search(r"^status\s+paused\s*$", shown.out, re.MULTILINE), shown.out
    assert cli("pause", run_id).code == 0  # already paused: nothing to do, not an error

    result = cli("resume", run_id)
    assert result.code == 0, result.err
    assert f"resumed run {run_id} (cli.ctl_gated): it was paused" in result.out
    code, out, err = finish(proc)
    assert code == 0, err
    assert "cli.ctl_gated completed" in out
    assert ran(ctl) == ["s0", "hold", "s2", "s3"]  # nothing ran twice
    assert status(cli, run_id)["status"] == "completed"


def test_resume_right_after_pause_cancels_the_pending_pause(cli, ctl: Path, procs) -> None:
    proc, run_id = start_run(procs, "cli.ctl_gated")
    wait_until(lambda: "hold" in ran(ctl), "the hold step to start")
    result = cli("pause", run_id)
    assert result.code == 0, result.err
    assert f"pause requested for run {run_id} (cli.ctl_gated), now running" in result.out
    result = cli("resume", run_id, "--json")  # the pause may not have been applied yet
    assert result.code == 0, result.err
    assert json.loads(result.out)["request"] == "resume"
    (ctl / "release").touch()
    code, _, err = finish(proc)
    assert code == 0, err
    assert ran(ctl) == ["s0", "hold", "s2", "s3"]


# ---------------------------------------------------------------------- cancel
def test_cancel_wait_ends_the_run_and_its_process_exits_130(cli, ctl: Path, procs) -> None:
    proc, run_id = start_run(procs, "cli.ctl_gated")
    wait_until(lambda: "hold" in ran(ctl), "the hold step to start")
    result = cli("cancel", run_id, "--wait", "--timeout", "20")
    assert result.code == 0, result.err
    assert result.out.strip() == f"run {run_id} (cli.ctl_gated) is cancelled"
    code, out, err = finish(proc)
    assert code == EXIT_CANCELLED, err
    assert "cli.ctl_gated cancelled" in out
    assert ran(ctl) == ["s0", "hold"]
    data = status(cli, run_id)
    assert data["status"] == "cancelled"
    assert {s["step"]: s["status"] for s in data["steps"]}["s0"] == "completed"


def test_cancel_wait_times_out_on_a_step_that_cannot_stop(cli, ctl: Path, procs) -> None:
    proc, run_id = start_run(procs, "cli.ctl_gated", "--param", "stubborn=true")
    wait_until(lambda: "hold" in ran(ctl), "the hold step to start")
    result = cli("cancel", run_id, "--wait", "--timeout", "0.3")
    assert result.code == 2
    assert f"error: run {run_id} is still running after 0.3s" in result.err
    assert "hint: the request stays queued" in result.err
    (ctl / "release").touch()  # the step ends; the cancel asked for before still applies
    code, _, err = finish(proc)
    assert code == EXIT_CANCELLED, err
    assert ran(ctl) == ["s0", "hold"]
    for command in ("cancel", "pause"):  # a finished run: exit 2 with the reason
        result = cli(command, run_id)
        assert result.code == 2, command
        assert f"error: run {run_id} is cancelled; only running" in result.err
        assert "Traceback" not in result.err
    result = cli("resume", run_id, "--json")  # a cancelled run is resumed here, not un-paused
    assert result.code == 0, result.err
    assert json.loads(result.out)["status"] == "completed"
    assert ran(ctl) == ["s0", "hold", "s2", "s3"]  # hold had completed: it is kept


# ---------------------------------------------------------------------- approvals
def test_approve_lets_a_waiting_run_finish(cli, ctl: Path, procs) -> None:
    proc, run_id = start_run(procs, "cli.ctl_approval")
    listed = wait_until(lambda: json.loads(cli("approvals", "--json").out)["approvals"],
                        "a pending approval")
    assert [(a["run_id"], a["step"], a["status"], a["message"], a["workflow"])
            for a in listed] == [(run_id, "deploy_approval", "pending",
                                  "Deploy model v3 to production?", "cli.ctl_approval")]
    wait_until(lambda: run_status(cli, run_id) == "waiting", "the run to wait")
    table = cli("approvals", run_id).out
    assert "deploy_approval" in table and "Deploy model v3" in table
    assert f"spine-engine approve {run_id} deploy_approval" in table
    assert re.search(r"^approval\s+deploy_approval waits", cli("status", run_id).out,
                     re.MULTILINE)
    assert ran(ctl) == ["build"]

    result = cli("approve", run_id[:8], "deploy_approval", "--by", "alice",
                 "--comment", "ship it")
    assert result.code == 0, result.err
    assert (f"approved deploy_approval of run {run_id} (cli.ctl_approval) by alice (ship it)"
            in result.out)
    code, _, err = finish(proc)
    assert code == 0, err
    assert ran(ctl) == ["build", "deploy"]
    data = status(cli, run_id)
    assert data["status"] == "completed" and data["pending_approvals"] == []
    assert data["outputs"]["deploy_approval"] == {"approved": True, "by": "alice",
                                                  "comment": "ship it"}
    assert "no pending approval requests" in cli("approvals").out
    (decided,) = json.loads(cli("approvals", "--all", "--json").out)["approvals"]
    assert (decided["status"], decided["decided_by"], decided["comment"]) == (
        "approved", "alice", "ship it")
    assert "by alice" in cli("approvals", "--all").out
    again = cli("reject", run_id, "deploy_approval")
    assert again.code == 2
    assert "already approved by alice" in again.err and "Traceback" not in again.err


def test_reject_fails_the_run_with_category_rejected(cli, ctl: Path, procs) -> None:
    proc, run_id = start_run(procs, "cli.ctl_approval")
    wait_until(lambda: json.loads(cli("approvals", "--json").out)["approvals"],
               "a pending approval")
    wrong = cli("approve", run_id, "deploy")
    assert wrong.code == 2
    assert "has no approval step 'deploy'; waiting for approval: deploy_approval" in wrong.err
    result = cli("reject", run_id, "deploy_approval", "--by", "risk", "--comment", "too risky",
                 "--json")
    assert result.code == 0, result.err
    decided = json.loads(result.out)
    assert (decided["status"], decided["decided_by"]) == ("rejected", "risk")
    code, out, err = finish(proc)
    assert code == 1, err
    assert "[REJECTED]" in out
    data = status(cli, run_id)
    assert data["status"] == "failed" and data["error_step"] == "deploy_approval"
    steps = {s["step"]: s for s in data["steps"]}
    assert steps["deploy_approval"]["error_category"] == "REJECTED"
    assert "rejected by risk: too risky" in steps["deploy_approval"]["error"]
    assert ran(ctl) == ["build"]


def test_a_decision_for_a_run_whose_process_died_applies_on_resume(cli, ctl: Path,
                                                                  procs) -> None:
    proc, run_id = start_run(procs, "cli.ctl_approval")
    wait_until(lambda: run_status(cli, run_id) == "waiting", "the run to wait")
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    result = cli("approve", run_id, "deploy_approval", "--by", "bob")
    assert result.code == 0, result.err
    assert (f"the run is interrupted: `spine-engine resume {run_id}` continues it past this "
            "step") in result.out
    result = cli("resume", run_id, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["outputs"]["deploy_approval"]["by"] == "bob"
    assert ran(ctl) == ["build", "deploy"]  # "build" kept, not run again
