"""The runs screen: runs recorded by a real TrackedWorkflowRunner, newest first; filters;
a virtual table that loads pages of 200 and never all rows; live refresh; run detail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from store_rows import T0, add_run_detail, add_runs, many_runs
from textual.pilot import Pilot
from textual.widgets import Select
from tui_harness import drive, fixture_app, open_workflow, plain, wait_until

from engine import Step, StepResult, TrackedWorkflowRunner, Workflow
from screens import RunDetailScreen, RunsScreen
from spine_tui.widgets.logview import LogView
from spine_tui.widgets.run_detail import OutputsView, RunHeader, StepTimeline, timeline_rows
from spine_tui.widgets.runs_table import PAGE_SIZE, RunsTable


def ok(ctx, config):
    print("working")
    return StepResult.ok(output={"n": config.get("n", 0)})


def bad(ctx, config):
    return StepResult.fail("no data", category="DEPENDENCY")


def record_runs(db: Path) -> list[str]:
    """Three real tracked runs: two of one workflow (one failed), one of another."""
    good = Workflow("runs.good", [Step.lambda_("a", ok), Step.lambda_("b", ok)])
    broken = Workflow("runs.broken", [Step.lambda_("a", ok), Step.lambda_("b", bad)])
    with TrackedWorkflowRunner(db) as runner:
        return [runner.execute(good, run_id="good-1").run_id,
                runner.execute(broken, run_id="broken-1").run_id,
                runner.execute(good, run_id="good-2").run_id]


def runs_table(pilot: Pilot[Any]) -> RunsTable:
    return pilot.app.screen.query_one(RunsTable)


def shown_ids(pilot: Pilot[Any]) -> list[str]:
    table = runs_table(pilot)
    return [run.run_id for row in range(table.total) if (run := table.run_at(row))]


async def open_runs(pilot: Pilot[Any], expect: int) -> RunsTable:
    await pilot.press("R")
    await wait_until(pilot, lambda: runs_table(pilot).total == expect
                     and runs_table(pilot).run_at(0), what=f"{expect} runs listed")
    return runs_table(pilot)


def test_runs_recorded_by_a_tracked_runner_are_listed_newest_first(isolated_store: Path
                                                                   ) -> None:
    record_runs(isolated_store)

    async def scenario(pilot: Pilot[Any]) -> None:
        await open_runs(pilot, 3)
        assert isinstance(pilot.app.screen, RunsScreen)
        assert shown_ids(pilot) == ["good-2", "broken-1", "good-1"]
        assert "3 runs" in str(pilot.app.screen.query_one("#runs-count").render())
        preview = str(pilot.app.screen.query_one("#run-preview").render())
        assert "runs.good" in preview and "completed" in preview
        await pilot.press("down")
        preview = str(pilot.app.screen.query_one("#run-preview").render())
        assert "b: step 'b' failed: no data" in preview

        await pilot.press("enter")
        await wait_until(pilot, lambda: getattr(pilot.app.screen, "run", None),
                         what="run detail loaded")
        detail = pilot.app.screen
        assert isinstance(detail, RunDetailScreen) and detail.run_id == "broken-1"
        rows = {r.step: r for r in detail.query_one(StepTimeline).rows}
        assert rows["b"].status == "failed" and rows["b"].category == "DEPENDENCY"
        assert rows["a"].start is not None and rows["a"].end is not None
        assert detail.query_one(OutputsView).outputs == {"a": {"n": 0}}
        assert "no data" in str(detail.query_one(RunHeader).render())
        logs = detail.query_one(LogView)
        await wait_until(pilot, lambda: logs.line_count == 1, what="the run's log line")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, RunsScreen)

    drive(fixture_app(), scenario)


def test_filters_by_workflow_and_status(isolated_store: Path) -> None:
    record_runs(isolated_store)

    async def scenario(pilot: Pilot[Any]) -> None:
        await open_runs(pilot, 3)
        screen = pilot.app.screen
        screen.query_one("#workflow-filter", Select).value = "runs.good"
        await wait_until(pilot, lambda: runs_table(pilot).total == 2
                         and runs_table(pilot).run_at(0), what="two runs of runs.good")
        assert shown_ids(pilot) == ["good-2", "good-1"]
        screen.query_one("#status-filter", Select).value = "failed"
        await wait_until(pilot, lambda: screen.query_state.status == "failed"
                         and runs_table(pilot).total == 0, what="no failed runs.good")
        await pilot.press("a")
        await wait_until(pilot, lambda: runs_table(pilot).total == 3, what="all runs again")

    drive(fixture_app(), scenario)


def test_thousands_of_runs_load_a_page_at_a_time(isolated_store: Path) -> None:
    add_runs(isolated_store, many_runs(5_000))

    async def scenario(pilot: Pilot[Any]) -> None:
        table = await open_runs(pilot, 5_000)
        assert table.run_at(0).run_id == "run004999"  # newest first
        assert table.loaded_rows == PAGE_SIZE
        await pilot.press("end")
        await wait_until(pilot, lambda: table.run_at(4_999), what="the last page")
        assert table.run_at(4_999).run_id == "run000000"
        assert table.loaded_rows <= 3 * PAGE_SIZE
        await pilot.press("pageup")
        assert table.cursor < 4_999

    drive(fixture_app(), scenario)


def test_new_runs_appear_at_the_top_without_a_key_press(isolated_store: Path) -> None:
    add_runs(isolated_store, many_runs(3))

    async def scenario(pilot: Pilot[Any]) -> None:
        table = await open_runs(pilot, 3)
        await pilot.press("down")
        assert table.highlighted_run.run_id == "run000001"
        add_runs(isolated_store, [{"run_id": "late", "workflow": "bulk.a",
                                   "status": "completed", "created_at": T0 + 10_000}])
        await wait_until(pilot, lambda: table.total == 4 and table.run_at(0), what="new run")
        assert table.run_at(0).run_id == "late"
        assert table.highlighted_run.run_id == "run000001"  # the cursor stayed on its run

    drive(fixture_app(), scenario)


def test_run_detail_shows_attempts_errors_with_category_and_truncated_outputs(
        isolated_store: Path) -> None:
    run_id = add_run_detail(isolated_store)

    async def scenario(pilot: Pilot[Any]) -> None:
        pilot.app.push_screen(RunDetailScreen(run_id))
        await wait_until(pilot, lambda: getattr(pilot.app.screen, "run", None),
                         what="run detail loaded")
        screen = pilot.app.screen
        check = {r.step: r for r in screen.query_one(StepTimeline).rows}["check"]
        assert (check.attempts, check.category) == (2, "DATA_QUALITY")
        assert (check.start, check.end) == (0.25, 1.0)
        timeline = plain(screen.query_one(StepTimeline))
        assert "×2" in timeline and "DATA_QUALITY 2 rows failed validation" in timeline
        outputs = plain(screen.query_one(OutputsView))
        assert "(+" in outputs and "chars)" in outputs
        assert "check: 2 rows failed validation" in str(screen.query_one(RunHeader).render())

    drive(fixture_app(), scenario)


def test_timeline_rows_place_bars_relative_to_the_run() -> None:
    from datetime import UTC, datetime, timedelta

    from engine import RunRecord, RunStatus, StepRecord

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    run = RunRecord("r", "wf", RunStatus.COMPLETED, started_at=t0,
                    finished_at=t0 + timedelta(seconds=10))
    steps = [StepRecord("r", "a", RunStatus.COMPLETED, 1, started_at=t0,
                        finished_at=t0 + timedelta(seconds=5)),
             StepRecord("r", "b", RunStatus.RUNNING, 1,
                        started_at=t0 + timedelta(seconds=5)),
             StepRecord("r", "c", RunStatus.PENDING)]
    a, b, c = timeline_rows(run, steps)
    assert (a.start, a.end) == (0.0, 0.5)
    assert (b.start, b.end) == (0.5, 1.0)  # still running: reaches the end of the span
    assert (c.start, c.end) == (None, None)


def test_h_on_a_workflow_shows_its_history(isolated_store: Path) -> None:
    add_runs(isolated_store, many_runs(6, ("tui.etl.daily", "tui.hello")))

    async def scenario(pilot: Pilot[Any]) -> None:
        await open_workflow(pilot, "hello")
        await pilot.press("h")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RunsScreen)
                         and runs_table(pilot).total == 3 and runs_table(pilot).run_at(0),
                         what="the three runs of tui.hello")
        assert {r.workflow for r in map(runs_table(pilot).run_at, range(3))} == {"tui.hello"}

    drive(fixture_app(), scenario)


def test_time_filter_keeps_recent_runs_and_names_itself_in_the_title(isolated_store: Path
                                                                     ) -> None:
    now = T0 + 10 * 3_600
    add_runs(isolated_store, [
        {"run_id": "ten-min", "workflow": "tui.hello", "status": "completed",
         "created_at": now - 600},
        {"run_id": "half-hour", "workflow": "tui.hello", "status": "failed",
         "created_at": now - 1_800},
        {"run_id": "five-hours", "workflow": "tui.hello", "status": "completed",
         "created_at": now - 5 * 3_600},
        {"run_id": "three-days", "workflow": "tui.hello", "status": "completed",
         "created_at": now - 3 * 86_400}])

    async def scenario(pilot: Pilot[Any]) -> None:
        await open_runs(pilot, 4)
        screen = pilot.app.screen
        assert isinstance(screen, RunsScreen)
        box = screen.query_one("#runs-box")
        await pilot.press("p")
        assert screen.focused is screen.query_one("#time-filter")
        await pilot.press("enter", "down", "enter")  # the first preset: last hour
        await wait_until(pilot, lambda: runs_table(pilot).total == 2
                         and runs_table(pilot).run_at(0), what="the last hour's runs")
        assert shown_ids(pilot) == ["ten-min", "half-hour"]
        assert box.border_title == "Runs (last hour)"
        assert str(screen.query_one("#runs-count").render()) == "2 runs"
        assert screen.query_one("#runs-box").border_title == "Runs (last hour)"

        screen.query_one("#status-filter", Select).value = "failed"
        await wait_until(pilot, lambda: runs_table(pilot).total == 1, what="failed, last hour")
        assert box.border_title == "Runs (status failed, last hour)"

        screen.query_one("#time-filter", Select).value = "custom"
        custom = screen.query_one("#time-input")
        await wait_until(pilot, lambda: custom.display and custom.has_focus,
                         what="the custom time box")
        assert custom.value == "1h"  # the box starts from the window in use
        custom.value = ""
        await pilot.press("6", "enter")  # no unit: explained, nothing changes
        await wait_until(pilot, lambda: any("has no unit" in n.message
                                            for n in pilot.app._notifications),
                         what="the bad time explained")
        assert screen.query_state.window.since == "1h"
        await pilot.press("a")  # a letter in the box, not "all runs"
        await pilot.press("backspace", "backspace", *"4d..1d", "enter")
        screen.query_one("#status-filter", Select).clear()
        await wait_until(pilot, lambda: runs_table(pilot).total == 1
                         and runs_table(pilot).run_at(0), what="runs 4 to 1 days old")
        assert shown_ids(pilot) == ["three-days"]
        assert box.border_title == "Runs (4d ago → 1d ago)"

        await pilot.press("a")
        await wait_until(pilot, lambda: runs_table(pilot).total == 4, what="all runs again")
        assert box.border_title == "Runs" and not custom.display

    drive(fixture_app(now=now), scenario)
