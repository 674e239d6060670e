"""Workflows with composite steps for the playground-screen tests: a sub-workflow, and a
map whose items each run a sub-workflow, so stepping in can go three levels deep.

Built (and their sub-workflows registered) by ``nested_workflow()``; ``registered()``
unregisters them again, so they never leak into other tests' catalogs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from engine import Step, Workflow, register_workflow, registry

CHILDREN = ("tui.pg.enrich", "tui.pg.describe")


def load(ctx: Any, config: Any) -> dict[str, Any]:
    return {"items": [{"value": 1}, {"value": 2}, {"value": 3}], "rows": 150}


def count(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"count": len(items)}


def flag(count: int) -> dict[str, Any]:
    return {"big": count > 2}


def scale(value: int, factor: int = 1) -> dict[str, Any]:
    return {"scaled": value * factor}


def describe(scaled: int) -> dict[str, Any]:
    return {"text": f"={scaled}"}


def report(ctx: Any, config: Any) -> dict[str, Any]:
    results = ctx.get_output("fan", "results", [])
    return {"texts": [r["text"] for r in results], "big": ctx.get_output("enrich", "big")}


def nested_workflow() -> Workflow:
    """``load`` -> ``enrich`` (sub-workflow) -> ``fan`` (map: ``scale`` then the
    sub-workflow ``each``, per item) -> ``report``."""
    register_workflow(Workflow("tui.pg.enrich", [Step.from_function("count", count),
                                                 Step.from_function("flag", flag)]))
    register_workflow(Workflow("tui.pg.describe", [Step.from_function("describe", describe)]))
    return Workflow("tui.pg.nested", [
        Step.lambda_("load", load),
        Step.workflow("enrich", "tui.pg.enrich"),
        Step.map("fan", items_path="$.outputs.load.items",
                 iterator_steps=[Step.from_function("scale", scale, config={"factor": 5}),
                                 Step.workflow("each", "tui.pg.describe")]),
        Step.lambda_("report", report),
    ])


@contextmanager
def registered() -> Iterator[Workflow]:
    """``nested_workflow()`` with its sub-workflows registered for the block only."""
    try:
        yield nested_workflow()
    finally:
        for name in CHILDREN:
            if name in registry.list_workflows():
                registry.unregister_workflow(name)
