"""A tree of JSON-like data (a playground's params and outputs), built lazily.

Containers get their children only when opened, a page of ``PAGE_ITEMS`` at a time (the
rest behind a "… N more" node that Enter opens), and long scalars are cut at ``MAX_CHARS``
until Enter shows them whole: a 1 MB output costs a few labels, not a megabyte of widgets.
Which nodes are open is remembered by path, so a new state keeps the same view.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.highlighter import JSONHighlighter
from rich.text import Text
from textual import on
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

PAGE_ITEMS = 50
MAX_CHARS = 120
_HIGHLIGHT = JSONHighlighter()

Path = tuple[str, ...]


@dataclass(slots=True)
class Entry:
    """What a node shows: a value at ``path``, or (``more_from`` set) the rest of a container."""

    path: Path
    value: Any
    more_from: int | None = None
    loaded: bool = False
    whole: bool = False  # a long scalar shown in full


def json_text(value: Any) -> str:
    """Compact JSON of ``value`` (``repr`` for what JSON cannot hold)."""
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)


def is_container(value: Any) -> bool:
    return isinstance(value, (Mapping, list, tuple))


def _items(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        return [(str(k), v) for k, v in value.items()]
    return [(str(i), v) for i, v in enumerate(value)]


def value_label(key: str, value: Any, *, whole: bool = False) -> Text:
    """``key: value`` with the value JSON-highlighted, cut at ``MAX_CHARS`` unless ``whole``."""
    label = Text.assemble((key, "bold"), ": ")
    if is_container(value):
        size = len(value)
        kind = ("key" if isinstance(value, Mapping) else "item") + ("" if size == 1 else "s")
        brackets = "{…}" if isinstance(value, Mapping) else "[…]"
        label.append(f"{brackets} {size} {kind}", style="dim")
        return label
    text = json_text(value)
    cut = not whole and len(text) > MAX_CHARS
    shown = _HIGHLIGHT(Text(text[:MAX_CHARS] if cut else text))
    label.append_text(shown)
    if cut:
        label.append(f" … (+{len(text) - MAX_CHARS:,} chars, Enter shows all)", style="dim italic")
    return label


class JsonTree(Tree[Entry]):
    """Named sections of JSON-like data as an expandable tree; Enter opens cut values."""

    DEFAULT_CSS = """
    JsonTree { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("data", id=id, classes=classes)
        self.show_root = False
        self.guide_depth = 3
        self.opened: set[Path] = set()
        """Paths of open containers; kept across ``show`` calls."""

    def show(self, sections: Mapping[str, Any], *, open_sections: bool = True) -> None:
        """Replace the tree with ``sections`` (e.g. params, outputs), reopening what was open."""
        if open_sections and not self.opened:
            self.opened = {(name,) for name in sections}
        line = self.cursor_line
        self.clear()
        for name, value in sections.items():
            label = Text(name, style="bold")
            label.append(f"  {len(value)}" if value else "  (none)", style="dim")
            node = self.root.add(label, Entry((name,), value), allow_expand=bool(value))
            self._reopen(node)
        self.root.expand()
        if line >= 0:
            self.cursor_line = min(line, max(0, self.last_line))

    def _reopen(self, node: TreeNode[Entry]) -> None:
        entry = node.data
        if entry is not None and entry.path in self.opened and is_container(entry.value):
            self._load(node)
            node.expand()
            for child in node.children:
                self._reopen(child)

    def _load(self, node: TreeNode[Entry], start: int = 0) -> None:
        """Add the children of ``node``'s container from ``start`` (a page of them)."""
        entry = node.data
        if entry is None or (entry.loaded and start == 0):
            return
        entry.loaded = True
        items = _items(entry.value)
        for key, value in items[start:start + PAGE_ITEMS]:
            child = Entry((*entry.path, key), value)
            if is_container(value) and value:
                node.add(value_label(key, value), child)
            else:
                node.add_leaf(value_label(key, value), child)
        rest = len(items) - start - PAGE_ITEMS
        if rest > 0:
            node.add_leaf(Text(f"… {rest:,} more (Enter shows {min(rest, PAGE_ITEMS)})",
                               style="dim italic"),
                          Entry(entry.path, entry.value, more_from=start + PAGE_ITEMS))

    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded[Entry]) -> None:
        event.stop()
        if event.node.data is not None:
            self.opened.add(event.node.data.path)
            self._load(event.node)

    @on(Tree.NodeCollapsed)
    def _collapsed(self, event: Tree.NodeCollapsed[Entry]) -> None:
        event.stop()
        if event.node.data is not None:
            self.opened.discard(event.node.data.path)

    @on(Tree.NodeSelected)
    def _selected(self, event: Tree.NodeSelected[Entry]) -> None:
        """Enter on "… more" loads the next page; on a cut value shows it whole (or cuts it)."""
        node, entry = event.node, event.node.data
        if entry is None:
            return
        event.stop()
        if entry.more_from is not None and node.parent is not None:
            parent = node.parent
            node.remove()
            self._load(parent, entry.more_from)
            return
        if not is_container(entry.value) and len(json_text(entry.value)) > MAX_CHARS:
            entry.whole = not entry.whole
            node.set_label(value_label(entry.path[-1], entry.value, whole=entry.whole))
