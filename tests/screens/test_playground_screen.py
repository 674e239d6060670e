"""The playground screen: stepping forward and back, breakpoints, run-to, re-runs, edits,
the timeline and diffs, errors as notifications, and a long continue that stays
interruptible while the UI keeps answering keys."""

from __future__ import annotations

import threading
from typing import Any

from textual.pilot import Pilot
from tui_harness import (
    RUN_FIXTURES,
    drive,
    fixture_app,
    open_workflow,
    plain,
    settled,
    wait_until,
)

from engine import Step, StepResult, Workflow
from screens import (
    OutputEditScreen,
    ParamEditScreen,
    PlaygroundScreen,
    RunParamsScreen,
    SnapshotDiffScreen,
)
from spine_tui.widgets.dag import DagCanvas
from spine_tui.widgets.inspector import JsonTree


async def debug(pilot: Pilot[Any], name: str) -> PlaygroundScreen:
    """Open workflow ``name`` and press d; returns the loaded playground screen."""
    await open_workflow(pilot, name)
    await pilot.press("d")
    await settled(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, PlaygroundScreen), screen
    assert screen.view is not None
    return screen


async def press(pilot: Pilot[Any], *keys: str) -> None:
    """Press ``keys`` and wait for the playground worker they started."""
    await pilot.press(*keys)
    await settled(pilot)


def errors(pilot: Pilot[Any]) -> list[str]:
    return [n.message for n in pilot.app._notifications if n.severity == "error"]


def test_n_steps_b_goes_back_and_the_dag_follows_the_cursor() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await debug(pilot, "etl")
        dag = screen.query_one(DagCanvas)
        assert (screen.view.position, dag.cursor, dag.selected) == (0, "extract", "extract")
        assert set(dag.statuses.values()) == {"pending"}

        await press(pilot, "b")  # refused: notified, and nothing changes
        assert any("cannot go back" in e for e in errors(pilot))
        await press(pilot, "e")  # re-run a step that never ran
        assert any("has not run yet" in e for e in errors(pilot))
        await pilot.press("o")
        assert not isinstance(pilot.app.screen, OutputEditScreen)
        assert screen.view.position == 0 and screen.timeline.option_count == 1

        await press(pilot, "n")
        await press(pilot, "f10")  # F10 steps too
        view = screen.view
        assert view.position == 2 and dag.cursor == "transform"
        assert dag.statuses["extract"] == dag.statuses["validate"] == "completed"
        assert dag.selected == "transform"  # the selection followed the cursor
        assert dict(view.outputs) == {"extract": {"rows": [1, 2, 3]},
                                      "validate": {"valid": True}}
        assert screen.timeline.option_count == 3
        assert "ran validate: completed" in screen.note

        await press(pilot, "b")
        assert screen.view.position == 1 and dag.cursor == "validate"
        assert dag.statuses["validate"] == "pending"
        assert screen.timeline.option_count == 3  # the undone step stays, ahead of the cursor
        screen.timeline.highlighted = 2
        await press(pilot, "g")
        assert screen.view.position == 2 and dag.cursor == "transform"

        await press(pilot, "c")
        await press(pilot, "n")
        assert any("have run" in e for e in errors(pilot))
        assert screen.view.status == "completed"

    drive(fixture_app(), scenario)


def test_breakpoints_continue_run_to_and_reset() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await debug(pilot, "etl")
        dag = screen.query_one(DagCanvas)
        await pilot.press("right", "right", "right")  # arrows move box to box
        assert dag.selected == "load"
        await press(pilot, "space")
        assert dict(screen.view.breakpoints).keys() == {"load"}
        assert dag.breakpoints == frozenset({"load"})

        await press(pilot, "c")
        assert screen.view.next_step == "load" and screen.view.position == 3
        assert "breakpoint before 'load'" in screen.note
        await press(pilot, "f9")  # F9 toggles it off again
        assert not screen.view.breakpoints
        await press(pilot, "c")
        assert screen.view.status == "completed" and "reached the end" in screen.note

        await press(pilot, "R")
        assert screen.view.position == 0 and screen.view.status == "pending"
        await pilot.press("left", "left")
        assert dag.selected == "validate"
        await press(pilot, "u")
        assert screen.view.next_step == "validate" and screen.view.executed == 1

    drive(fixture_app(), scenario)


