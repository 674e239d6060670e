"""The ``processes`` executor and what every executor shares: same results as threads,
handlers refused before a run, worker recorded, log lines relayed, retries after a dead
worker, timeouts, cancel, large outputs through the artifact store, and the CLI options."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import executor_handlers as h
import pytest
from executor_runs import cancel_while_waiting, kill_first_attempt

from engine import (
    ErrorCategory,
    HandlerNotPortableError,
    LocalArtifactStore,
    ManagedWorkflow,
    ProcessExecutor,
    RunStatus,
    RunStore,
    Step,
    TrackedWorkflowRunner,
    Workflow,
    WorkflowRunner,
)
from engine.executors import check_portable


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessExecutor]:
    """One pool of two worker processes for the module (spawning is the slow part)."""
    with ProcessExecutor(2) as executor:
        yield executor  # type: ignore[misc]


def fan_out(count: int = 20) -> ManagedWorkflow:
    return (ManagedWorkflow("exec.fan_out")
            .step("nums", h.numbers, config={"count": count})
            .step("sq", h.square, parallel=True, partition_key="item", max_workers=4)
            .step("sum", h.total))


def test_processes_give_the_same_results_as_threads(pool: ProcessExecutor) -> None:
    wf = fan_out().workflow
    threads = WorkflowRunner().execute(wf)
    remote = WorkflowRunner(executor=pool).execute(wf)
    assert remote.status is threads.status is RunStatus.COMPLETED
    assert remote.outputs["sum"] == threads.outputs["sum"] == {"total": sum(i * i for i in range(20))}
    values = [r["value"] for r in remote.outputs["sq"]["results"]]
    assert values == [r["value"] for r in threads.outputs["sq"]["results"]]
    assert {r["pid"] for r in remote.outputs["sq"]["results"]} - {os.getpid()}
    assert all(r["pid"] == os.getpid() for r in threads.outputs["sq"]["results"])
    assert remote.steps["sum"].worker.startswith("process:")
    assert threads.steps["sum"].worker is None


def test_a_context_handler_sees_params_and_earlier_outputs(pool: ProcessExecutor) -> None:
    wf = Workflow("exec.ctx", [Step.from_function("nums", h.numbers),
                               Step.lambda_("talk", h.chatty, config={"what": "x"})])
    result = WorkflowRunner(executor=pool).execute(wf, {"region": "eu"})
    assert result.outputs["talk"] == {"params": {"region": "eu"}, "seen": ["nums"]}


def test_a_lambda_is_refused_before_anything_runs_or_is_recorded(tmp_path: Path,
                                                                  pool: ProcessExecutor) -> None:
    wf = Workflow("exec.lambda", [Step.from_function("nums", h.numbers),
                                  Step.lambda_("bad", lambda ctx, config: {})])
    events: list[Any] = []
    with pytest.raises(HandlerNotPortableError, match="lambda") as caught:
        WorkflowRunner(executor=pool, listeners=[events.append]).execute(wf)
    assert "step 'bad'" in str(caught.value)
    assert "module level" in str(caught.value) and "executor='threads'" in str(caught.value)
    assert events == []
    with TrackedWorkflowRunner(tmp_path / "s.db", executor="processes") as tracked, \
            pytest.raises(HandlerNotPortableError):
        tracked.execute(wf)
    assert RunStore(tmp_path / "s.db").list_runs() == []
    assert WorkflowRunner().execute(wf).status is RunStatus.COMPLETED  # threads: fine


def test_closures_and_main_functions_are_refused_with_the_reason() -> None:
    def inner(item: int) -> dict[str, Any]:
        return {}

    with pytest.raises(HandlerNotPortableError, match="inside a function"):
        check_portable(inner, "s", "dask")
    scope: dict[str, Any] = {"__name__": "__main__"}
    exec("def main_fn(item):\n    return {}\n", scope)
    with pytest.raises(HandlerNotPortableError, match="__main__"):
        check_portable(scope["main_fn"], "s", "processes")
    check_portable(h.square, "s", "processes")  # importable: accepted


def test_a_per_step_executor_moves_only_that_step(pool: ProcessExecutor) -> None:
    wf = Workflow("exec.mixed", [Step.from_function("nums", h.numbers),
                                 Step.from_function("sq", h.square, config={"item": 3})
                                 .with_changes(executor="processes")])
    result = WorkflowRunner().execute(wf)
    assert result.steps["nums"].worker is None
    assert result.steps["sq"].worker.startswith("process:")
    assert result.outputs["sq"]["value"] == 9


def test_skip_if_is_asked_on_the_coordinator(pool: ProcessExecutor) -> None:
    wf = Workflow("exec.skip", [Step.from_function("sq", h.square, config={"item": 2},
                                                   skip_if="params.dry")])
    runner = WorkflowRunner(executor=pool)
    assert runner.execute(wf, {"dry": True}).steps["sq"].status is RunStatus.SKIPPED
    assert runner.execute(wf, {"dry": False}).outputs["sq"]["value"] == 4


def test_a_failing_handler_fails_the_step_with_its_error(pool: ProcessExecutor) -> None:
    wf = Workflow("exec.fail", [Step.from_function("bad", h.failing, config={"item": 7})])
    result = WorkflowRunner(executor=pool).execute(wf)
    step = result.steps["bad"]
    assert result.status is RunStatus.FAILED
    assert step.error == "ValueError: bad item 7"
    assert step.error_type == "ValueError" and "raise ValueError" in (step.traceback or "")


def test_tracked_run_records_the_worker_and_relays_log_lines(tmp_path: Path,
                                                             pool: ProcessExecutor) -> None:
    wf = Workflow("exec.logs", [Step.lambda_("talk", h.chatty, config={"what": "tea"}),
                                Step.from_function("sq", h.square, config={"item": 5})])
    with TrackedWorkflowRunner(tmp_path / "s.db", executor=pool) as tracked:
        result = tracked.execute(wf)
    assert result.status is RunStatus.COMPLETED
    store = RunStore(tmp_path / "s.db")
    steps = {s.step: s for s in store.step_runs(result.run_id)}
    pid = result.outputs["sq"]["pid"]
    assert steps["sq"].worker is not None and steps["sq"].worker.endswith(f":{pid}")
    assert pid != os.getpid()
    lines = [(log.step, log.message) for log in store.logs(result.run_id)]
    assert any(step == "talk" and msg.startswith("hello from ") for step, msg in lines)
    assert ("talk", "spine.run: careful with tea") in lines


def test_a_large_output_comes_back_through_the_artifact_store(tmp_path: Path,
                                                              pool: ProcessExecutor) -> None:
    store = LocalArtifactStore(tmp_path / "artifacts")
    wf = Workflow("exec.big", [Step.from_function("big", h.big, config={"size": 1_500_000})])
    result = WorkflowRunner(executor=pool, artifact_store=store).execute(wf)
    assert result.outputs["big"]["blob"] == "x" * 1_500_000
    assert store.list(prefix="_executor") == []  # the temporary artifact is gone


def test_a_killed_worker_is_retried_by_the_step_policy(tmp_path: Path) -> None:
    with ProcessExecutor(2) as executor:
        result, pid = kill_first_attempt(executor, tmp_path / "first", "exec.kill", timeout=60)
    assert result.status is RunStatus.COMPLETED
    assert result.steps["victim"].attempts == 2
    assert result.outputs["victim"]["pid"] != pid


def test_a_timeout_fails_the_step_without_waiting_for_the_worker(pool: ProcessExecutor) -> None:
    wf = Workflow("exec.timeout", [Step.from_function("slow", h.slow, config={"seconds": 3},
                                                      timeout_seconds=0.3)])
    result = WorkflowRunner(executor=pool).execute(wf)
    step = result.steps["slow"]
    assert step.status is RunStatus.FAILED and step.error_category == ErrorCategory.TIMEOUT.value
    assert "0.3s" in (step.error or "") and result.duration_seconds < 2.5


def test_cancel_stops_a_run_waiting_on_a_worker(tmp_path: Path, pool: ProcessExecutor) -> None:
    result = cancel_while_waiting(pool, tmp_path / "flag", "exec.cancel")
    assert result.status is RunStatus.CANCELLED
    assert result.steps["wait"].status is RunStatus.CANCELLED
    assert result.steps["after"].status is not RunStatus.COMPLETED


def test_parallel_step_fans_out_over_the_named_partitions(pool: ProcessExecutor) -> None:
    wf = (ManagedWorkflow("exec.r5", executor="processes")
          .step("expand", h.numbers, config={"count": 3})
          .step("sq", h.square, parallel=True, partition_key="item", max_workers=2))
    assert wf.workflow.executor == "processes"
    result = wf.run()
    assert [r["value"] for r in result.outputs["sq"]["results"]] == [0, 1, 4]
    with pytest.raises(ValueError, match="parallel=True"):
        ManagedWorkflow("x").step("a", h.numbers, partition_key="q")


# --------------------------------------------------------------------------- CLI
FLOW = textwrap.dedent("""
    from engine import ManagedWorkflow

    def numbers(count: int = 4) -> dict:
        return {"numbers": list(range(count))}

    def square(item: int) -> dict:
        print(f"squaring {item}")
        return {"value": item * item}

    wf = (ManagedWorkflow("cli.exec")
          .step("nums", numbers)
          .step("sq", square, parallel=True, partition_key="item", max_workers=2)
          .build())
