"""``expand`` opens sub-workflow and map steps in place: inner boxes keyed ``parent/step``,
wired to the parent's neighbours, guarded against cycles and unregistered children."""

from __future__ import annotations

import pytest

from engine import Step, Workflow, register_workflow, unregister_workflow
from engine.errors import UnknownWorkflowError
from spine_tui.widgets.dag import ExpandedDag, expand, node_statuses
from spine_tui.widgets.dag.layout import ARROW, compute_layout
from spine_tui.widgets.steps import step_fields


def noop() -> dict:
    return {}


def fn(name: str, deps: list[str] | None = None) -> Step:
    return Step.from_function(name, noop, depends_on=deps)


def registry(*workflows: Workflow):
    known = {wf.name: wf for wf in workflows}

    def lookup(name: str) -> Workflow:
        if name not in known:
            raise UnknownWorkflowError([name])
        return known[name]

    return lookup


CHILD = Workflow("t.child", [fn("a", []), fn("b", ["a"]), fn("c", ["a"])])
PARENT = Workflow("t.parent", [
    fn("load", []),
    Step.map("fan", items_path="$.outputs.load.items", depends_on=["load"],
             iterator_steps=[fn("clean"), fn("score")]),
    Step.workflow("sub", "t.child", depends_on=["load"]),
    Step.workflow("ghost", "t.nobody", depends_on=["load"]),
    fn("done", ["fan", "sub", "ghost"]),
])
LOOKUP = registry(CHILD)


def opened(*keys: str, workflow: Workflow = PARENT) -> ExpandedDag:
    return expand(workflow, keys, lookup=LOOKUP)


def test_closed_graph_is_the_plan_with_openable_boxes_marked() -> None:
    graph = opened()
    assert graph.layers() == PARENT.plan.layers()
    assert graph.edges() == PARENT.plan.edges()
    labels = graph.labels()
    assert labels["fan"] == "▸ map" and labels["sub"] == "▸ workflow"
    assert labels["load"] == "function"
    assert labels["ghost"] == "workflow"  # cannot open: no ▸
    assert graph.problems == {"ghost": "workflow t.nobody is not registered "
                                       "(engine.register_workflow)"}


def test_an_open_map_shows_its_iterator_steps_per_item_in_its_place() -> None:
    graph = opened("fan")
    assert graph.opened == {"fan"}
    assert "fan" not in graph.nodes
    assert graph.inside("fan") == ["fan/clean", "fan/score"]
    assert ("load", "fan/clean") in graph.edges()
    assert ("fan/clean", "fan/score") in graph.edges()
    assert ("fan/score", "done") in graph.edges()
    assert graph.labels()["fan/clean"] == "function ×item"
    node = graph.nodes["fan/score"]
    assert node.parent == "fan" and node.top == "fan" and node.per_item
    assert node.dependencies == ("clean",)
    assert node.scope == "map fan: once per item of $.outputs.load.items"
    assert graph.layers() == [["load"], ["fan/clean", "sub", "ghost"], ["fan/score"], ["done"]]


def test_an_open_sub_workflow_wires_upstreams_to_its_roots_and_leaves_to_downstreams() -> None:
    graph = opened("sub")
    edges = set(graph.edges())
    assert {("load", "sub/a"), ("sub/a", "sub/b"), ("sub/a", "sub/c"),
            ("sub/b", "done"), ("sub/c", "done")} <= edges
    assert not any("sub" in (u, v) for u, v in edges)
    assert graph.nodes["sub/b"].scope == "sub-workflow t.child (step sub)"
    assert not graph.nodes["sub/b"].per_item
    layout = compute_layout(graph, labels=graph.labels())
    assert set(layout.boxes) == set(graph.nodes)
    drawing = "\n".join(layout.lines)
    assert "│ sub/a " in drawing and "┌─ ▸ map " in drawing
    assert drawing.count(ARROW) == len({v for _, v in edges})


def test_opened_steps_nest_and_an_inner_key_needs_its_parent_open() -> None:
    inner = Workflow("t.inner", [fn("x", []),
                                 Step.map("m", items_path="$.outputs.x.items",
                                          iterator_steps=[fn("y")])])
    outer = Workflow("t.outer", [fn("start", []), Step.workflow("s", "t.inner"), fn("end")])
    lookup = registry(inner)
    assert set(expand(outer, ["s/m"], lookup=lookup).nodes) == {"start", "s", "end"}
    graph = expand(outer, ["s", "s/m"], lookup=lookup)
    assert list(graph.nodes) == ["start", "s/x", "s/m/y", "end"]
    assert set(graph.edges()) == {("start", "s/x"), ("s/x", "s/m/y"), ("s/m/y", "end")}
    node = graph.nodes["s/m/y"]
    assert node.parent == "s/m" and node.per_item
    assert graph.labels()["s/m/y"] == "function ×item"
    assert graph.nearest("s/m") == "s/m/y"  # an open step stands for its first box
    assert graph.nearest("s/m/gone") == "s/m/y"
    assert expand(outer, [], lookup=lookup).nearest("s/m/y") == "s"
    assert graph.closing("s") == frozenset() and graph.closing("s/m") == {"s"}


def test_sub_workflows_that_call_back_up_the_chain_stay_closed() -> None:
    ping = Workflow("t.ping", [fn("go", []), Step.workflow("call", "t.pong")])
    pong = Workflow("t.pong", [Step.workflow("back", "t.ping")])
    lookup = registry(ping, pong)
    graph = expand(ping, ["call", "call/back"], lookup=lookup)
    assert graph.opened == {"call"}
    assert list(graph.nodes) == ["go", "call/back"]
    assert graph.problems["call/back"] == "it calls t.ping again (t.ping → t.pong → t.ping)"
    assert graph.labels()["call/back"] == "workflow"
    me = Workflow("t.me", [Step.workflow("again", "t.me")])
    assert "again" in expand(me, ["again"], lookup=registry(me)).problems