def test_params_rerun_and_edited_output_change_what_follows() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_workflow(pilot, "params")
        await pilot.press("d")  # n is required: the params dialog asks first
        await pilot.pause()
        dialog = pilot.app.screen
        assert isinstance(dialog, RunParamsScreen) and dialog.verb == "Debug"
        await pilot.press("tab", "3", "enter")
        await settled(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, PlaygroundScreen)
        assert dict(screen.view.params) == {"factor": 2.0, "n": 3}
        await press(pilot, "n")
        assert screen.view.outputs["scale"] == {"value": 6.0}

        await pilot.press("p")
        assert isinstance(pilot.app.screen, ParamEditScreen)
        await pilot.press(*"factor=10", "enter")
        await settled(pilot)
        assert screen.view.params["factor"] == 10 and screen.view.position == 2
        screen.dag.selected = "scale"
        await press(pilot, "e")
        assert screen.view.outputs["scale"] == {"value": 30}
        assert "re-ran scale: completed" in screen.note

        await pilot.press("o")
        editor = pilot.app.screen
        assert isinstance(editor, OutputEditScreen) and editor.value == {"value": 30}
        editor.query_one("TextArea").text = '{"value": "oops"'
        await pilot.press("ctrl+s")
        assert "not valid JSON" in str(editor.query_one("#output-problem").render())
        editor.query_one("TextArea").text = '{"value": 1.5}'
        await pilot.press("ctrl+s")
        await settled(pilot)
        assert screen.view.outputs["scale"] == {"value": 1.5}
        await press(pilot, "n")
        assert screen.view.outputs["report"] == {"report": "value=1.5"}

        await press(pilot, "b", "b", "b")  # undo the step, the edit and the re-run
        assert screen.view.outputs["scale"] == {"value": 6.0}

    drive(fixture_app(RUN_FIXTURES), scenario)


def test_diff_of_two_timeline_entries() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await debug(pilot, "etl")
        await press(pilot, "n", "n")
        timeline = screen.timeline
        timeline.focus()
        timeline.highlighted = 0
        await pilot.press("d")
        assert timeline.marked == 0
        timeline.highlighted = 2
        await press(pilot, "d")
        dialog = pilot.app.screen
        assert isinstance(dialog, SnapshotDiffScreen)
        assert (dialog.before, dialog.after) == (0, 2)
        assert set(dialog.diff.outputs_added) == {"extract", "validate"}
        assert dialog.diff.statuses_changed["extract"][1].value == "completed"
        table = plain(dialog.query_one("#diff-table"))
        assert "output extract" in table and "status validate" in table
        await pilot.press("escape")
        assert pilot.app.screen is screen and timeline.marked is None

        titles = {c.title for c in pilot.app.get_system_commands(screen)}
        for title in ("Step", "Step back", "Continue", "Run to", "Breakpoint", "Rerun",
                      "Output", "Params", "Diff", "Reset", "Interrupt", "Go to snapshot",
                      "Analytics"):
            assert title in titles, title
        await pilot.press("question_mark")
        help_screen = pilot.app.screen
        keys = dict(help_screen.sections[0][1])
        assert keys["n"] == "Step" and keys["space"] == "Breakpoint" and keys["R"] == "Reset"
        assert "debugger" in help_screen.intro

    drive(fixture_app(), scenario)


def gated_workflow(started: threading.Event, gate: threading.Event) -> Workflow:
    """Three steps; the middle one blocks until ``gate`` opens (a slow handler)."""

    def quick(ctx: Any, config: Any) -> StepResult:
        return StepResult.ok(output={"quick": True})

    def slow(ctx: Any, config: Any) -> StepResult:
        started.set()
        gate.wait(10)
        return StepResult.ok(output={"slow": "done"})

    return Workflow("tui.gated", [Step.lambda_("first", quick), Step.lambda_("slow", slow),
                                  Step.lambda_("last", quick)])


def test_a_long_continue_keeps_the_ui_live_and_can_be_interrupted() -> None:
    started, gate = threading.Event(), threading.Event()

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = PlaygroundScreen(gated_workflow(started, gate))
        await pilot.app.push_screen(screen)
        await settled(pilot)
        await pilot.press("c")
        await wait_until(pilot, started.is_set, what="the slow step to start")
        assert screen.busy == "continuing"
        await pilot.press("right")  # the UI answers while the handler runs
        assert screen.dag.selected == "slow"
        await pilot.press("n")  # a second command is refused, not queued
        assert any("Still continuing" in n.message for n in pilot.app._notifications)
        await pilot.press("i")
        gate.set()
        await settled(pilot)
        assert not screen.busy
        assert screen.view.executed == 2 and screen.view.next_step == "last"
        assert "interrupted" in screen.note
        await press(pilot, "c")
        assert screen.view.status == "completed"

    try:
        drive(fixture_app(), scenario)
    finally:
        gate.set()


