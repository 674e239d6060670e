"""The run-detail graph pane (``g``): an adaptive run recorded by a real TrackedWorkflowRunner
is drawn as it ran, with the inserted step's box marked and the changes listed beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from tui_harness import drive, fixture_app, plain, wait_until

from engine import Step, StepResult, TrackedWorkflowRunner, Workflow, WorkflowContext
from screens import RunDetailScreen
from spine_tui.widgets.dag import DagCanvas
from spine_tui.widgets.run_graph import INSERTED_LABEL, RunChangesView, RunGraphPane


def plan(ctx: WorkflowContext, config: Any) -> StepResult:
    ctx.insert_step_after("plan", Step.lambda_("audit", lambda c, f: {"audited": True}))
    ctx.skip_steps(["report"])
    return StepResult.ok()


def record_adaptive_run(db: Path) -> str:
    workflow = Workflow("tui.adaptive", [Step.lambda_("plan", plan),
                                         Step.lambda_("load", lambda c, f: {"rows": 3}),
                                         Step.lambda_("report", lambda c, f: {})])
    with TrackedWorkflowRunner(db) as runner:
        return runner.execute(workflow, run_id="adaptive-1").run_id


def box_text(canvas: DagCanvas, name: str) -> str:
    """The three lines of step ``name``'s box as drawn."""
    box = canvas.dag_layout.boxes[name]
    return "\n".join(canvas.line_text(row).plain[box.left:box.left + box.width]
                     for row in range(box.top, box.top + box.height))


def test_g_draws_the_graph_as_it_ran_with_the_inserted_step_marked(isolated_store: Path
                                                                   ) -> None:
    run_id = record_adaptive_run(isolated_store)

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = RunDetailScreen(run_id)
        await pilot.app.push_screen(screen)
        await wait_until(pilot, lambda: screen.run is not None, what="the run")
        pane = screen.query_one(RunGraphPane)
        assert not pane.display
        await pilot.press("g")
        await wait_until(pilot, lambda: screen.graph is not None, what="the run's graph")
        assert pane.display and not screen.query_one("#timeline-pane").display
        canvas = pane.canvas
        assert canvas.has_focus
        assert set(canvas.dag_layout.boxes) == {"plan", "audit", "load", "report"}
        audit = box_text(canvas, "audit")
        assert INSERTED_LABEL in audit.splitlines()[0] and "audit" in audit.splitlines()[1]
        assert INSERTED_LABEL not in box_text(canvas, "load")
        assert canvas.statuses["audit"] == "completed"
        assert canvas.statuses["report"] == "skipped"
        assert canvas.border_title == "Graph as it ran · 4 steps, 1 inserted at runtime"
        assert canvas.border_subtitle == "from the adaptive changes"
        changes = plain(screen.query_one(RunChangesView))
        assert "insert_after by plan" in changes and "+audit after plan" in changes
        assert "skip by plan" in changes and "skipped report" in changes
        await pilot.press("right")
        assert canvas.selected is not None  # arrow keys move between the boxes
        await pilot.press("g")
        assert not pane.display and screen.query_one("#timeline-pane").display

    drive(fixture_app(), scenario)
