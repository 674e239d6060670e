"""A run started from the workbench reports its sub-workflows' steps too, keyed as the DAG
viewer's opened boxes are (``enrich/count``, ``fan[1].each/describe``), so an opened box
shows its inner steps' own live statuses."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import DiscoveredWorkflow, RunStore, Step, Workflow, register_workflow, registry
from spine_tui.messages import RunEnded, RunLaunched, StepStatusChanged
from spine_tui.services import launcher
from spine_tui.widgets.dag import expand, node_statuses


@pytest.fixture(autouse=True)
def _children() -> Iterator[None]:
    register_workflow(Workflow("relay.count", [
        Step.lambda_("count", lambda ctx, config: {"n": len(ctx.get_param("items", []))}),
        Step.lambda_("flag", lambda ctx, config: {"big": True}, depends_on=["count"])]))
    register_workflow(Workflow("relay.describe", [
        Step.lambda_("describe", lambda ctx, config: {"text": str(ctx.get_param("item"))})]))
    yield
    for name in ("relay.count", "relay.describe"):
        registry.unregister_workflow(name)


def parent() -> Workflow:
    return Workflow("relay.parent", [
        Step.lambda_("load", lambda ctx, config: {"items": [1, 2]}),
        Step.workflow("enrich", "relay.count", depends_on=["load"]),
        Step.map("fan", items_path="$.outputs.load.items", depends_on=["load"],
                 iterator_steps=[Step.workflow("each", "relay.describe")]),
    ])


def test_sub_workflow_steps_are_reported_inside_their_parent_step(tmp_path: Path) -> None:
    posted: list[Any] = []
    item = DiscoveredWorkflow(parent(), "relay.parent", "registry")
    launcher.run_tracked(tmp_path / "s.db", item, {"items": [1, 2]}, run_id="r1",
                         cancel=threading.Event(), post=posted.append)

    assert isinstance(posted[0], RunLaunched) and isinstance(posted[-1], RunEnded)
    assert posted[-1].status == "completed"
    changes = [m for m in posted if isinstance(m, StepStatusChanged)]
    assert {m.run_id for m in changes} == {"r1"}  # child runs report under the run started here
    final = {m.step: m.status for m in changes}
    assert final["enrich/count"] == final["enrich/flag"] == "completed"
    assert final["fan[0].each/describe"] == final["fan[1].each/describe"] == "completed"
    started = [m.step for m in changes if m.status == "running"]
    assert started.index("enrich") < started.index("enrich/count")

    run = launcher.launched(posted[0])
    for message in changes:
        run = launcher.apply_step(run, message)
    run = launcher.apply_end(run, posted[-1])
    assert run.done == 3  # the run's own steps only
    shown = node_statuses(expand(parent(), ["enrich", "fan", "fan/each"]), run.statuses)
    assert shown == {"load": "completed", "enrich/count": "completed",
                     "enrich/flag": "completed", "fan/each/describe": "completed"}
    children = RunStore(tmp_path / "s.db").list_runs(workflow="relay.count")
    assert [r.parent_run_id for r in children] == ["r1"]