def test_json_tree_cuts_long_values_and_pages_big_containers() -> None:
    from textual.app import App, ComposeResult

    class TreeApp(App[None]):
        def compose(self) -> ComposeResult:
            yield JsonTree()

    async def main() -> None:
        async with TreeApp().run_test(size=(100, 30)) as pilot:
            tree = pilot.app.query_one(JsonTree)
            tree.show({"outputs": {"big": list(range(120)), "text": "x" * 500}})
            await pilot.pause()
            outputs = tree.root.children[0]
            big, text = outputs.children
            assert "[…] 120 items" in str(big.label)
            assert "(+382 chars, Enter shows all)" in str(text.label)
            big.expand()
            await pilot.pause()
            assert len(big.children) == 51 and "70 more" in str(big.children[-1].label)
            tree.focus()
            tree.move_cursor(big.children[-1])
            await pilot.press("enter")
            assert len(big.children) == 101 and "20 more" in str(big.children[-1].label)
            tree.move_cursor(text)
            await pilot.press("enter")
            assert "x" * 500 in str(text.label)
            tree.show({"outputs": {"big": list(range(3)), "text": "y"}})
            await pilot.pause()
            assert tree.root.children[0].children[0].is_expanded  # still open after a redraw

    import asyncio

    asyncio.run(main())


def test_a_session_without_a_file_takes_in_the_catalogs_newer_definition() -> None:
    from dataclasses import replace as copy_with

    from engine import DiscoveredWorkflow

    def one(ctx: Any, config: Any) -> StepResult:
        return StepResult.ok(output={"n": 1})

    old = Workflow("tui.swap.registered", [Step.lambda_("first", one),
                                           Step.lambda_("second", one)])

    async def scenario(pilot: Pilot[Any]) -> None:
        catalog = pilot.app.catalog
        pilot.app.catalog = copy_with(catalog, workflows=(
            *catalog.workflows, DiscoveredWorkflow(old, "registry", "registry")))
        screen = PlaygroundScreen(old)
        await pilot.app.push_screen(screen)
        await settled(pilot)
        assert screen.watching is None
        await press(pilot, "n", "n")
        newer = Workflow(old.name, [*old.steps, Step.lambda_("audit", one)], version=2)
        catalog = pilot.app.catalog
        pilot.app.catalog = copy_with(catalog, workflows=tuple(
            copy_with(w, workflow=newer) if w.name == old.name else w
            for w in catalog.workflows))
        await wait_until(pilot, lambda: screen.view.workflow is newer, what="the reload")
        await settled(pilot)
        view = screen.view
        assert "audit" in screen.dag.dag_layout.boxes
        assert view.outputs["second"] == {"n": 1} and view.next_step == "audit"
        assert view.current.kind == "reload" and view.position == 3
        assert "audit (added)" in screen.note

    drive(fixture_app(), scenario)


# --------------------------------------------------------------------------- stepping into
async def nested(pilot: Pilot[Any], workflow: Workflow) -> PlaygroundScreen:
    """The playground on ``workflow``, loaded."""
    screen = PlaygroundScreen(workflow)
    await pilot.app.push_screen(screen)
    await settled(pilot)
    assert screen.view is not None
    return screen


async def keys(pilot: Pilot[Any], *names: str) -> None:
    """Press each key in turn, waiting for the command it starts before the next one."""
    for name in names:
        await press(pilot, name)


def warnings(pilot: Pilot[Any]) -> list[str]:
    return [n.message for n in pilot.app._notifications if n.severity == "warning"]


def status(screen: PlaygroundScreen) -> str:
    return plain(screen.query_one("#pg-status"))


