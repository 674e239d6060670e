"""Layered drawing of a workflow DAG with box-drawing characters (``canvas.py`` shows it).

The layout is a small Sugiyama-style pass: columns come from ``Plan.layers()``, edges that
skip layers run through pass-through slots (one per source and layer, shared by its long
edges), the order inside each column is improved with barycenter sweeps, and every source
gets its own vertical track in the gap to its right. Tracks are ordered so that a source's
line never runs into an unrelated target's line on the same row, so a drawn junction always
means a real edge. ``layout_dag`` is pure (no Textual) so it can be unit-tested.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

UP, DOWN, LEFT, RIGHT = 1, 2, 4, 8
_GLYPHS = {
    LEFT | RIGHT: "─", UP | DOWN: "│", LEFT: "─", RIGHT: "─", UP: "│", DOWN: "│",
    DOWN | RIGHT: "┌", DOWN | LEFT: "┐", UP | RIGHT: "└", UP | LEFT: "┘",
    UP | DOWN | RIGHT: "├", UP | DOWN | LEFT: "┤", LEFT | RIGHT | DOWN: "┬",
    LEFT | RIGHT | UP: "┴", UP | DOWN | LEFT | RIGHT: "┼",
}
ARROW = "▶"
LABEL_OFFSET = 3  # "┌─ " before a box's label
BOX_HEIGHT = 3
SLOT_PITCH = BOX_HEIGHT + 1
_SWEEPS = 4


class _PlanLike(Protocol):
    def layers(self) -> list[list[str]]: ...
    def edges(self) -> list[tuple[str, str]]: ...


@dataclass(frozen=True, slots=True)
class BoxPlacement:
    """Where one step's box sits in the drawing (row/column of its top-left corner)."""

    name: str
    top: int
    left: int
    width: int
    height: int = BOX_HEIGHT
    label: str = ""
    """The text on the box's top edge (its step type, with any marks), starting at column
    ``left + LABEL_OFFSET``."""


@dataclass(frozen=True, slots=True)
class DagLayout:
    """The drawn lines plus each step's box, so a viewer can highlight and scroll to it."""

    lines: tuple[str, ...]
    boxes: dict[str, BoxPlacement] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return max((len(line) for line in self.lines), default=0)


@dataclass(slots=True)
class _Node:
    layer: int
    name: str | None  # None for a pass-through slot of a long edge
    label: str = ""
    row: int = 0  # the middle row, where edges attach


def layout_dag(plan: _PlanLike, steps: Sequence[Any] = ()) -> list[str]:
    """Text lines drawing ``plan`` left to right, one column per layer."""
    return list(compute_layout(plan, steps).lines)


def compute_layout(plan: _PlanLike, steps: Sequence[Any] = (), *,
                   labels: Mapping[str, str] | None = None) -> DagLayout:
    """Lay out and draw ``plan``; ``steps`` supply the type shown on each box's top edge and
    ``labels`` replace it (an expanded graph names its boxes ``parent/step``)."""
    layers = plan.layers()
    if not layers:
        return DagLayout(("(no steps)",))
    kinds = {s.name: str(getattr(s.step_type, "value", s.step_type)) for s in steps}
    if labels:
        kinds.update(labels)
    nodes, order, succ = _build_graph(layers, plan.edges(), kinds)
    pred: dict[int, list[int]] = {i: [] for i in range(len(nodes))}
    for u, vs in succ.items():
        for v in vs:
            pred[v].append(u)
    order = _reduce_crossings(order, pred, succ)
    return _draw(nodes, order, succ)