def test_unregistered_and_clashing_children_stay_closed_with_a_reason() -> None:
    graph = opened("ghost")
    assert graph.opened == frozenset() and "ghost" in graph.nodes
    assert "not registered" in graph.problems["ghost"]
    clash = Workflow("t.clash", [Step.workflow("sub", "t.child", depends_on=[]),
                                 fn("sub/a", ["sub"])])
    graph = expand(clash, ["sub"], lookup=LOOKUP)
    assert set(graph.nodes) == {"sub", "sub/a"}
    assert "clash" in graph.problems["sub"]


def test_the_engine_registry_is_the_default_lookup() -> None:
    register_workflow(CHILD)
    try:
        assert expand(PARENT, ["sub"]).inside("sub") == ["sub/a", "sub/b", "sub/c"]
    finally:
        unregister_workflow(CHILD.name)


def test_live_statuses_of_inner_boxes() -> None:
    graph = opened("fan", "sub")
    statuses = {"load": "completed", "fan": "running", "sub": "running", "ghost": "pending",
                "fan[0].clean": "completed", "fan[1].clean": "running",
                "fan[0].score": "completed"}
    shown = node_statuses(graph, statuses)
    assert shown["load"] == "completed" and shown["ghost"] == "pending"
    assert shown["fan/clean"] == "running"  # the worst of its items
    assert shown["fan/score"] == "completed"
    assert shown["sub/a"] == shown["sub/c"] == "pending"  # the child's run reported nothing yet
    statuses |= {"sub/a": "completed", "sub/b": "running"}  # its steps, as the launcher keys them
    shown = node_statuses(graph, statuses)
    assert (shown["sub/a"], shown["sub/b"], shown["sub/c"]) == ("completed", "running", "pending")
    assert node_statuses(graph, {"sub": "completed"})["sub/b"] == "completed"  # top level only
    statuses |= {"fan[1].clean": "failed", "fan": "failed"}
    assert node_statuses(graph, statuses)["fan/clean"] == "failed"
    del statuses["fan[0].score"]
    statuses["fan"] = "running"
    assert node_statuses(graph, statuses)["fan/score"] == "pending"  # no item reached it yet
    assert node_statuses(graph, {}) == {}


def test_nested_maps_read_their_items_statuses() -> None:
    wf = Workflow("t.nested", [fn("src", []), Step.map(
        "outer", items_path="$.outputs.src.items",
        iterator_steps=[Step.map("inner", items_path="$.outputs.src.items",
                                 iterator_steps=[fn("leaf")])])])
    graph = expand(wf, ["outer", "outer/inner"])
    shown = node_statuses(graph, {"outer": "running", "outer[0].inner": "running",
                                  "outer[0].inner[1].leaf": "retrying",
                                  "outer[1].inner[0].leaf": "completed"})
    assert shown == {"outer/inner/leaf": "retrying"}


def test_a_sub_workflow_inside_a_map_reads_each_items_child_run() -> None:
    wf = Workflow("t.mapsub", [fn("src", []), Step.map(
        "fan", items_path="$.outputs.src.items",
        iterator_steps=[Step.workflow("each", "t.child")])])
    graph = expand(wf, ["fan", "fan/each"], lookup=LOOKUP)
    shown = node_statuses(graph, {"fan": "running", "fan[0].each": "completed",
                                  "fan[1].each": "running", "fan[0].each/a": "completed",
                                  "fan[0].each/b": "completed", "fan[1].each/a": "completed",
                                  "fan[1].each/b": "failed"})
    assert "fan/each" not in shown  # opened: its inner steps stand in for it
    assert (shown["fan/each/a"], shown["fan/each/b"]) == ("completed", "failed")
    assert shown["fan/each/c"] == "pending"  # fan[1].each still runs, c not reached


def test_step_fields_say_where_an_inner_step_runs() -> None:
    node = opened("fan").nodes["fan/clean"]
    rows = dict(step_fields(node.step, node.dependencies, within=node.scope))
    assert rows["inside"] == "map fan: once per item of $.outputs.load.items"
    assert rows["depends on"] == "— (starts first inside)"
    assert "inside" not in dict(step_fields(PARENT.get_step("load"), []))


@pytest.mark.parametrize("open_maps", [False, True])
def test_five_hundred_steps_expand_and_lay_out(open_maps: bool) -> None:
    """Shape only: how fast it is lives in bench/bench_tui.py (``open map box``)."""
    steps: list[Step] = []
    for i in range(500):
        deps = [f"s{i - 1}"] if i % 25 else []
        if i > 25:
            deps.append(f"s{i - 25}")
        if i % 10 == 5:
            steps.append(Step.map(f"s{i}", items_path="$.params.items", depends_on=deps,
                                  iterator_steps=[fn("a"), fn("b")]))
        else:
            steps.append(fn(f"s{i}", deps))
    wf = Workflow("t.big", steps)
    keys = [s.name for s in steps if s.iterator_steps] if open_maps else []
    graph = expand(wf, keys)
    layout = compute_layout(graph, labels=graph.labels())
    assert len(layout.boxes) == 500 + len(keys)
    assert all(f"s{i}/a" in layout.boxes for i in range(5, 500, 10)) is open_maps
