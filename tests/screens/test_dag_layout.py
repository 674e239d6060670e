"""``layout_dag`` draws every step once and every edge as a left-to-right path to an arrow."""

from __future__ import annotations

import re

import pytest

from engine import Step, Workflow
from spine_tui.widgets.dag.layout import ARROW, compute_layout, layout_dag

UP, DOWN, LEFT, RIGHT = (-1, 0), (1, 0), (0, -1), (0, 1)
LINKS = {
    "─": {LEFT, RIGHT}, "│": {UP, DOWN}, "┌": {DOWN, RIGHT}, "┐": {DOWN, LEFT},
    "└": {UP, RIGHT}, "┘": {UP, LEFT}, "├": {UP, DOWN, RIGHT}, "┤": {UP, DOWN, LEFT},
    "┬": {LEFT, RIGHT, DOWN}, "┴": {LEFT, RIGHT, UP}, "┼": {UP, DOWN, LEFT, RIGHT},
    ARROW: {LEFT},
}
OPPOSITE = {UP: DOWN, DOWN: UP, LEFT: RIGHT, RIGHT: LEFT}


def noop() -> dict:
    return {}


def workflow(*spec: tuple[str, list[str]]) -> Workflow:
    return Workflow("dag.test", [Step.from_function(name, noop, depends_on=deps)
                                 for name, deps in spec])


def traced_edges(wf: Workflow) -> set[tuple[str, str]]:
    """Follow the drawn lines from each box's exit, never moving left (edges flow left to
    right), and collect the boxes whose arrows are reached."""
    layout = compute_layout(wf.plan, wf.steps)
    grid = [line.ljust(layout.width) for line in layout.lines]
    entries = {(b.top + 1, b.left - 1): name for name, b in layout.boxes.items()}
    found: set[tuple[str, str]] = set()
    for name, box in layout.boxes.items():
        exit_cell = (box.top + 1, box.left + box.width - 1)
        if grid[exit_cell[0]][exit_cell[1]] != "├":
            continue
        seen = {exit_cell}
        todo = [(exit_cell, RIGHT)]
        while todo:
            (row, col), move = todo.pop()
            nxt = (row + move[0], col + move[1])
            char = grid[nxt[0]][nxt[1]]
            if nxt in seen or OPPOSITE[move] not in LINKS.get(char, set()):
                continue
            seen.add(nxt)
            if char == ARROW:
                found.add((name, entries[nxt]))
                continue
            todo += [(nxt, d) for d in LINKS[char] if d != LEFT and d != OPPOSITE[move]]
    return found


def names_in(lines: list[str]) -> list[str]:
    return re.findall(r"│ (\w[\w.-]*) *[│├]", "\n".join(lines))


def test_chain_is_one_row_of_boxes_joined_by_arrows() -> None:
    wf = workflow(("extract", []), ("transform", None), ("load", None))
    lines = layout_dag(wf.plan, wf.steps)
    assert len(lines) == 3
    assert names_in(lines) == ["extract", "transform", "load"]
    assert lines[1].count(ARROW) == 2
    assert "function" in lines[0]
    assert traced_edges(wf) == set(wf.plan.edges())


@pytest.mark.parametrize("spec", [
    pytest.param([("fetch", []), ("a", ["fetch"]), ("b", ["fetch"]), ("c", ["fetch"]),
                  ("merge", ["a", "b", "c"]), ("publish", ["merge", "fetch"])],
                 id="fan-out, fan-in and a layer-skipping edge"),
    pytest.param([("top", []), ("left", ["top"]), ("right", ["top"]),
                  ("bottom", ["left", "right"])], id="diamond"),
    pytest.param([("a", []), ("b", []), ("c", ["a", "b"]), ("d", ["a", "b"])],
                 id="complete bipartite"),
    pytest.param([("x", []), ("y", []), ("z", []), ("sink", ["x", "y", "z"])], id="fan-in"),
])
def test_fan_out_and_fan_in_draw_each_step_once_and_exactly_their_edges(spec) -> None:
    wf = workflow(*spec)
    lines = layout_dag(wf.plan, wf.steps)
    assert sorted(names_in(lines)) == sorted(name for name, _ in spec)
    assert traced_edges(wf) == set(wf.plan.edges())


def test_tangled_graph_still_draws_every_edge() -> None:
    """Crossings are unavoidable here; every real edge must still be a drawn path."""
    wf = workflow(("a", []), ("b", ["a"]), ("c", ["a"]), ("d", ["b"]), ("e", ["c", "a"]),
                  ("f", ["d", "e", "a"]), ("g", []), ("h", ["g", "b"]))
    lines = layout_dag(wf.plan, wf.steps)
    assert sorted(names_in(lines)) == list("abcdefgh")
    assert traced_edges(wf) >= set(wf.plan.edges())


def test_every_box_has_one_arrow_per_target_with_inputs() -> None:
    wf = workflow(("src", []), ("one", ["src"]), ("two", ["src"]), ("both", ["one", "two"]))
    lines = layout_dag(wf.plan, wf.steps)
    assert "\n".join(lines).count(ARROW) == 3  # one, two, both


def test_boxes_record_where_each_step_is_drawn() -> None:
    wf = workflow(("first", []), ("second", None))
    layout = compute_layout(wf.plan, wf.steps)
    box = layout.boxes["second"]
    assert layout.lines[box.top + 1][box.left:box.left + box.width].startswith("│ second")


def test_empty_workflow_says_so() -> None:
    assert layout_dag(Workflow("empty", []).plan) == ["(no steps)"]


def test_labels_replace_the_step_type_on_the_top_edge() -> None:
    wf = workflow(("first", []), ("second", None))
    layout = compute_layout(wf.plan, wf.steps, labels={"second": "▸ map"})
    box = layout.boxes["second"]
    assert layout.lines[box.top][box.left:].startswith("┌─ ▸ map ─")
    assert "┌─ function ─" in layout.lines[layout.boxes["first"].top]


def test_canvas_colours_each_boxs_step_type_even_under_a_status() -> None:
    from engine import Step, Workflow
    from spine_tui.widgets.dag import DagCanvas
    from spine_tui.widgets.status import STEP_TYPE_STYLE

    wf = Workflow("typed", [
        Step.lambda_("a", lambda ctx, config: {}),
        Step.map("m", "$.outputs.a.items", [Step.lambda_("i", lambda ctx, config: {})]),
    ])
    canvas = DagCanvas(compute_layout(wf.plan, wf.steps))
    canvas.statuses = {"a": "failed"}
    top = canvas.line_text(0)
    styled = {top.plain[s.start:s.end]: str(s.style) for s in top.spans}
    assert styled["lambda"] == STEP_TYPE_STYLE["lambda"]
    assert styled["map"] == STEP_TYPE_STYLE["map"]
    # the status colour still covers the failed box; the type word is drawn over it
    assert any(str(s.style) == "bold red" and s.start == 0 for s in top.spans)