""")


def spine(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "spine_tui.engine_cli", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SPINE_DB": str(cwd / "spine.db")})


def test_cli_runs_on_processes_and_records_the_workers(tmp_path: Path) -> None:
    (tmp_path / "flow_exec.py").write_text(FLOW)
    done = spine("run", "flow_exec.py", "--executor", "processes", "--workers", "2",
                 "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    store = RunStore(tmp_path / "spine.db")
    run = store.list_runs()[0]
    items = [s for s in store.step_runs(run.run_id) if s.step.startswith("sq[")]
    assert len(items) == 4 and all(s.worker and s.worker.startswith("process:") for s in items)
    assert {log.message for log in store.logs(run.run_id)} >= {f"squaring {i}" for i in range(4)}


def test_cli_bad_executor_input_exits_2_before_anything_runs(tmp_path: Path) -> None:
    (tmp_path / "flow_exec.py").write_text(FLOW)
    (tmp_path / "flow_lambda.py").write_text(
        "from engine import Step, Workflow\n"
        "wf = Workflow('cli.lambda', [Step.lambda_('x', lambda ctx, config: {})])\n")
    bad_address = spine("run", "flow_exec.py", "--scheduler", "localhost:8786", cwd=tmp_path)
    assert bad_address.returncode == 2 and "tcp://HOST:PORT" in bad_address.stderr
    clash = spine("run", "flow_exec.py", "--executor", "processes", "--scheduler",
                  "tcp://127.0.0.1:8786", cwd=tmp_path)
    assert clash.returncode == 2 and "--executor dask" in clash.stderr
    refused = spine("run", "flow_lambda.py", "--executor", "processes", cwd=tmp_path)
    assert refused.returncode == 2 and "lambda" in refused.stderr
    assert not (tmp_path / "spine.db").exists() or RunStore(tmp_path / "spine.db").list_runs() == []
