"""The ``dask`` executor on a real ``LocalCluster`` (worker processes on 127.0.0.1), shared by
the module: same results as threads, a 1,000-item map, a killed worker, cancel, an
unreachable scheduler, live log lines and the worker each step ran on."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import executor_handlers as h
import pytest
from executor_runs import cancel_while_waiting, kill_first_attempt
from waits import wait_until

from engine import (
    DaskExecutor,
    ExecutorUnavailableError,
    ManagedWorkflow,
    RunStatus,
    RunStore,
    Step,
    TrackedWorkflowRunner,
    Workflow,
    WorkflowRunner,
)


@pytest.fixture(scope="module")
def dask() -> Iterator[DaskExecutor]:
    """One local cluster of two worker processes for every test here."""
    with DaskExecutor(n_workers=2) as executor:
        yield executor  # type: ignore[misc]


def fan_out(count: int) -> Workflow:
    return (ManagedWorkflow("dask.fan_out")
            .step("nums", h.numbers, config={"count": count})
            .step("sq", h.square, parallel=True, partition_key="item", max_workers=16)
            .step("sum", h.total)).workflow


def test_dask_gives_the_same_results_as_threads(dask: DaskExecutor) -> None:
    wf = fan_out(30)
    threads = WorkflowRunner().execute(wf)
    remote = WorkflowRunner(executor=dask).execute(wf)
    assert remote.status is RunStatus.COMPLETED
    assert remote.outputs["sum"] == threads.outputs["sum"]
    assert [r["value"] for r in remote.outputs["sq"]["results"]] == \
        [r["value"] for r in threads.outputs["sq"]["results"]]
    assert os.getpid() not in {r["pid"] for r in remote.outputs["sq"]["results"]}
    assert remote.steps["sum"].worker.startswith("dask:tcp://127.0.0.1:")


def test_a_map_of_a_thousand_items(dask: DaskExecutor) -> None:
    result = WorkflowRunner(executor=dask).execute(fan_out(1000))
    assert result.status is RunStatus.COMPLETED
    assert result.outputs["sq"]["count"] == 1000
    assert result.outputs["sum"] == {"total": sum(i * i for i in range(1000))}
    assert len({r["pid"] for r in result.outputs["sq"]["results"]}) == 2  # both workers


def test_a_killed_worker_is_retried_on_another(tmp_path: Path, dask: DaskExecutor) -> None:
    result, pid = kill_first_attempt(dask, tmp_path / "first", "dask.kill", timeout=90)
    assert result.status is RunStatus.COMPLETED, result.error
    assert result.steps["victim"].attempts == 2
    assert result.outputs["victim"]["pid"] != pid
    wait_until(lambda: len(dask.client.scheduler_info()["workers"]) == 2, timeout=60,
               what="the nanny to restart the killed worker")


def test_cancel_cancels_the_futures(tmp_path: Path, dask: DaskExecutor) -> None:
    result = cancel_while_waiting(dask, tmp_path / "flag", "dask.cancel")
    assert result.status is RunStatus.CANCELLED
    assert result.steps["wait"].status is RunStatus.CANCELLED
    wait_until(lambda: not any(key.startswith("spine-") for keys in
                               dask.client.has_what().values() for key in keys),
               what="the cancelled task to be released")


def test_tracked_run_records_dask_workers_and_log_lines(tmp_path: Path,
                                                        dask: DaskExecutor) -> None:
    wf = Workflow("dask.logs", [Step.lambda_("talk", h.chatty, config={"what": "tea"})])
    with TrackedWorkflowRunner(tmp_path / "s.db", executor=dask) as tracked:
        result = tracked.execute(wf)
    store = RunStore(tmp_path / "s.db")
    (step,) = store.step_runs(result.run_id)
    assert step.worker is not None and step.worker.startswith("dask:tcp://127.0.0.1:")
    lines = [(log.step, log.message) for log in store.logs(result.run_id)]
    assert ("talk", "spine.run: careful with tea") in lines
    assert any(msg.startswith("hello from ") for _, msg in lines)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(ExecutorUnavailableError, match="cannot reach the Dask scheduler"):
        DaskExecutor(address, connect_timeout=1).start()
    flow = tmp_path / "flow_dask.py"
    flow.write_text("from engine import ManagedWorkflow\n"
                    "def one() -> dict:\n    return {'one': 1}\n"
                    "wf = ManagedWorkflow('cli.dask').step('one', one).build()\n")
    done = subprocess.run([sys.executable, "-m", "spine_tui.engine_cli", "run", str(flow),
                           "--scheduler", address], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "SPINE_DB": str(tmp_path / "spine.db"),
                               "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"})
    assert done.returncode == 2
    assert f"cannot reach the Dask scheduler at {address}" in done.stderr
    assert not (tmp_path / "spine.db").exists() or \
        RunStore(tmp_path / "spine.db").list_runs() == []


def test_cli_runs_a_workflow_on_a_running_scheduler(tmp_path: Path, dask: DaskExecutor) -> None:
    flow = tmp_path / "flow_dask_ok.py"
    flow.write_text("from engine import ManagedWorkflow\n"
                    "def one() -> dict:\n    return {'one': 1}\n"
                    "wf = ManagedWorkflow('cli.dask_ok').step('one', one).build()\n")
    assert dask.address is not None
    done = subprocess.run([sys.executable, "-m", "spine_tui.engine_cli", "run", str(flow),
                           "--scheduler", dask.address, "--quiet"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SPINE_DB": str(tmp_path / "spine.db")})
    assert done.returncode == 0, done.stderr
    store = RunStore(tmp_path / "spine.db")
    (step,) = store.step_runs(store.list_runs()[0].run_id)
    assert step.worker is not None and step.worker.startswith("dask:tcp://127.0.0.1:")
