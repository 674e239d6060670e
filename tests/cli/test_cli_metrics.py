"""``spine-engine metrics``: the run store's metrics in the Prometheus text format, parsed with
prometheus-client's own parser."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from engine import Step, StepResult, TrackedWorkflowRunner, Workflow

Cli = Callable[..., Any]  # the conftest's ``cli``/``run_module`` fixtures


def _ok(ctx: Any, config: dict[str, Any]) -> StepResult:
    return StepResult.ok()


def _fail(ctx: Any, config: dict[str, Any]) -> StepResult:
    return StepResult.fail("late file", category="TIMEOUT")


def seed(store_path: Path) -> None:
    with TrackedWorkflowRunner(store_path) as runner:
        runner.execute(Workflow("cli.metrics", [Step.lambda_("a", _ok), Step.lambda_("b", _ok)]))
        runner.execute(Workflow("cli.metrics", [Step.lambda_("a", _ok), Step.lambda_("b", _fail)]))


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_prints_the_store_in_prometheus_format(cli: Cli,
                                                       store_path: Path) -> None:
    seed(store_path)
    outcome = cli("metrics")
    assert outcome.code == 0, outcome.err
    found = samples(outcome.out)
    assert found[("spine_workflow_runs_total",
                  (("status", "completed"), ("workflow", "cli.metrics")))] == 1
    assert found[("spine_workflow_duration_seconds_count",
                  (("status", "failed"), ("workflow", "cli.metrics")))] == 1
    assert found[("spine_workflow_step_duration_seconds_count",
                  (("step", "a"), ("workflow", "cli.metrics")))] == 2
    assert found[("spine_workflow_error_total",
                  (("category", "TIMEOUT"), ("workflow", "cli.metrics")))] == 1


def test_metrics_writes_a_file_for_a_textfile_collector(cli: Cli,
                                                        store_path: Path, tmp_path: Path) -> None:
    seed(store_path)
    target = tmp_path / "spine.prom"
    outcome = cli("metrics", "-o", str(target))
    assert outcome.code == 0 and outcome.out == ""
    assert samples(target.read_text()) == samples(cli("metrics").out)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".spine.prom")] == []


def test_metrics_of_a_missing_store_is_an_error(cli: Cli,
                                                tmp_path: Path) -> None:
    outcome = cli("metrics", "--db", str(tmp_path / "nothing.db"))
    assert outcome.code == 2
    assert "does not exist yet" in outcome.err
    assert not (tmp_path / "nothing.db").exists()


def test_metrics_in_a_real_process(run_module: Cli, store_path: Path) -> None:
    seed(store_path)
    outcome = run_module("metrics", "--db", str(store_path))
    assert outcome.code == 0, outcome.err
    assert ("spine_workflow_runs_total", (("status", "failed"), ("workflow", "cli.metrics"))
            ) in samples(outcome.out)


def test_schedules_run_serves_metrics_while_it_runs(store_path: Path, tmp_path: Path) -> None:
    """``--metrics-port 0``: the long-running command prints where its /metrics is, and a
    scrape there reads the store while the command goes on."""
    seed(store_path)
    folder = tmp_path / "flows"
    folder.mkdir()
    command = [sys.executable, "-m", "spine_tui.engine_cli", "schedules", "run",
               "--metrics-port", "0", "--paths", str(folder), "--db", str(store_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "SPINE_DEBUG": ""})
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"metrics at (http://127\.0\.0\.1:\d+/metrics)", line)
        assert match, line
        text = httpx.get(match[1], timeout=10).text
        assert process.poll() is None  # still firing schedules
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    found = samples(text)
    assert found[("spine_workflow_runs_total",
                  (("status", "failed"), ("workflow", "cli.metrics")))] == 1
    assert any(name == "process_cpu_seconds_total" for name, _ in found)  # this process's


def test_a_bad_or_busy_metrics_port_is_exit_2(cli: Cli, tmp_path: Path) -> None:
    bad = cli("schedules", "run", "--metrics-port", "70000", "--paths", str(tmp_path))
    assert bad.code == 2 and "70000 is not a port number" in bad.err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = cli("schedules", "run", "--metrics-port", str(taken.getsockname()[1]),
                   "--paths", str(tmp_path))
    assert busy.code == 2 and "cannot listen on 127.0.0.1" in busy.err


COUNTING_FLOW = '''import time
from pathlib import Path

from engine import Step, Workflow, counter


def count(ctx, config):
    counter("etl_test_rows_loaded", 5, {"source": "edgar"})
    flag = Path(config["flag"])
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return {"rows": 5}


flow = Workflow("cli.counting", [Step.lambda_("count", count, config={"flag": %r})])
'''


def test_run_serves_its_steps_metrics_while_the_run_goes_on(store_path: Path,
                                                            tmp_path: Path) -> None:
    flag = tmp_path / "go"
    path = tmp_path / "counting.py"
    path.write_text(COUNTING_FLOW % str(flag))
    command = [sys.executable, "-m", "spine_tui.engine_cli", "run", str(path), "--quiet",
               "--metrics-port", "0", "--db", str(store_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "SPINE_DEBUG": ""})
    try:
        assert process.stderr is not None
        match = re.search(r"metrics at (http://127\.0\.0\.1:\d+/metrics)",
                          process.stderr.readline())
        assert match
        url = match[1]
        deadline = time.monotonic() + 30
        while "etl_test_rows_loaded" not in (text := httpx.get(url, timeout=10).text):
            assert time.monotonic() < deadline, "the step's counter never reached /metrics"
            time.sleep(0.05)
        found = samples(text)
        assert found[("etl_test_rows_loaded_total", (("source", "edgar"),))] == 5
        assert found[("spine_workflow_runs_active",
                      (("status", "running"), ("workflow", "cli.counting")))] == 1
    finally:
        flag.write_text("go")
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
