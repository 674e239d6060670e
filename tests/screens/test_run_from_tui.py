"""Running a workflow from its screen: the params dialog, a tracked run in a worker, live
status colours on the DAG, the progress bar, a notification, and the run in the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from tui_harness import (
    RUN_FIXTURES,
    drive,
    fixture_app,
    open_workflow,
    wait_for_runs,
    wait_until,
)

from engine import RunStore
from engine.discovery import load_file
from screens import RunDetailScreen, RunParamsScreen, WorkflowScreen
from spine_tui.messages import RunEnded, RunLaunched, StepStatusChanged
from spine_tui.services.launcher import param_fields
from spine_tui.widgets.dag import DagCanvas
from spine_tui.widgets.run_detail import OutputsView, StepTimeline
from spine_tui.widgets.steps import StepDetails


def test_r_runs_the_workflow_and_the_dag_shows_each_step_completed(isolated_store: Path
                                                                    ) -> None:
    posted: list[Any] = []

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_workflow(pilot, "etl")
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(pilot.app.screen, RunParamsScreen)
        await pilot.press("enter")
        await wait_for_runs(pilot)
        assert pilot.app.screen is screen
        run_id = screen.run_id
        assert run_id is not None
        done = {"extract": "completed", "validate": "completed", "transform": "completed",
                "load": "completed"}
        await wait_until(pilot, lambda: dict(screen.query_one(DagCanvas).statuses) == done,
                         what="the live view's redraw (on a short timer)")
        assert screen.progress.progress == 4 and screen.progress.total == 4
        assert "4/4 steps" in str(screen.query_one("#run-status").render())
        notes = [n.message for n in pilot.app._notifications]
        assert any("tui.etl.daily completed" in m and run_id in m for m in notes)
        record = RunStore(isolated_store).get_run(run_id)
        assert record.status == "completed"
        assert record.source is not None and record.source.endswith("tui_etl.py")
        # the selected step's details gained its output from the run that just ended
        def last_output() -> str:
            return str(dict(screen.query_one(StepDetails).fields).get("last output", ""))

        assert screen.dag.selected == "extract"
        await wait_until(pilot, lambda: run_id in last_output(), what="extract's last output")
        screen.step_list.highlighted = 3  # load
        await wait_until(pilot, lambda: last_output().startswith('{"loaded": 6}'),
                         what="load's last output")

        await pilot.press("v")
        detail = pilot.app.screen
        assert isinstance(detail, RunDetailScreen) and detail.run_id == run_id
        await wait_until(pilot, lambda: detail.run is not None and
                         len(detail.query_one(StepTimeline).rows) == 4, what="the run detail")
        rows = detail.query_one(StepTimeline).rows
        assert [r.step for r in rows] == ["extract", "validate", "transform", "load"]
        assert detail.query_one(OutputsView).outputs["load"] == {"loaded": 6}

    drive(fixture_app(), scenario, message_hook=posted.append)
    kinds = [type(m) for m in posted if isinstance(m, (RunLaunched, StepStatusChanged,
                                                         RunEnded))]
    assert kinds[0] is RunLaunched and kinds[-1] is RunEnded
    assert kinds.count(StepStatusChanged) == 8  # started + finished for each of 4 steps


def test_param_form_offers_defaults_and_root_arguments_and_types_values(
        isolated_store: Path) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_workflow(pilot, "params")
        await pilot.press("r")
        await pilot.pause()
        dialog = pilot.app.screen
        assert isinstance(dialog, RunParamsScreen)
        assert list(dialog.fields) == ["factor", "n"]
        assert "default: 2.0" in dialog.query_one("#param-0").placeholder
        assert "required" in dialog.query_one("#param-1").placeholder
        await pilot.press("tab", "3", "tab")
        dialog.query_one("#param-extra").value = "note='hi there'"
        assert dialog.params() == {"n": 3, "note": "hi there"}
        await pilot.press("enter")
        await wait_for_runs(pilot)
        record = RunStore(isolated_store).get_run(screen.run_id)
        assert record.params == {"factor": 2.0, "n": 3, "note": "hi there"}
        assert RunStore(isolated_store).outputs(screen.run_id)["scale"] == {"value": 6.0}

    drive(fixture_app(RUN_FIXTURES), scenario)


def test_a_bad_param_is_explained_and_the_dialog_stays_open() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_workflow(pilot, "params")
        await pilot.press("r")
        await pilot.pause()
        await pilot.press(*"[1,", "enter")
        await pilot.pause()
        dialog = pilot.app.screen
        assert isinstance(dialog, RunParamsScreen)
        error = str(dialog.query_one("#param-error").render())
        assert "looks like a list/dict" in error
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, WorkflowScreen)
        assert pilot.app.screen.run_id is None

    drive(fixture_app(RUN_FIXTURES), scenario)


def test_a_failing_run_colours_the_failed_step_and_notifies_an_error() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_workflow(pilot, "failing")
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("enter")
        await wait_for_runs(pilot)
        statuses = await wait_until(
            pilot, lambda: (s := dict(screen.query_one(DagCanvas).statuses)).get("check")
            == "failed" and s, what="the live view's redraw")
        assert statuses["fetch"] == "completed"
        assert statuses["check"] == "failed"
        assert statuses["never"] in ("skipped", "pending")
        errors = [n for n in pilot.app._notifications if n.severity == "error"]
        assert errors and "2 rows failed validation" in errors[-1].message

    drive(fixture_app(RUN_FIXTURES), scenario)


def test_param_fields_skip_context_config_and_outputs_of_earlier_steps() -> None:
    workflows, errors = load_file(RUN_FIXTURES / "tui_run.py")
    assert not errors
    by_name = {w.name: w.workflow for w in workflows}
    assert param_fields(by_name["tui.params"]) == {"factor": 2.0, "n": ...}
    assert param_fields(by_name["tui.chatty"]) == {}
