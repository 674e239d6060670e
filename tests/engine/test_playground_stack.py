"""The playground's stepped-into stack as public views: ``stack``, ``innermost``,
``stepped_into`` and ``composite_steps``, down a map, into an item, into its sub-workflow."""

from __future__ import annotations

from typing import Any

import pytest

from engine import Step, Workflow, WorkflowRunner, register_workflow, registry
from engine.playground import SteppedInto, StopReason, WorkflowPlayground

pytestmark = pytest.mark.usefixtures("clean_registry")


def scale(value: int, factor: int = 3) -> dict[str, Any]:
    return {"scaled": value * factor}


def describe(scaled: int) -> dict[str, Any]:
    return {"text": f"={scaled}"}


def nested_workflow() -> Workflow:
    """``load`` -> map ``fan`` whose items scale, then run the sub-workflow ``stack.describe``."""
    register_workflow(Workflow("stack.describe", [Step.from_function("describe", describe)]))
    return Workflow("stack.parent", [
        Step.lambda_("load", lambda ctx, config: {"items": [{"value": 1}, {"value": 2}]}),
        Step.map("fan", items_path="$.outputs.load.items",
                 iterator_steps=[Step.from_function("scale", scale, config={"factor": 5}),
                                 Step.workflow("each", "stack.describe")]),
    ])


def test_stack_innermost_and_breadcrumb_views_follow_nested_step_into() -> None:
    expected = WorkflowRunner().execute(nested_workflow()).outputs["fan"]
    pg = WorkflowPlayground()
    pg.load(nested_workflow())
    assert pg.stack == (pg,) and pg.innermost is pg and pg.stepped_into is None
    assert pg.composite_steps == {"fan"}
    pg.step()
    items = pg.step_into()
    assert pg.stepped_into == SteppedInto("fan", "map", "stack.parent.fan")
    assert items.composite_steps == {"fan[0]", "fan[1]"}
    item = items.step_into("fan[1]")
    assert items.stepped_into == SteppedInto("fan[1]", "map item", "fan[1]")
    assert item.composite_steps == {"each"} and item.step().output == {"scaled": 10}
    sub = item.step_into()
    assert item.stepped_into is not None and item.stepped_into.describe() == "each (sub-workflow)"
    assert pg.stack == (pg, items, item, sub) and pg.innermost is sub
    assert [p.stepped_into.describe() for p in pg.stack[:-1]] == [  # type: ignore[union-attr]
        "fan (map)", "fan[1] (map item)", "each (sub-workflow)"]
    assert sub.composite_steps == frozenset() and sub.step().output == {"text": "=10"}

    assert item.step_out().output == {"text": "=10"}
    assert pg.innermost is item and item.is_complete
    items.step_out()
    assert pg.step_out().output == expected and pg.stack == (pg,)


def finished_workflow() -> Workflow:
    """``nested_workflow`` plus a ``report`` step after the map."""
    parent = nested_workflow()
    return Workflow("stack.parent", [*parent.steps, Step.lambda_(
        "report", lambda ctx, config: {"n": len(ctx.get_output("fan"))})])


def test_continue_inside_a_child_carries_on_into_the_parents_to_the_end() -> None:
    expected = WorkflowRunner().execute(finished_workflow()).outputs
    pg = WorkflowPlayground()
    pg.load(finished_workflow())
    pg.step()
    item = pg.step_into().step_into("fan[0]")
    item.step()
    item.step_into("each")
    assert len(pg.stack) == 4

    done = pg.continue_()

    assert pg.stack == (pg,) and pg.is_complete
    assert pg.last_stop is not None and pg.last_stop.reason is StopReason.END
    assert pg.outputs == expected
    # innermost first: the sub-workflow's step, each level's step-out, then the parent's rest
    assert [s.step_name for s in done] == [
        "describe", "each", "fan[0]", "fan[1]", "fan", "report"]
    assert [s.step_name for s in pg.history] == ["load", "fan", "report"]


def test_continue_from_a_child_stops_at_breakpoints_on_either_side() -> None:
    pg = WorkflowPlayground()
    pg.load(finished_workflow())
    pg.add_breakpoint("report")
    pg.step()
    items = pg.step_into()
    items.add_breakpoint("fan[1]")

    pg.continue_()
    assert pg.innermost is items
    assert items.last_stop is not None and items.last_stop.reason is StopReason.BREAKPOINT
    assert items.last_stop.step == "fan[1]" and list(items.outputs) == ["fan[0]"]

    pg.continue_()  # leaves the map's child, records fan, stops before the parent's breakpoint
    assert pg.innermost is pg and "fan" in pg.outputs
    assert pg.last_stop is not None and pg.last_stop.reason is StopReason.BREAKPOINT
    assert pg.last_stop.step == "report" and "report" not in pg.outputs


def test_interrupt_reaches_whichever_level_is_running() -> None:
    box: dict[str, WorkflowPlayground] = {}

    def interrupting(ctx: Any, config: Any) -> dict[str, Any]:
        box["root"].interrupt()  # as the TUI's i would, from another thread, mid-step
        return {"ok": True}

    def outer(inner: list[Step]) -> Workflow:
        register_workflow(Workflow("stack.inner", inner))
        return Workflow("stack.outer", [Step.workflow("sub", "stack.inner"),
                                        Step.lambda_("after", lambda c, k: {"ok": 3})])

    pg = box["root"] = WorkflowPlayground()
    pg.load(outer([Step.lambda_("first", interrupting),
                   Step.lambda_("second", lambda c, k: {"ok": 2})]))
    child = pg.step_into()
    pg.continue_()  # the child pauses before its next step
    assert pg.innermost is child and child.last_stop is not None
    assert (child.last_stop.reason, child.last_stop.step) == (StopReason.INTERRUPTED, "second")

    registry.unregister_workflow("stack.inner")
    pg.load(outer([Step.lambda_("only", interrupting)]))
    pg.step_into()
    pg.continue_()  # the child ends at once; the parent, interrupted too, pauses next
    assert pg.innermost is pg and "sub" in pg.outputs
    assert pg.last_stop is not None
    assert (pg.last_stop.reason, pg.last_stop.step) == (StopReason.INTERRUPTED, "after")
