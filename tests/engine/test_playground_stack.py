"""The playground's stepped-into stack as public views: ``stack``, ``innermost``,
``stepped_into`` and ``composite_steps``, down a map, into an item, into its sub-workflow."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engine import Step, Workflow, WorkflowRunner, register_workflow, registry
from engine.playground import SteppedInto, WorkflowPlayground


@pytest.fixture(autouse=True)
def _clean_registries() -> Iterator[None]:
    workflows = set(registry.list_workflows())
    yield
    for name in set(registry.list_workflows()) - workflows:
        registry.unregister_workflow(name)


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