def _build_graph(layers: list[list[str]], edges: list[tuple[str, str]], kinds: dict[str, str]
                 ) -> tuple[list[_Node], list[list[int]], dict[int, list[int]]]:
    """Nodes per layer, with one shared pass-through chain per source for its long edges."""
    nodes: list[_Node] = []
    order: list[list[int]] = [[] for _ in layers]
    ids: dict[str, int] = {}
    layer_of: dict[str, int] = {}
    for depth, names in enumerate(layers):
        for name in names:
            ids[name] = len(nodes)
            layer_of[name] = depth
            nodes.append(_Node(depth, name, kinds.get(name, "")))
            order[depth].append(ids[name])
    succ: dict[int, list[int]] = {i: [] for i in range(len(nodes))}
    chains: dict[str, list[int]] = {}  # source name -> pass-through ids, layer by layer

    def link(u: int, v: int) -> None:
        if v not in succ[u]:
            succ[u].append(v)

    for up, down in edges:
        src, dst = ids[up], ids[down]
        gap = layer_of[down] - layer_of[up]
        if gap == 1:
            link(src, dst)
            continue
        chain = chains.setdefault(up, [])
        while len(chain) < gap - 1:
            via = len(nodes)
            nodes.append(_Node(layer_of[up] + len(chain) + 1, None))
            succ[via] = []
            order[nodes[via].layer].append(via)
            link(chain[-1] if chain else src, via)
            chain.append(via)
        link(chain[gap - 2], dst)
    return nodes, order, succ


def _reduce_crossings(order: list[list[int]], pred: dict[int, list[int]],
                      succ: dict[int, list[int]]) -> list[list[int]]:
    """Barycenter sweeps down and up; keeps the ordering with the fewest crossings."""
    best = [list(layer) for layer in order]
    best_cost = _crossings(best, succ)
    current = [list(layer) for layer in order]
    for sweep in range(_SWEEPS):
        downward = sweep % 2 == 0
        indices = range(1, len(current)) if downward else range(len(current) - 2, -1, -1)
        for i in indices:
            ref = current[i - 1] if downward else current[i + 1]
            pos = {n: k for k, n in enumerate(ref)}
            links = pred if downward else succ

            def key(n: int, k: int, pos: dict[int, int] = pos,
                    links: dict[int, list[int]] = links) -> tuple[float, int]:
                around = [pos[m] for m in links[n] if m in pos]
                return (sum(around) / len(around) if around else float(k), k)

            current[i] = [n for _, n in sorted(
                ((key(n, k), n) for k, n in enumerate(current[i])), key=lambda p: p[0])]
        cost = _crossings(current, succ)
        if cost < best_cost:
            best, best_cost = [list(layer) for layer in current], cost
    return best


def _crossings(order: list[list[int]], succ: dict[int, list[int]]) -> int:
    total = 0
    for i in range(len(order) - 1):
        here = {n: k for k, n in enumerate(order[i])}
        there = {n: k for k, n in enumerate(order[i + 1])}
        pairs = [(here[u], there[v]) for u in order[i] for v in succ[u] if v in there]
        for a, (u1, v1) in enumerate(pairs):
            for u2, v2 in pairs[a + 1:]:
                if (u1 - u2) * (v1 - v2) < 0:
                    total += 1
    return total


def _draw(nodes: list[_Node], order: list[list[int]], succ: dict[int, list[int]]) -> DagLayout:
    """Place boxes in columns, route edges through per-source tracks, render to text."""
    widths = [max((_box_width(nodes[n]) for n in layer if nodes[n].name), default=3)
              for layer in order]
    height = max(len(layer) for layer in order) * SLOT_PITCH - 1
    for layer in order:
        offset = (height - (len(layer) * SLOT_PITCH - 1)) // 2
        for k, n in enumerate(layer):
            nodes[n].row = offset + k * SLOT_PITCH + 1

    lefts: list[int] = []
    gaps: list[list[int]] = []  # per gap: the sources in track order
    x = 0
    for i, layer in enumerate(order):
        lefts.append(x)
        x += widths[i]
        if i + 1 < len(order):
            sources = _track_order([n for n in layer if succ[n]], nodes, succ)
            gaps.append(sources)
            x += 2 * len(sources) + 3
    canvas = _Canvas(x, height)

    boxes: dict[str, BoxPlacement] = {}
    for i, layer in enumerate(order):
        for n in layer:
            node = nodes[n]
            if node.name is None:
                canvas.hline(node.row, lefts[i], lefts[i] + widths[i] - 1, open_ends=True)
            else:
                box = BoxPlacement(node.name, node.row - 1, lefts[i], _box_width(node),
                                   label=node.label)
                boxes[node.name] = box
                canvas.box(box, node.label)

    for i, sources in enumerate(gaps):
        right_edge = lefts[i] + widths[i] - 1
        tracks = {n: right_edge + 2 + 2 * j for j, n in enumerate(sources)}
        feeders: dict[int, set[int]] = {}
        for n in sources:
            for v in succ[n]:
                feeders.setdefault(nodes[v].row, set()).add(n)
        for n in sources:
            node, track = nodes[n], tracks[n]
            start = right_edge
            if node.name:
                box = boxes[node.name]
                start = box.left + box.width - 1
                canvas.put(node.row, start, "├")
            exit_row = node.row
            foreign = feeders.get(node.row, set())
            if foreign and n not in foreign and min(tracks[f] for f in foreign) <= track:
                # the row ahead belongs to another source's target: step down one row
                # (never a box's middle row) so the two lines cannot look joined
                exit_row = node.row + 1
                canvas.hline(node.row, start, right_edge + 1)
                canvas.vline(right_edge + 1, node.row, exit_row)
                canvas.hline(exit_row, right_edge + 1, track)
            else:
                canvas.hline(node.row, start, track)
            rows = [exit_row]
            for v in succ[n]:
                target = nodes[v]
                rows.append(target.row)
                if target.name:
                    canvas.hline(target.row, track, lefts[i + 1] - 1)
                    canvas.put(target.row, lefts[i + 1] - 1, ARROW)
                else:
                    canvas.hline(target.row, track, lefts[i + 1])
            canvas.vline(track, min(rows), max(rows))
    return DagLayout(canvas.lines(), boxes)


