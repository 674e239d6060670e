"""The run-detail graph (``g``) opens map and sub-workflow boxes from the run's definition:
inner boxes take the statuses stored for them (a map's items ``fan[1].clean``, the child
run's steps), runtime-inserted steps keep their label, and a run whose definition cannot be
rebuilt is drawn as before with its boxes refusing to open, saying why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from tui_harness import drive, fixture_app, wait_until

from engine import (
    ErrorPolicy,
    RunGraph,
    RunStore,
    Step,
    StepResult,
    TrackedWorkflowRunner,
    Workflow,
    WorkflowContext,
    register_workflow,
    unregister_workflow,
)
from screens import RunDetailScreen
from screens.run_detail import recorded_statuses
from spine_tui.widgets.dag import expand, node_statuses
from spine_tui.widgets.run_graph import (
    INSERTED_LABEL,
    RunGraphPane,
    expanded_labels,
    openable_workflow,
)

TOP = {"load", "audit", "sub", "fan", "done"}


def load(ctx: WorkflowContext, config: Any) -> StepResult:
    ctx.insert_step_after("load", Step.lambda_("audit", audit))
    return StepResult.ok({"items": [1, 2, 3]})


def audit(ctx: WorkflowContext, config: Any) -> dict[str, Any]:
    return {"audited": True}


def clean(ctx: WorkflowContext, config: Any) -> dict[str, Any]:
    if config["item"] == 2:
        raise ValueError("item 2 is dirty")
    return {"clean": config["item"]}


def noop(ctx: WorkflowContext, config: Any) -> dict[str, Any]:
    return {}


def broken(ctx: WorkflowContext, config: Any) -> dict[str, Any]:
    raise RuntimeError("b is broken")


CHILD = Workflow("boxes.child", [  # b fails, the child run (and so step sub) completes
    Step.lambda_("a", noop), Step.lambda_("b", broken, on_error=ErrorPolicy.CONTINUE)])
PARENT = Workflow("boxes.parent", [
    Step.lambda_("load", load),
    Step.workflow("sub", "boxes.child"),
    Step.map("fan", items_path="$.outputs.load.items",
             iterator_steps=[Step.lambda_("clean", clean), Step.lambda_("score", noop)]),
    Step.lambda_("done", noop),
])


@contextmanager
def registered(*workflows: Workflow) -> Iterator[None]:
    for workflow in workflows:
        register_workflow(workflow)
    try:
        yield
    finally:
        for workflow in workflows:
            unregister_workflow(workflow.name)


def record(db: Path, workflow: Workflow, run_id: str) -> str:
    with TrackedWorkflowRunner(db) as runner:
        return runner.execute(workflow, run_id=run_id).run_id


async def open_graph(pilot: Pilot[Any], run_id: str) -> tuple[RunDetailScreen, RunGraphPane]:
    screen = RunDetailScreen(run_id)
    await pilot.app.push_screen(screen)
    await wait_until(pilot, lambda: screen.run is not None, what="the run")
    await pilot.press("g")
    await wait_until(pilot, lambda: screen.graph is not None, what="the run's graph")
    return screen, screen.query_one(RunGraphPane)


def label(pane: RunGraphPane, key: str) -> str:
    return pane.canvas.dag_layout.boxes[key].label


def test_map_and_sub_workflow_boxes_open_with_the_statuses_they_ran_with(isolated_store: Path
                                                                         ) -> None:
    with registered(CHILD, PARENT):
        run_id = record(isolated_store, PARENT, "boxes-1")

        async def scenario(pilot: Pilot[Any]) -> None:
            screen, pane = await open_graph(pilot, run_id)
            canvas = pane.canvas
            assert set(canvas.dag_layout.boxes) == TOP
            assert label(pane, "sub") == "▸ workflow" and label(pane, "fan") == "▸ map"
            assert label(pane, "audit") == INSERTED_LABEL  # added at runtime, kept marked
            assert canvas.statuses["fan"] == "failed" and canvas.statuses["sub"] == "completed"

            await pilot.press("right", "right", "right")  # load, audit, sub
            assert canvas.selected == "sub"
            await pilot.press("enter")
            await wait_until(pilot, lambda: "sub/a" in canvas.dag_layout.boxes,
                             what="the sub-workflow's steps")
            assert set(canvas.dag_layout.boxes) == TOP - {"sub"} | {"sub/a", "sub/b"}
            assert canvas.selected == "sub/a"
            assert canvas.statuses["sub/a"] == "completed"
            assert canvas.statuses["sub/b"] == "failed"  # read from the child run

            await pilot.press("right", "right")  # sub/b, fan
            assert canvas.selected == "fan"
            await pilot.press("plus")
            await wait_until(pilot, lambda: "fan/clean" in canvas.dag_layout.boxes,
                             what="the map's steps")
            assert pane.opened == {"sub", "fan"}
            assert label(pane, "fan/clean") == "lambda ×item"
            assert canvas.statuses["fan/clean"] == "failed"  # item 1 failed
            assert canvas.statuses["fan/score"] == "completed"  # items 0 and 2 got there
            assert "done" not in canvas.statuses  # never ran

            await pilot.press("minus")  # on fan/clean: closes the map
            assert pane.opened == {"sub"} and canvas.selected == "fan"
            assert "fan/clean" not in canvas.dag_layout.boxes
            await pilot.press("c")
            assert pane.opened == frozenset()
            assert set(canvas.dag_layout.boxes) == TOP

        drive(fixture_app(), scenario)


def test_a_run_without_a_definition_keeps_its_graph_and_its_boxes_closed(isolated_store: Path
                                                                          ) -> None:
    gone = Workflow("boxes.gone", [  # lambdas: its stored version cannot be rebuilt either
        Step.lambda_("load", lambda ctx, cfg: {"items": [1]}),
        Step.map("fan", items_path="$.outputs.load.items",
                 iterator_steps=[Step.lambda_("each", lambda ctx, cfg: {})])])
    with registered(gone):
        run_id = record(isolated_store, gone, "boxes-gone")

    async def scenario(pilot: Pilot[Any]) -> None:
        screen, pane = await open_graph(pilot, run_id)
        canvas = pane.canvas
        assert screen.graph is not None and screen.graph.workflow is None
        assert set(canvas.dag_layout.boxes) == {"load", "fan"}
        assert label(pane, "fan") == "map"  # no ▸: it does not open
        assert canvas.border_subtitle == ("from the stored version · no definition: "
                                          "boxes stay closed")
        assert canvas.statuses["fan"] == "completed"
        await pilot.press("right", "right")
        assert canvas.selected == "fan"
        await pilot.press("enter")
        shown = await wait_until(pilot, lambda: [n for n in pilot.app._notifications
                                                 if "cannot be opened" in n.message],
                                 what="the refusal")
        message = shown[0].message
        assert message.startswith("fan cannot be opened: the run's definition cannot be "
                                  "rebuilt")
        assert "boxes.gone" in message and "Traceback" not in message
        assert set(canvas.dag_layout.boxes) == {"load", "fan"} and pane.opened == frozenset()

    drive(fixture_app(), scenario)


def test_recorded_statuses_key_sub_workflow_runs_inside_map_items(isolated_store: Path) -> None:
    mapped = Workflow("boxes.mapped", [
        Step.lambda_("src", lambda ctx, cfg: {"items": [1, 2]}),
        Step.map("fan", items_path="$.outputs.src.items",
                 iterator_steps=[Step.workflow("each", "boxes.child")])])
    with registered(CHILD, mapped):
        run_id = record(isolated_store, mapped, "boxes-mapped")
    store = RunStore(isolated_store)
    try:
        statuses = recorded_statuses(store, store.step_runs(run_id))
    finally:
        store.close()
    assert statuses["fan"] == "completed"
    assert statuses["fan[0].each"] == statuses["fan[1].each"] == "completed"
    assert statuses["fan[1].each/a"] == "completed" and statuses["fan[1].each/b"] == "failed"
    graph = expand(mapped, ["fan", "fan/each"], lookup={"boxes.child": CHILD}.__getitem__)
    assert node_statuses(graph, statuses) == {"src": "completed", "fan/each/a": "completed",
                                              "fan/each/b": "failed"}


def test_the_definition_is_wired_as_the_run_ran() -> None:
    graph = RunGraph("r", ("load", "handler", "fan"), (("load", "fan"), ("load", "handler")),
                     kinds={"load": "lambda", "handler": "lambda", "fan": "map"},
                     inserted=frozenset({"handler"}), workflow=PARENT)
    workflow = openable_workflow(graph)
    assert workflow is not None
    assert [s.name for s in workflow.steps] == ["load", "handler", "fan"]
    assert workflow.get_step("fan") is not PARENT.get_step("fan")  # re-wired
    assert workflow.get_step("fan").iterator_steps == PARENT.get_step("fan").iterator_steps
    assert set(workflow.plan.edges()) == {("load", "fan"), ("load", "handler")}
    labels = expanded_labels(graph, expand(workflow))
    assert labels == {"load": "lambda", "handler": INSERTED_LABEL, "fan": "▸ map"}
    damaged = RunGraph("r", ("a", "b"), (("a", "b"), ("b", "a")), workflow=PARENT)
    assert openable_workflow(damaged) is None
    assert openable_workflow(RunGraph("r", ("a",), ())) is None
