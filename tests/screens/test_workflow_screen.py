"""The workflow screen: the DAG, moving through steps with the arrow keys, step details."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from store_rows import publish_two_versions
from textual.pilot import Pilot
from tui_harness import (
    FIXTURES,
    drive,
    fixture_app,
    open_workflow,
    plain,
    settled,
    wait_for_runs,
    wait_until,
)

from engine import ErrorPolicy, RetryPolicy, Step, Workflow
from screens import CatalogScreen, WorkflowScreen
from spine_tui.widgets.dag import DagCanvas, ExpandableDagCanvas
from spine_tui.widgets.steps import StepDetails, step_fields


def fields(screen: WorkflowScreen) -> dict[str, str]:
    return dict(screen.query_one(StepDetails).fields)


def test_dag_shows_every_step_of_the_workflow() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_workflow(pilot, "fanout")
        drawing = "\n".join(screen.query_one(DagCanvas).dag_layout.lines)
        for step in ("fetch", "prices", "volumes", "news", "merge", "publish"):
            assert drawing.count(f"│ {step} ") == 1
        assert drawing.count("▶") == 5  # prices, volumes, news, merge, publish

    drive(fixture_app(), scenario)


def test_arrow_keys_move_through_steps_and_the_details_follow() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_workflow(pilot, "etl")
        canvas = screen.query_one(DagCanvas)
        assert fields(screen)["runs"] == "tui_etl:extract"
        assert fields(screen)["config"] == '{"source": "ledger.csv", "limit": 500}'
        assert canvas.selected == "extract"

        await pilot.press("down", "down")
        assert canvas.selected == "transform"
        details = fields(screen)
        assert details["depends on"] == "validate (the previous step)"
        assert details["on error"] == "retry"
        assert details["retry"] == "up to 4 attempts, 0.5s ×2 (max 300s)"
        assert details["timeout"] == "30s"
        assert screen.query_one("#step-details-pane").border_title == "Step transform"

        await pilot.press("up")
        assert canvas.selected == "validate"
        assert fields(screen)["description"] == "Reject empty batches."

    drive(fixture_app(), scenario)


def test_fan_in_step_lists_all_its_dependencies() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_workflow(pilot, "fanout")
        await pilot.press("end")
        assert fields(screen)["depends on"] == "merge, fetch"
        await pilot.press("up")
        assert fields(screen)["depends on"] == "prices, volumes, news"

    drive(fixture_app(), scenario)


def test_dag_can_take_focus_and_escape_goes_back() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_workflow(pilot, "hello")
        await pilot.press("g")
        assert pilot.app.focused is screen.query_one(DagCanvas)
        await pilot.press("s")
        assert pilot.app.focused is screen.query_one("#steps")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, CatalogScreen)

    drive(fixture_app(), scenario)


def test_step_fields_describe_pipelines_roots_and_retries() -> None:
    step = Step.pipeline("score", "ml.score", config={"model": "v2"}, depends_on=[],
                         on_error=ErrorPolicy.RETRY,
                         retry_policy=RetryPolicy(max_attempts=2,
                                                  retryable_categories=("TRANSIENT",)))
    rows = dict(step_fields(step, []))
    assert rows["type"] == "pipeline"
    assert rows["runs"] == "pipeline ml.score"
    assert rows["depends on"] == "— (a root: starts first)"
    assert rows["config"] == '{"model": "v2"}'
    assert rows["retry"].endswith("only TRANSIENT")
    assert rows["timeout"] == "—"


def test_step_fields_describe_sub_workflows_and_waits() -> None:
    child = Step.workflow("child", "billing.close", params={"day": "$.params.day"}, wait=False)
    rows = dict(step_fields(child, ["prepare"]))
    assert rows["runs"] == "workflow billing.close (fire and forget)"
    assert rows["params"] == '{"day": "$.params.day"}'
    assert rows["timeout"] == "600s"
    assert dict(step_fields(Step.wait("pause", 1.5), []))["runs"] == "wait 1.5s"


def test_arrow_keys_on_the_dag_move_box_to_box_and_the_details_follow() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_workflow(pilot, "fanout")
        canvas = screen.query_one(DagCanvas)
        await pilot.press("g")
        assert canvas.selected == "fetch"
        await pilot.press("right")
        assert canvas.selected in ("prices", "volumes", "news")
        await pilot.press("up", "up", "up")  # stops at the top of the column
        assert canvas.selected == "prices"
        await pilot.press("down")
        assert canvas.selected == "volumes"
        assert fields(screen)["depends on"] == "fetch"
        assert screen.query_one("#step-details-pane").border_title == "Step volumes"
        assert screen.step_list.highlighted == 2
        await pilot.press("right", "right", "right")
        assert canvas.selected == "publish"
        await pilot.press("left", "left", "left", "left")
        assert canvas.selected == "fetch"

        box = canvas.dag_layout.boxes["merge"]
        await pilot.click(DagCanvas, offset=(box.left + 2 + canvas.gutter.left,
                                             box.top + 1 + canvas.gutter.top))
        assert canvas.selected == "merge" and fields(screen)["depends on"] == \
            "prices, volumes, news"

    drive(fixture_app(), scenario)


def test_y_shows_the_workflow_as_yaml_or_why_it_has_none() -> None:
    from screens import YamlScreen
    from screens.workflow_yaml import workflow_yaml

    async def scenario(pilot: Pilot[Any]) -> None:
        await open_workflow(pilot, "etl")
        await pilot.press("y")
        await settled(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, YamlScreen)
        assert dialog.text is not None and "apiVersion: spine.io/v1" in dialog.text
        assert "name: tui.etl.daily" in dialog.text and "lambda: tui_etl:extract" in dialog.text
        await pilot.press("escape")

        closure = Workflow("tui.closure", [Step.lambda_("inline", lambda ctx, cfg: {})])
        await pilot.app.push_screen(YamlScreen("closure", lambda: workflow_yaml(closure)))
        await settled(pilot)
        dialog = pilot.app.screen
        assert dialog.text is None and "inline" in (dialog.error or "")
        assert "cannot be written as YAML" in plain(dialog.query_one("#yaml-text"))

    drive(fixture_app(), scenario)


def test_versions_list_and_side_by_side_diff(isolated_store: Path) -> None:
    from screens import VersionsScreen

    publish_two_versions(isolated_store)

    async def scenario(pilot: Pilot[Any]) -> None:
        await open_workflow(pilot, "etl")
        await pilot.press("V")
        await settled(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, VersionsScreen)
        assert [v.version for v in screen.versions] == [3, 4]
        assert screen.table.cursor_row == 1  # the latest, compared with the one before
        diff = screen.diff
        assert diff is not None and diff.added_steps == ("audit",)
        assert diff.step_changes("extract")["config"].new["limit"] == 1000
        shown = plain(screen.query_one("#ver-diff"))
        assert "step audit" in shown and "extract.config" in shown
        assert "v3" in shown and "v4" in shown
        await pilot.press("y")
        await settled(pilot)
        assert "name: audit" in (pilot.app.screen.text or "")

    drive(fixture_app(), scenario)



COMPOSITE = FIXTURES.parent / "tui_composite"


def test_enter_opens_a_map_box_in_place_and_closes_it_again() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_workflow(pilot, "orders")
        canvas = screen.query_one(DagCanvas)
        assert isinstance(canvas, ExpandableDagCanvas)
        assert "┌─ ▸ map " in "\n".join(canvas.dag_layout.lines)
        await pilot.press("down", "g")  # score_each, then the DAG
        assert canvas.selected == "score_each"
        assert fields(screen)["open"] == "Enter in the DAG (g) shows its steps"

        await pilot.press("enter")
        boxes = canvas.dag_layout.boxes
        assert "score_each" not in boxes
        assert {"score_each/clean", "score_each/score"} <= set(boxes)
        assert "function ×item" in "\n".join(canvas.dag_layout.lines)
        assert canvas.selected == "score_each/clean"
        assert screen.query_one("#step-details-pane").border_title == "Step score_each/clean"
        assert fields(screen)["inside"] == \
            "map score_each: once per item of $.outputs.load.orders"
        assert screen.step_list.highlighted == 1  # the list keeps top-level steps

        await pilot.press("right")
        assert canvas.selected == "score_each/score"
        assert fields(screen)["depends on"] == "clean (the previous step)"
        assert screen.step_list.highlighted == 1

        await pilot.press("enter")  # on a plain inner step: closes its map
        assert "score_each" in canvas.dag_layout.boxes
        assert not any(name.startswith("score_each/") for name in canvas.dag_layout.boxes)
        assert canvas.selected == "score_each"
        assert fields(screen)["type"] == "map"

    drive(fixture_app(COMPOSITE), scenario)


def test_sub_workflow_opens_with_plus_and_c_closes_everything() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_workflow(pilot, "orders")
        canvas = screen.query_one(DagCanvas)
        await pilot.press("down", "g", "plus", "s", "down", "g", "plus")
        boxes = set(canvas.dag_layout.boxes)
        assert {"score_each/clean", "settle/check", "settle/book"} <= boxes
        assert canvas.selected == "settle/check"
        assert fields(screen)["inside"] == \
            "sub-workflow tui.composite.settle (step settle)"
        await pilot.press("right")
        assert canvas.selected == "settle/book"
        assert fields(screen)["description"] == "Book the checked orders."
        await pilot.press("s")  # the step list follows the box's top-level step
        assert screen.step_list.highlighted == 2
        assert canvas.selected == "settle/book"

        await pilot.press("g", "minus")
        assert canvas.selected == "settle" and "score_each/clean" in canvas.dag_layout.boxes
        await pilot.press("c")
        assert set(canvas.dag_layout.boxes) == {"load", "score_each", "settle", "report"}
        assert canvas.selected == "settle"

        await pilot.press("g", "left", "enter")  # a plain top-level step: nothing to open
        assert canvas.selected == "load"
        assert set(canvas.dag_layout.boxes) == {"load", "score_each", "settle", "report"}
        assert any("nothing to open" in n.message for n in pilot.app._notifications)

    drive(fixture_app(COMPOSITE), scenario)


def test_open_boxes_take_the_live_status_of_their_items(isolated_store: Path) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_workflow(pilot, "orders")
        canvas = screen.query_one(DagCanvas)
        await pilot.press("down", "g", "enter", "s", "down", "g", "enter")
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("enter")
        await wait_for_runs(pilot)
        done = {"load": "completed", "score_each/clean": "completed",
                "score_each/score": "completed", "settle/check": "completed",
                "settle/book": "completed", "report": "completed"}
        await wait_until(pilot, lambda: dict(canvas.statuses) == done,
                         what="the live view's redraw (on a short timer)")

    drive(fixture_app(COMPOSITE), scenario)
