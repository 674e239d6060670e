"""``run_graph``: the graph a stored run ran, from its adaptive changes, its stored version,
its rebuilt definition or, failing all, its step records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine import (
    RunStore,
    Step,
    StepResult,
    TrackedWorkflowRunner,
    Workflow,
    WorkflowContext,
    register_workflow,
    registry,
)
from engine.executed_graph import (
    FROM_CHANGES,
    FROM_DEFINITION,
    FROM_STEPS,
    FROM_VERSION,
    RunGraph,
    run_graph,
)

pytestmark = pytest.mark.usefixtures("clean_registry")


def done(name: str) -> Step:
    return Step.lambda_(name, lambda ctx, cfg: {name: True})


def adaptive_workflow() -> Workflow:
    """``plan`` inserts ``backoff`` before ``load`` and ``audit`` after ``extract``, and
    skips ``report``."""
    def plan(ctx: WorkflowContext, config: Any) -> StepResult:
        ctx.insert_step_before("load", done("backoff"))
        ctx.insert_step_after("extract", done("audit"))
        ctx.skip_steps(["report"])
        return StepResult.ok()

    return Workflow("graph.adaptive", [Step.lambda_("plan", plan), done("extract"),
                                       done("load"), done("report")])


def record(db: Path, workflow: Workflow) -> str:
    with TrackedWorkflowRunner(db) as runner:
        return runner.execute(workflow).run_id


def test_an_adaptive_run_is_drawn_as_it_ran_with_inserted_steps_marked(tmp_path: Path) -> None:
    db = tmp_path / "spine.db"
    run_id = record(db, adaptive_workflow())
    store = RunStore(db)
    graph = run_graph(store, run_id[:8])
    assert graph.run_id == run_id and graph.origin == FROM_CHANGES
    assert set(graph.steps) == {"plan", "extract", "audit", "backoff", "load", "report"}
    assert graph.inserted == {"audit", "backoff"}
    edges = set(graph.edges())
    assert {("extract", "audit"), ("backoff", "load")} <= edges
    assert ("extract", "load") not in edges
    layers = graph.layers()
    depth = {name: i for i, layer in enumerate(layers) for name in layer}
    assert depth["plan"] == 0 and depth["backoff"] > depth["plan"]
    assert depth["load"] > depth["backoff"]
    assert sum(len(layer) for layer in layers) == len(graph.steps)
    assert graph.statuses["audit"] == "completed" and graph.statuses["report"] == "skipped"
    assert graph.kinds["audit"] == "lambda" and graph.kinds["plan"] == "lambda"
    kinds = [(c.kind, c.step) for c in graph.changes]
    assert kinds == [("insert_before", "plan"), ("insert_after", "plan"), ("skip", "plan")]
    assert [c.describe() for c in graph.changes] == [
        "+backoff before load", "+audit after extract", "skipped report"]
    data = graph.to_dict()
    assert data["inserted"] == ["audit", "backoff"] and data["layers"] == layers
    assert data["changes"][0]["summary"] == "+backoff before load"
    store.close()


def test_a_run_without_changes_draws_its_stored_version(tmp_path: Path) -> None:
    db = tmp_path / "spine.db"
    diamond = Workflow("graph.diamond", [
        done("a"), done("b"), Step.lambda_("c", lambda ctx, cfg: {}, depends_on=["a"]),
        Step.lambda_("d", lambda ctx, cfg: {}, depends_on=["b", "c"])])
    run_id = record(db, diamond)
    graph = run_graph(RunStore(db), run_id, rebuild=False)
    assert graph.origin == FROM_VERSION and graph.changes == () and not graph.inserted
    assert graph.steps == ("a", "b", "c", "d")
    assert set(graph.edges()) == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")}
    assert graph.layers() == [["a"], ["b", "c"], ["d"]]


def test_without_a_stored_version_the_definition_is_rebuilt(tmp_path: Path) -> None:
    db = tmp_path / "spine.db"
    workflow = Workflow("graph.registered", [done("one"), done("two")])
    register_workflow(workflow)
    run_id = record(db, workflow)
    store = RunStore(db)
    with store.db.transaction() as conn:
        conn.execute("DELETE FROM workflow_versions")
    graph = run_graph(store, run_id)
    assert graph.origin == FROM_DEFINITION and graph.edges() == [("one", "two")]
    registry.unregister_workflow("graph.registered")
    fallback = run_graph(store, run_id, rebuild=False)
    assert fallback.origin == FROM_STEPS
    assert fallback.steps == ("one", "two") and fallback.edges() == []


def test_layers_survive_a_damaged_record() -> None:
    graph = RunGraph("r", ("a", "b", "c", "d"),
                     (("a", "b"), ("b", "c"), ("c", "b"), ("x", "a")))
    assert graph.layers() == [["a", "d"], ["b", "c"]]