def test_step_into_a_sub_workflow_step_inside_back_out_and_step_out() -> None:
    async def scenario(pilot: Pilot[Any], workflow: Workflow) -> None:
        screen = await nested(pilot, workflow)
        await press(pilot, "s")  # load is a plain step
        assert any("load is a lambda step" in e and "n runs it" in e for e in errors(pilot))
        screen.dag.selected = "fan"
        await press(pilot, "s")  # a map, but it waits for load and enrich
        assert any("waits for" in e and "'enrich'" in e for e in errors(pilot))
        await press(pilot, "O")
        assert any("Not inside" in w for w in warnings(pilot))
        assert screen.view.depth == 0 and screen.view.position == 0

        screen.dag.selected = "load"
        await keys(pilot, "n", "s")  # the selection follows the cursor to enrich
        view = screen.view
        assert view.workflow.name == "tui.pg.enrich" and view.depth == 1
        assert view.trail == ("tui.pg.nested", "enrich (sub-workflow)")
        assert "tui.pg.nested ▸ enrich (sub-workflow)" in status(screen)
        assert screen.dag.border_subtitle == "O steps out"
        assert set(screen.dag.dag_layout.boxes) == {"count", "flag"}
        assert screen.dag.border_title == "DAG · tui.pg.enrich"
        assert "load" in view.outputs  # the inherited context
        assert "stepped into enrich (sub-workflow): 2 steps inside" in screen.note

        await press(pilot, "n")
        assert screen.view.outputs["count"] == {"count": 3} and screen.view.position == 1
        await keys(pilot, "b", "b")  # back to the child's start, then out of it unrun
        view = screen.view
        assert view.depth == 0 and view.next_step == "enrich" and "enrich" not in view.runs
        assert "left enrich without running it" in screen.note

        await keys(pilot, "s", "n", "O")
        view = screen.view
        assert view.depth == 0 and view.workflow is workflow
        assert view.runs["enrich"].status.value == "completed"
        assert view.outputs["enrich"] == {"count": 3, "big": True}
        assert view.current.step_name == "enrich" and view.next_step == "fan"
        assert "stepped out of enrich (sub-workflow); ran enrich: completed" in screen.note
        assert set(screen.dag.dag_layout.boxes) == {"load", "enrich", "fan", "report"}
        await press(pilot, "b")  # the parent's step back undoes the recorded step
        assert screen.view.next_step == "enrich" and screen.view.depth == 0

    run_nested(scenario)


def test_step_into_a_map_then_an_item_then_its_sub_workflow() -> None:
    async def scenario(pilot: Pilot[Any], workflow: Workflow) -> None:
        screen = await nested(pilot, workflow)
        await keys(pilot, "n", "n", "s")
        view = screen.view
        assert view.trail[1:] == ("fan (map)",)
        assert [s.name for s in view.workflow.steps] == ["fan[0]", "fan[1]", "fan[2]"]
        assert view.composite == {"fan[0]", "fan[1]", "fan[2]"}
        await press(pilot, "n")  # item 0 stepped over
        assert screen.view.outputs["fan[0]"] == {"text": "=5"}
        screen.dag.selected = "fan[2]"  # ready, so s takes it rather than the next one
        await press(pilot, "s")
        assert screen.view.trail[1:] == ("fan (map)", "fan[2] (map item)")
        assert "fan (map) ▸ fan[2] (map item)" in status(screen)
        await press(pilot, "n")
        assert screen.view.outputs["scale"] == {"scaled": 15}
        await press(pilot, "s")
        view = screen.view
        assert view.depth == 3 and view.trail[-1] == "each (sub-workflow)"
        assert view.workflow.name == "tui.pg.describe"
        await press(pilot, "n")
        assert screen.view.outputs["describe"] == {"text": "=15"}

        await press(pilot, "O")  # to the item, which records each
        assert screen.view.depth == 2 and screen.view.outputs["each"] == {"text": "=15"}
        await press(pilot, "O")  # to the map's items
        assert screen.view.depth == 1 and screen.view.outputs["fan[2]"] == {"text": "=15"}
        await press(pilot, "O")  # runs fan[1] too, and records fan in the parent
        view = screen.view
        assert view.depth == 0 and view.next_step == "report"
        assert view.outputs["fan"] == {"results": [{"text": "=5"}, {"text": "=10"},
                                                   {"text": "=15"}], "count": 3}
        await press(pilot, "c")
        assert screen.view.outputs["report"]["texts"] == ["=5", "=10", "=15"]

        await keys(pilot, "b", "b", "s", "s", "R")  # reset leaves every child
        assert screen.view.depth == 0 and screen.view.position == 0

    run_nested(scenario)


def test_continue_inside_a_child_carries_on_into_the_parent() -> None:
    async def scenario(pilot: Pilot[Any], workflow: Workflow) -> None:
        screen = await nested(pilot, workflow)
        await keys(pilot, "n", "n", "s", "s")  # into fan, then into its first item
        assert screen.view.depth == 2
        screen.dag.selected = "each"
        await press(pilot, "space")  # a breakpoint inside the item
        await press(pilot, "c")
        view = screen.view
        assert view.depth == 2 and view.next_step == "each"
        assert "stopped at the breakpoint before 'each'" in screen.note

        await press(pilot, "c")  # the item ends: out through fan to the parent's end
        view = screen.view
        assert view.depth == 0 and view.next_step is None
        assert view.outputs["report"]["texts"] == ["=5", "=10", "=15"]
        assert "reached the end" in screen.note and not errors(pilot)

    run_nested(scenario)


