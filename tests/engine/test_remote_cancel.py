"""Cancel end to end on remote executors: ``RunControl(store).cancel(run_id)`` (what
``spine-engine cancel`` and the workbench do) from another thread, of a tracked run whose map
items run on the ``processes`` executor or on a Dask ``LocalCluster``: the run ends
``cancelled`` promptly, queued tasks are cancelled and never start, nothing after the map
starts, and a pool the run started for itself does not keep the run waiting for the
abandoned calls."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import executor_handlers as h
import pytest
from waits import wait_until

from engine import (
    DaskExecutor,
    ProcessExecutor,
    RunControl,
    RunStatus,
    RunStore,
    Step,
    TrackedWorkflowRunner,
    Workflow,
    WorkflowRunner,
)

ITEMS = 8  # on two workers: two run, six wait in the executor's queue
POLL = 0.05


@pytest.fixture(scope="module")
def dask() -> Iterator[DaskExecutor]:
    """One local cluster of two single-threaded worker processes for this module."""
    with DaskExecutor(n_workers=2) as executor:
        yield executor  # type: ignore[misc]


def held_map(name: str) -> Workflow:
    """A map whose items each wait for their own flag file (the test's release), then a
    step that must never start once the run is cancelled."""
    item = Step.from_function("hold", h.wait_for_file, config={"timeout": 60.0})
    return Workflow(name, [Step.map("fan", "$.params.flags", [item], max_concurrency=ITEMS),
                           Step.from_function("after", h.numbers)])


def flags(folder: Path, count: int) -> list[dict[str, str]]:
    return [{"flag": str(folder / f"item{i}")} for i in range(count)]


def started(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("item*.pid")}


class Launched:
    """A tracked run on a thread of its own, as a front end starts one."""

    def __init__(self, db: Path, wf: Workflow, params: dict[str, Any], executor: Any) -> None:
        self.run_id = f"cancel-{wf.name}-{time.monotonic_ns()}"
        self.box: dict[str, Any] = {}
        self.runner = TrackedWorkflowRunner(db, executor=executor, poll_interval=POLL)
        self.thread = threading.Thread(target=self._go, args=(wf, params), daemon=True)
        self.thread.start()

    def _go(self, wf: Workflow, params: dict[str, Any]) -> None:
        try:
            self.box["result"] = self.runner.execute(wf, params, run_id=self.run_id)
        finally:
            self.runner.close()


def cancel_from_outside(db: Path, run_id: str) -> float:
    """Cancel as ``spine-engine cancel`` does; returns seconds until the store says cancelled."""
    control = RunControl(db)
    try:
        asked = time.monotonic()
        control.cancel(run_id)
        record = control.wait(run_id, timeout=15, poll=0.02)
        assert record.status is RunStatus.CANCELLED, record.status
        return time.monotonic() - asked
    finally:
        control.store.close()


def assert_cancelled(db: Path, launched: Launched) -> None:
    launched.thread.join(20)
    assert not launched.thread.is_alive(), "the run did not return after its cancel"
    result = launched.box["result"]
    assert result.status is RunStatus.CANCELLED
    assert result.steps["after"].status is not RunStatus.COMPLETED
    store = RunStore(db)
    try:
        steps = {s.step: s.status for s in store.step_runs(launched.run_id)}
    finally:
        store.close()
    assert steps.get("after") in (None, RunStatus.PENDING, RunStatus.SKIPPED,
                                  RunStatus.CANCELLED), steps


def release(folder: Path, count: int) -> None:
    for spec in flags(folder, count):
        Path(spec["flag"]).write_text("go")


def test_cancel_of_a_run_on_a_process_pool(tmp_path: Path) -> None:
    db, folder = tmp_path / "s.db", tmp_path / "flags"
    folder.mkdir()
    with ProcessExecutor(2) as pool:
        launched = Launched(db, held_map("cancel.processes"), {"flags": flags(folder, ITEMS)},
                            pool)
        wait_until(lambda: len(started(folder)) == 2, timeout=60, what="two items running")
        took = cancel_from_outside(db, launched.run_id)
        assert took < 5, f"the run took {took:.1f}s to end cancelled"
        assert_cancelled(db, launched)
        release(folder, ITEMS)
        # the pool runs in order: had the six queued items not been cancelled they would run
        # before this probe does
        probe = WorkflowRunner(executor=pool).execute(
            Workflow("cancel.probe", [Step.from_function("probe", h.numbers)]))
        assert probe.status is RunStatus.COMPLETED
    assert len(started(folder)) == 2, sorted(started(folder))


def test_a_pool_started_for_the_run_does_not_wait_for_abandoned_calls(tmp_path: Path) -> None:
    db, folder = tmp_path / "s.db", tmp_path / "flags"
    folder.mkdir()
    launched = Launched(db, held_map("cancel.own_pool"), {"flags": flags(folder, 1)},
                        "processes")
    pid_file = folder / "item0.pid"
    pid = int(wait_until(lambda: pid_file.exists() and pid_file.read_text(), timeout=60,
                         what="the item running on a worker"))
    assert pid != os.getpid()
    cancel_from_outside(db, launched.run_id)
    started_wait = time.monotonic()
    assert_cancelled(db, launched)  # its call waits 60 s for a flag nobody writes
    assert time.monotonic() - started_wait < 15
    assert wait_until(lambda: not _alive(pid), timeout=10, what="the worker process gone")


def test_cancel_of_a_run_on_dask(tmp_path: Path, dask: DaskExecutor) -> None:
    db, folder = tmp_path / "s.db", tmp_path / "flags"
    folder.mkdir()
    launched = Launched(db, held_map("cancel.dask"), {"flags": flags(folder, ITEMS)}, dask)
    wait_until(lambda: len(started(folder)) == 2, timeout=60, what="two items running")
    took = cancel_from_outside(db, launched.run_id)
    assert took < 5, f"the run took {took:.1f}s to end cancelled"
    assert_cancelled(db, launched)
    release(folder, ITEMS)
    # every task of the run leaves the cluster (a queued one still held would stay, or run)
    wait_until(lambda: not dask.client.run_on_scheduler(_spine_tasks), timeout=30,
               what="the run's tasks to leave the scheduler")
    assert len(started(folder)) == 2, sorted(started(folder))


def _spine_tasks(dask_scheduler: Any) -> list[str]:
    return [str(key) for key in dask_scheduler.tasks if str(key).startswith("spine-")]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
