"""Lineage from worker processes: a data step run on the processes executor reports its
``LineageRecorded`` facts on the worker; they travel back with the task's outcome and are
emitted on the coordinator, so the run records the same lineage rows and moves its
incremental cursor exactly as on threads."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from shop_orders import add_orders, extract_orders

from engine import (
    Event,
    IncrementalCursors,
    LineageRecorded,
    RunStatus,
    RunStore,
    Step,
    StepFinished,
    TrackedWorkflowRunner,
    Workflow,
    start_run,
)
from engine.store import run_lineage


def copy_orders(name: str, tmp_path: Path, executor: str | None) -> Workflow:
    """source (incremental on ``id``) -> sink, on ``executor`` (None: threads)."""
    return Workflow(name, executor=executor, steps=[
        extract_orders(tmp_path),
        Step.sink("load", connection=str(tmp_path / f"{name}.db"), table="orders_copy"),
    ])


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "spine.db"
    monkeypatch.setenv("SPINE_DB", str(db))  # before the pool spawns: workers inherit it
    return db


def facts(store: Path, run_id: str) -> list[tuple[str, str, str, int | None]]:
    """Lineage rows without the run-specific artifact keys."""
    return [(f.step, f.direction, f.kind, f.rows) for f in run_lineage(RunStore(store), run_id)]


def test_processes_record_lineage_and_move_the_cursor_like_threads(store: Path,
                                                                   tmp_path: Path) -> None:
    add_orders(tmp_path / "shop.db", [(1, 2, 1.5), (2, 1, 4.0), (3, 5, 2.0)])
    on_threads = start_run(copy_orders("copy.threads", tmp_path, None), db=store).wait()
    assert on_threads.status is RunStatus.COMPLETED, on_threads.error

    seen: list[Event] = []
    with TrackedWorkflowRunner(store, executor="processes") as runner:
        first = start_run(copy_orders("copy.procs", tmp_path, None), runner=runner,
                          listeners=[seen.append]).wait()
        assert first.status is RunStatus.COMPLETED, first.error
        workers = {e.step: e.worker for e in seen if isinstance(e, StepFinished)}
        assert all(w and w.startswith("process:") for w in workers.values()), workers
        # the facts came back from the worker and went by on the run's stream, before the
        # step that reported them finished
        order = [(type(e).__name__, e.step) for e in seen
                 if isinstance(e, LineageRecorded | StepFinished)]
        assert order == [("LineageRecorded", "extract"), ("LineageRecorded", "extract"),
                         ("StepFinished", "extract"), ("LineageRecorded", "load"),
                         ("LineageRecorded", "load"), ("StepFinished", "load")]
        # the same lineage rows as the run on threads, cursor window included
        assert facts(store, first.run_id) == facts(store, on_threads.run_id) == [
            ("extract", "read", "table", 3), ("extract", "write", "artifact", 3),
            ("load", "read", "artifact", 3), ("load", "write", "table", 3)]
        read = run_lineage(RunStore(store), first.run_id)[0]
        assert read.details["cursor"] == {"name": "copy.procs.extract", "field": "id",
                                          "from": None, "to": 3, "workflow": "copy.procs"}
        cursors = IncrementalCursors(store)
        assert cursors.get("copy.procs.extract").value == 3
        assert cursors.get("copy.procs.extract").run_id == first.run_id

        # new rows: the next run on processes reads only them, and the cursor moves on
        add_orders(tmp_path / "shop.db", [(4, 1, 1.0), (5, 2, 2.0)])
        second = start_run(copy_orders("copy.procs", tmp_path, None), runner=runner).wait()
    assert second.status is RunStatus.COMPLETED, second.error
    assert facts(store, second.run_id)[0] == ("extract", "read", "table", 2)
    assert run_lineage(RunStore(store), second.run_id)[0].details["cursor"]["from"] == 3
    assert IncrementalCursors(store).get("copy.procs.extract").value == 5
    with sqlite3.connect(tmp_path / "copy.procs.db") as conn:
        assert conn.execute("SELECT COUNT(*), MAX(id) FROM orders_copy").fetchone() == (5, 5)
    conn.close()


def test_a_step_that_fails_on_a_worker_still_reports_what_it_read(store: Path,
                                                                  tmp_path: Path) -> None:
    add_orders(tmp_path / "shop.db", [(1, 2, 1.5)])
    wf = Workflow("copy.broken", executor="processes", steps=[
        extract_orders(tmp_path),
        Step.sink("load", connection=str(tmp_path / "dw.db"), table="t", write_mode="upsert",
                  key="no_such_column"),
    ])
    result = start_run(wf, db=store).wait()
    assert result.status is RunStatus.FAILED
    assert result.error_step == "load"
    steps = RunStore(store).step_runs(result.run_id)
    assert {s.step: (s.worker or "").split(":")[0] for s in steps} == \
        {"extract": "process", "load": "process"}
    assert ("extract", "read", "table", 1) in facts(store, result.run_id)
    # a failed run never moves the cursor: the rows are read again next time
    assert IncrementalCursors(store).find("copy.broken.extract") is None


def test_adaptive_requests_made_on_a_worker_are_applied_by_the_coordinator(
        store: Path) -> None:
    from worker_requests import later, skip_named, spawn_child

    def flow(config: dict[str, Any], handler: Any = skip_named) -> Workflow:
        return Workflow("adaptive.remote", executor="processes", steps=[
            Step.lambda_("ask", handler, config=config),
            Step.lambda_("later", later),
            Step.lambda_("last", later),
        ])

    with TrackedWorkflowRunner(store, executor="processes") as runner:
        result = runner.execute(flow({"skip": ["later"]}))
        assert result.status is RunStatus.COMPLETED, result.error
        assert (result.steps["ask"].worker or "").startswith("process:")
        assert str(result.steps["later"].status) == "skipped"
        assert str(result.steps["last"].status) == "completed"
        # an invalid request fails the asking step, checked where the run's graph lives
        bad = runner.execute(flow({"skip": ["no_such_step"]}))
        assert bad.status is RunStatus.FAILED and bad.error_step == "ask"
        assert "no_such_step" in (bad.error or "")
        # what needs an answer at once says why and what to do instead
        spawn = runner.execute(flow({}, spawn_child))
    assert spawn.status is RunStatus.FAILED
    assert "spawn_workflow needs the coordinating process" in (spawn.error or "")
    assert "executor='threads'" in (spawn.error or "")