def test_conditional_breakpoints_from_the_dialog() -> None:
    from textual.widgets import Checkbox, Input

    from screens.playground_dialogs import ConditionScreen
    from spine_tui.widgets.playground import ConditionList

    async def condition(pilot: Pilot[Any], text: str, *, watch: bool = False) -> Any:
        await pilot.press("B")
        dialog = pilot.app.screen
        assert isinstance(dialog, ConditionScreen)
        if watch:
            dialog.query_one(Checkbox).value = True
        dialog.query_one(Input).value = text
        await press(pilot, "enter")
        return dialog

    async def scenario(pilot: Pilot[Any], workflow: Workflow) -> None:
        screen = await nested(pilot, workflow)
        conditions = screen.query_one(ConditionList)
        assert not conditions.display
        screen.dag.selected = "report"
        dialog = await condition(pilot, 'outputs["load"]["rows" > 100')
        assert pilot.app.screen is dialog  # refused in place, nothing added
        problem = plain(dialog.query_one("#cond-problem"))
        assert "does not parse" in problem and "column 16" in problem
        assert dialog.query_one(Input).cursor_position == 15
        dialog.query_one(Input).value = 'outputs["load"]["rows"] > 100'
        await press(pilot, "enter")
        assert pilot.app.screen is screen
        view = screen.view
        assert [bp.expression for bp in view.conditional] == ['outputs["load"]["rows"] > 100']
        assert set(view.conditions) == {"report"} and not view.breakpoints
        assert screen.dag.breakpoints == frozenset({"report"})
        assert screen.dag.conditional == frozenset({"report"})
        box = screen.dag.dag_layout.boxes["report"]
        top = screen.dag.line_text(box.top).plain
        assert top[box.left + box.width - 3] == "◆" and "●" not in top
        assert conditions.display and conditions.option_count == 1
        assert "report if outputs" in str(conditions.get_option_at_index(0).prompt)
        assert '◆ if outputs["load"]["rows"] > 100' in plain(screen.query_one("#pg-step"))
        assert "◆ 1 condition" in status(screen)

        await press(pilot, "c")
        assert screen.view.next_step == "report" and screen.view.position == 3
        assert "stopped before 'report': outputs[\"load\"][\"rows\"] > 100 holds" in screen.note

        await press(pilot, "R")
        await condition(pilot, "outputs['enrich']['nope'] > 1", watch=True)
        assert [bp.step for bp in screen.view.conditional] == ["report", None]
        await press(pilot, "c")  # the watch raises after load: a stop, not a crash
        assert screen.view.position == 1
        assert "stopped after 'load': the condition outputs['enrich']['nope'] > 1 raised " \
               "KeyError: 'enrich'" in screen.note

        conditions.focus()
        conditions.highlighted = 1
        await press(pilot, "x")
        assert [bp.step for bp in screen.view.conditional] == ["report"]
        screen.dag.focus()
        screen.dag.selected = "report"
        await press(pilot, "space")  # space on a step clears its breakpoints, conditions too
        assert not screen.view.conditional and not conditions.display
        assert screen.dag.breakpoints == frozenset()

        screen.dag.selected = "enrich"
        await press(pilot, "s")  # inside a child, breakpoints are the child's own
        assert screen.view.depth == 1
        dialog = await condition(pilot, "count >= 3")
        assert "unknown name 'count'" in plain(dialog.query_one("#cond-problem"))
        await pilot.press("escape")
        assert pilot.app.screen is screen and not screen.view.conditional
        await condition(pilot, "ctx.get('count', 0) >= 3", watch=True)
        await press(pilot, "c")
        assert screen.view.depth == 1 and screen.view.current.step_name == "count"
        assert "the watch ctx.get('count', 0) >= 3 held after 'count'" in screen.note

    run_nested(scenario)


def run_nested(scenario: Any) -> None:
    """``scenario(pilot, workflow)`` on the fixture app with the nested workflow registered."""
    from playground_flows import registered

    with registered() as workflow:
        drive(fixture_app(), lambda pilot: scenario(pilot, workflow))
