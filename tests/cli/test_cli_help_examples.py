"""Every example ``spine-engine --help`` prints runs, as a new user would type it.

The examples run in order in an empty folder (so the bundled samples are the catalog) that
holds only what they name as the user's own: ``flows/`` and ``ev.json``. The run id ``3f9a``
stands for a run that fits the example: a failed run for status/logs/retry/replay/debug,
a run waiting in a step for pause/cancel (resume takes the paused one), a run waiting for
approval for approve/reject; those runs are real ``spine-engine run`` processes.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from spine_tui.engine_cli import EPILOG

CLI = [sys.executable, "-m", "spine_tui.engine_cli"]
RUN_LINE = re.compile(r"^run ([0-9a-f]{16})  (\S+) \(\d+ steps?\)$")
PLACEHOLDER = "3f9a"
#: examples that cannot run to an end in a test, and why
NOT_RUN = {"serve": "starts a long-running HTTP server (tests/api covers it)"}

ETL = '''
"""The user's own flow the examples name: etl.daily (its param n matters) and a trigger."""

from engine import EventTrigger, Step, WebhookSource, Workflow


def count(n: int = 1) -> dict:
    return {"items": list(range(n))}


daily = Workflow("etl.daily", [Step.from_function("count", count)])
push = EventTrigger("push", WebhookSource(secret="HELP_EXAMPLE_SECRET"), "etl.daily",
                    param_mapping={"n": "$.n"})
'''

OPS = '''
"""Runs for the control examples: one that holds in a step, one waiting for approval, one
that fails until the file ``fixed`` exists."""

import os
import time
from pathlib import Path

from engine import ErrorCategory, Step, StepResult, Workflow


def _gate(name: str) -> Path:
    return Path(os.environ["HELP_EXAMPLE_DIR"]) / name


def hold(ctx, config):
    deadline = time.monotonic() + 60
    while not _gate("release").exists():
        if ctx.cancel_event is not None and ctx.cancel_event.is_set():
            return StepResult.fail("cancelled", category=ErrorCategory.CANCELLED)
        if time.monotonic() > deadline:
            return StepResult.fail("never released", category=ErrorCategory.TIMEOUT)
        time.sleep(0.01)
    return {"released": True}


def done(ctx, config):
    return {"done": True}


def extract(ctx, config):
    return {"rows": [1, 2, 3]}


def transform(ctx, config):
    return {"rows": [r * 2 for r in ctx.get_output("extract", "rows", [])]}


def validate(ctx, config):
    if not _gate("fixed").exists():
        return StepResult.fail("the feed is late", category=ErrorCategory.TRANSIENT)
    return {"valid": True}


gated = Workflow("ops.gated", [Step.lambda_("hold", hold), Step.lambda_("done", done)])
release = Workflow("ops.release", [Step.approval("deploy", message="Ship it?"),
                                   Step.lambda_("done", done)])
flaky = Workflow("ops.flaky", [Step.lambda_("extract", extract),
                               Step.lambda_("transform", transform),
                               Step.lambda_("validate", validate)])
'''


def examples() -> list[str]:
    """The example command lines of the top-level help (command, then its description)."""
    block = EPILOG.split("examples:\n", 1)[1].split("\n\n", 1)[0]
    lines = [line.strip() for line in block.splitlines() if line.startswith("  spine-engine ")]
    return [re.split(r"\s{2,}", line, maxsplit=1)[0] for line in lines]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder with the user's ``flows/`` and ``ev.json``; the store at its
    default place under ``$SPINE_HOME``, as for a new user."""
    work = tmp_path / "work"
    (work / "flows").mkdir(parents=True)
    (work / "flows" / "etl.py").write_text(textwrap.dedent(ETL).lstrip())
    (work / "flows" / "ops.py").write_text(textwrap.dedent(OPS).lstrip())
    (work / "ev.json").write_text(json.dumps({"n": 2}))
    monkeypatch.chdir(work)
    monkeypatch.delenv("SPINE_DB", raising=False)
    monkeypatch.setenv("HELP_EXAMPLE_DIR", str(tmp_path))
    monkeypatch.delenv("SPINE_ENV", raising=False)
    return work


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def start(procs: list[subprocess.Popen[str]], home: Path, workflow: str) -> str:
    """``spine-engine run WORKFLOW --paths flows/`` in another process; its run id."""
    proc = subprocess.Popen([*CLI, "run", workflow, "--paths", "flows/"], cwd=home,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "SPINE_DEBUG": ""})
    procs.append(proc)
    assert proc.stdout is not None
    match = RUN_LINE.match(proc.stdout.readline().rstrip("\n"))
    assert match, proc.communicate()[1]
    return match.group(1)


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_help_prints_the_examples_this_test_runs(cli) -> None:
    result = cli("--help")
    assert result.code == 0
    shown = [" ".join(line.split()) for line in result.out.splitlines()]
    for example in examples():
        assert any(line.startswith(example) for line in shown), example
    assert len(examples()) >= 20


def test_every_example_of_the_help_runs(cli, home: Path, tmp_path: Path, procs,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def status(run_id: str) -> dict[str, Any]:
        result = cli("status", run_id, "--json")
        return json.loads(result.out) if result.code == 0 else {}

    def step_status(run_id: str, step: str) -> str | None:
        return {s["step"]: s["status"] for s in status(run_id).get("steps", [])}.get(step)

    flaky = cli("run", "ops.flaky", "--paths", "flows/")
    assert flaky.code == 1, flaky.out + flaky.err  # validate fails until "fixed" exists
    failed = RUN_LINE.match(flaky.out.splitlines()[0]).group(1)  # type: ignore[union-attr]
    paused, cancelled = start(procs, home, "ops.gated"), start(procs, home, "ops.gated")
    approved, rejected = start(procs, home, "ops.release"), start(procs, home, "ops.release")
    for run_id in (paused, cancelled):
        wait_until(lambda r=run_id: step_status(r, "hold") == "running", f"{run_id} to hold")
    for run_id in (approved, rejected):
        wait_until(lambda r=run_id: status(r).get("status") == "waiting", f"{run_id} to wait")
    runs = {"pause": paused, "cancel": cancelled, "resume": paused, "approve": approved,
            "reject": rejected}

    ran = []
    for example in examples():
        argv = shlex.split(example)[1:]
        if argv[0] in NOT_RUN:
            continue
        if argv[0] == "retry":
            (tmp_path / "fixed").touch()  # the cause of the failure is fixed
        argv = [runs.get(argv[0], failed) if arg == PLACEHOLDER else arg for arg in argv]
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # debug: end of input at once
        result = cli(*argv)
        assert result.code == 0, f"{example}\n{result.out}\n{result.err}"
        assert "Traceback" not in result.out + result.err, example
        ran.append(argv[0])
        if argv[0] == "resume":
            (tmp_path / "release").touch()  # the resumed run may finish

    assert {"show", "validate", "run", "pause", "cancel", "resume", "retry", "replay",
            "approve", "reject", "debug", "export", "triggers"} <= set(ran)
    assert status(paused)["status"] == "completed"
    assert status(cancelled)["status"] == "cancelled"
    assert step_status(rejected, "deploy") == "failed"
