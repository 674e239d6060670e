"""Where steps run, in the workbench: the run form's executor choice (threads, processes,
dask + scheduler) starts the run on it, a bad choice is a message in the form with no run
started, and the run detail's step table says on which process or worker each step ran."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from store_rows import add_run_detail
from textual.pilot import Pilot
from textual.widgets import Input, RadioButton, Static
from tui_harness import (
    SIZE,
    drive,
    fixture_app,
    loaded,
    open_workflow,
    plain,
    wait_for_runs,
    wait_until,
)

from engine import RunStore, Step, Workflow
from screens import RunDetailScreen, RunParamsScreen
from spine_tui.services.executors import ExecutorChoiceError, open_executor
from spine_tui.widgets.logview import LogView
from spine_tui.widgets.run_detail import StepTimeline, fit_worker


async def open_run_form(pilot: Pilot[Any]) -> RunParamsScreen:
    screen = await open_workflow(pilot, "etl")
    await pilot.press("r")
    dialog = await wait_until(pilot, lambda: isinstance(pilot.app.screen, RunParamsScreen)
                              and pilot.app.screen, what="the run form")
    assert screen.workflow.name == "tui.etl.daily"
    return dialog


def test_a_run_started_on_processes_shows_its_worker_processes(isolated_store: Path) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        dialog = await open_run_form(pilot)
        assert dialog.executor_name == "threads"  # the default, as the workflow sets none
        assert not dialog.query_one("#scheduler-row").display
        await pilot.click("#executor-processes")
        await wait_until(pilot, lambda: dialog.executor_name == "processes",
                         what="processes picked")
        await pilot.click("#params-run")
        await wait_until(pilot, lambda: not isinstance(pilot.app.screen, RunParamsScreen),
                         timeout=60, what="the form to close once the pool started")
        await wait_for_runs(pilot)
        run_id = pilot.app.screen.run_id
        store = RunStore(isolated_store)
        try:
            assert store.get_run(run_id).status == "completed"
            workers = {s.step: s.worker for s in store.step_runs(run_id)}
        finally:
            store.close()
        assert set(workers) == {"extract", "validate", "transform", "load"}
        assert all(w and w.startswith("process:") for w in workers.values()), workers
        pids = {w.rsplit(":", 1)[1] for w in workers.values() if w}
        assert all(pid.isdigit() and int(pid) != __import__("os").getpid() for pid in pids)
        await pilot.press("v")
        detail = await wait_until(pilot, lambda: isinstance(pilot.app.screen, RunDetailScreen)
                                  and pilot.app.screen, what="the run detail")
        timeline = detail.query_one(StepTimeline)
        await wait_until(pilot, lambda: len(timeline.rows) == 4, what="the step table")
        assert {r.step: r.worker for r in timeline.rows} == workers
        shown = plain(timeline)
        for row in timeline.rows:
            line = next(x for x in shown.splitlines() if x.startswith(row.step))
            assert fit_worker(row.worker or "", 32)[:20] in line

    drive(fixture_app(), scenario)


def test_a_bad_scheduler_is_a_message_in_the_form_and_no_run_starts(isolated_store: Path
                                                                    ) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        dialog = await open_run_form(pilot)
        await pilot.click("#executor-dask")
        await wait_until(pilot, lambda: dialog.query_one("#scheduler-row").display,
                         what="the scheduler field shown for dask")
        dialog.query_one("#executor-scheduler", Input).value = "localhost:8786"
        await pilot.click("#params-run")
        error = dialog.query_one("#param-error", Static)
        await wait_until(pilot, lambda: error.display, what="the error in the form")
        assert "not a Dask address" in plain(error) and "tcp://" in plain(error)
        assert pilot.app.screen is dialog
        assert not dialog.query_one("#params-run").disabled  # the form can be fixed and sent
        # back on threads the scheduler field is hidden, and a stray address is refused
        await pilot.click("#executor-threads")
        await wait_until(pilot, lambda: not dialog.query_one("#scheduler-row").display,
                         what="the scheduler field hidden")
        assert not pilot.app.live_runs
        store = RunStore(isolated_store)
        try:
            assert store.list_runs() == []
        finally:
            store.close()

    drive(fixture_app(), scenario)


def test_the_form_starts_on_the_workflows_own_executor() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_workflow(pilot, "etl")
        screen.workflow.executor = "processes"  # as `executor: processes` in its YAML
        await pilot.press("r")
        dialog = await wait_until(pilot, lambda: isinstance(pilot.app.screen, RunParamsScreen)
                                  and pilot.app.screen, what="the run form")
        assert dialog.executor_name == "processes"
        assert dialog.query_one("#executor-processes", RadioButton).value

    drive(fixture_app(), scenario)


def test_open_executor_refuses_what_cannot_work_before_starting_anything() -> None:
    wf = Workflow("x", [Step.from_function("a", _local_only())])
    for name, scheduler, says in [
        ("dask", "http://127.0.0.1:8786", "not a Dask address"),
        ("processes", "tcp://127.0.0.1:8786", "for the dask executor"),
        ("gpu", "", "not one of threads, processes, dask"),
        ("processes", "", "cannot run on the processes executor"),
    ]:
        try:
            open_executor(wf, name, scheduler)
        except ExecutorChoiceError as exc:
            assert says in str(exc), (name, str(exc))
        else:
            raise AssertionError(f"{name} {scheduler!r} was accepted")
    assert open_executor(wf, "threads") is None  # closures run fine on threads


def _local_only() -> Any:
    def closure() -> int:
        return 1
    return closure


def test_run_detail_snapshot_shows_where_each_step_ran(snap_compare: Any,
                                                       isolated_store: Path) -> None:
    run_id = add_run_detail(isolated_store)
    store = RunStore(isolated_store)
    with store.db.transaction() as conn:
        conn.execute("UPDATE step_runs SET worker = 'process:build-host:4242' "
                     "WHERE run_id = ? AND step = 'fetch'", (run_id,))
        conn.execute("UPDATE step_runs SET worker = 'dask:tcp://127.0.0.1:40123' "
                     "WHERE run_id = ? AND step = 'check'", (run_id,))
    store.close()

    async def open_detail(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        pilot.app.push_screen(RunDetailScreen(run_id))
        await wait_until(pilot, lambda: getattr(pilot.app.screen, "run", None),
                         what="the run")
        timeline = pilot.app.screen.query_one(StepTimeline)
        await wait_until(pilot, lambda: len(timeline.rows) == 3, what="the step rows")
        logs = pilot.app.screen.query_one(LogView)
        await wait_until(pilot, lambda: logs.line_count == 4 and all(logs.visible_records()),
                         what="the log lines")
        await wait_until(pilot, lambda: "process:build-host:4242" in plain(timeline),
                         what="the worker column")

    assert snap_compare(fixture_app(), terminal_size=SIZE, run_before=open_detail)