def _track_order(sources: list[int], nodes: list[_Node], succ: dict[int, list[int]]) -> list[int]:
    """Sources top to bottom, except a source must come before (left of) every source that
    feeds a target on its own row, so its line stops before that target's line starts."""
    feeders: dict[int, set[int]] = {}
    for s in sources:
        for v in succ[s]:
            feeders.setdefault(nodes[v].row, set()).add(s)
    before: dict[int, set[int]] = {s: set() for s in sources}
    for s in sources:
        same_row = feeders.get(nodes[s].row, set())
        if s not in same_row:
            before[s] |= same_row - {s}
    waiting = {s: sum(s in before[o] for o in sources) for s in sources}
    ordered: list[int] = []
    pending = sorted(sources, key=lambda s: nodes[s].row)
    while pending:
        ready = next((s for s in pending if waiting[s] == 0), pending[0])  # cycle: give up
        pending.remove(ready)
        ordered.append(ready)
        for other in before[ready]:
            waiting[other] -= 1
    return ordered


def _box_width(node: _Node) -> int:
    return max(len(node.name or ""), len(node.label) + 2) + 4


class _Canvas:
    """A character grid where line segments merge into the right box-drawing junctions."""

    def __init__(self, width: int, height: int) -> None:
        self.bits = [[0] * width for _ in range(height)]
        self.chars: list[list[str | None]] = [[None] * width for _ in range(height)]

    def put(self, row: int, col: int, char: str) -> None:
        self.chars[row][col] = char

    def text(self, row: int, col: int, value: str) -> None:
        self.chars[row][col:col + len(value)] = value

    def hline(self, row: int, x1: int, x2: int, open_ends: bool = False) -> None:
        lo, hi = min(x1, x2), max(x1, x2)
        bits = self.bits[row]
        for col in range(lo, hi + 1):
            if col > lo or open_ends:
                bits[col] |= LEFT
            if col < hi or open_ends:
                bits[col] |= RIGHT

    def vline(self, col: int, y1: int, y2: int) -> None:
        for row in range(y1, y2 + 1):
            if row > y1:
                self.bits[row][col] |= UP
            if row < y2:
                self.bits[row][col] |= DOWN

    def box(self, box: BoxPlacement, label: str) -> None:
        inner = box.width - 2
        title = f"─ {label} " if label else ""
        self.text(box.top, box.left, "┌" + title + "─" * (inner - len(title)) + "┐")
        self.text(box.top + 1, box.left, "│ " + box.name.ljust(inner - 2) + " │")
        self.text(box.top + 2, box.left, "└" + "─" * inner + "┘")

    def lines(self) -> tuple[str, ...]:
        glyph = [_GLYPHS.get(b, " ") for b in range(16)]
        out = []
        for bits, chars in zip(self.bits, self.chars, strict=True):
            row = "".join([c if c is not None else glyph[b]
                           for b, c in zip(bits, chars, strict=True)])
            out.append(row.rstrip())
        return tuple(out)
