"""A workflow's published versions and a side-by-side diff of two of them.

Versions come from the store's ``WorkflowVersionStore`` (runs publish the definition they
ran; hot reload publishes each saved change). The highlighted version is compared with the
one before it, or with the version marked with space; the diff is the engine's
``VersionDiff``, one row per changed step field with the old and new value side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich import box
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from engine import RunStore, UnknownVersionError, VersionDiff, VersionInfo, WorkflowVersionStore
from spine_tui.widgets.inspector import json_text
from spine_tui.widgets.status import format_time
from spine_tui.workbench import workbench

from .workflow_yaml import YamlScreen

VALUE_CHARS = 48


class VersionsScreen(Screen[None]):
    """Published versions of one workflow: ↑/↓ pick one, space marks the other end of a diff."""

    AUTO_FOCUS = "#ver-list"
    HELP = ("Every published version of this workflow, oldest first: runs publish the "
            "definition they ran, and saving the file publishes each change. The pane on the "
            "right compares the highlighted version with the one before it — or with the "
            "version marked with space — field by field: + a step added, - removed, ~ a "
            "changed field with its old and new value. y shows the highlighted version as "
            "YAML. Escape goes back.")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("space", "mark", "Mark for diff"),
        Binding("y", "show_yaml", "YAML"),
    ]

    @dataclass
    class Listed(Message):
        versions: list[VersionInfo]
        error: str | None = None

    @dataclass
    class Diffed(Message):
        diff: VersionDiff | None
        error: str | None = None

    def __init__(self, name: str) -> None:
        super().__init__()
        self.workflow_name = name
        self.sub_title = f"Versions · {name}"
        self.versions: list[VersionInfo] = []
        self.marked: int | None = None
        self.diff: VersionDiff | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("Reading versions…", style="italic"), id="ver-summary")
        with Horizontal(id="ver-panes"):
            table: DataTable[Any] = DataTable(id="ver-list", cursor_type="row", zebra_stripes=True)
            table.border_title = "Versions"
            yield table
            with VerticalScroll(id="ver-diff-pane") as pane:
                pane.border_title = "Diff"
                yield Static(id="ver-diff")
        yield Footer()

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#ver-list", DataTable)

    def on_mount(self) -> None:
        self.table.add_columns("", "version", "published", "by", "changes")
        self.watch(self.app, "store", self._reload, init=True)
        self.watch(self.app, "versions_published", self._reload, init=False)

    def _reload(self) -> None:
        store = workbench(self.app).store
        if store is not None:
            self._list(store)

    @work(thread=True, exclusive=True, exit_on_error=False, group="versions")
    def _list(self, store: RunStore) -> None:
        try:
            versions = WorkflowVersionStore(store.db).list(self.workflow_name)
        except UnknownVersionError:
            versions = []
        except Exception as exc:  # the store failed: shown, not raised
            self.post_message(self.Listed([], f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.Listed(versions))

    @on(Listed)
    def _show_list(self, message: Listed) -> None:
        if message.error:
            self.notify(message.error, title="Versions", severity="error", timeout=6)
            return
        self.versions = message.versions
        summary = self.query_one("#ver-summary", Static)
        if not self.versions:
            summary.update(Text(f"{self.workflow_name} has no published versions yet: a run "
                                "publishes the definition it ran, and saving the file "
                                "publishes each change.", style="italic"))
        else:
            latest = self.versions[-1]
            summary.update(Text.assemble(
                (self.workflow_name, "bold"),
                (f"  {len(self.versions)} versions · latest v{latest.version}"
                 f" · {latest.step_count} steps", "dim")))
        keep = self.table.cursor_row
        self._fill_table()
        if self.versions:
            target = keep if 0 <= keep < len(self.versions) and keep != 0 else \
                len(self.versions) - 1
            self.table.move_cursor(row=target)
            self._compare()

    def _fill_table(self) -> None:
        table = self.table
        table.clear()
        for info in self.versions:
            mark = Text("◆", style="bold magenta") if info.version == self.marked else ""
            changes = ", ".join(info.changes) or ("first version" if info is self.versions[0]
                                                  else "—")
            table.add_row(mark, f"v{info.version}", format_time(info.created_at),
                          _short(info.created_by or "—", 12), _short(changes, 36),
                          key=str(info.version))

    @on(DataTable.RowHighlighted, "#ver-list")
    def _highlighted(self) -> None:
        self._compare()

    def _highlighted_version(self) -> VersionInfo | None:
        row = self.table.cursor_row
        return self.versions[row] if 0 <= row < len(self.versions) else None

    def _compare(self) -> None:
        info = self._highlighted_version()
        if info is None:
            return
        numbers = [v.version for v in self.versions]
        index = numbers.index(info.version)
        base = self.marked if self.marked is not None and self.marked != info.version else (
            numbers[index - 1] if index > 0 else None)
        pane = self.query_one("#ver-diff-pane")
        if base is None:
            pane.border_title = f"v{info.version}"
            self.query_one("#ver-diff", Static).update(Text(
                "The first version: nothing to compare with. Mark another version with space "
                "to compare it with this one.", style="italic"))
            return
        old, new = sorted((base, info.version))
        pane.border_title = f"Diff v{old} → v{new}"
        store = workbench(self.app).store
        if store is not None:
            self._diff(store, old, new)

    @work(thread=True, exclusive=True, exit_on_error=False, group="version-diff")
    def _diff(self, store: RunStore, old: int, new: int) -> None:
        try:
            diff = WorkflowVersionStore(store.db).diff(self.workflow_name, old, new)
        except Exception as exc:
            self.post_message(self.Diffed(None, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.Diffed(diff))

    @on(Diffed)
    def _show_diff(self, message: Diffed) -> None:
        if message.error or message.diff is None:
            self.notify(message.error or "no diff", title="Version diff", severity="error")
            return
        self.diff = message.diff
        self.query_one("#ver-diff", Static).update(diff_table(message.diff))

    def action_mark(self) -> None:
        """Mark the highlighted version as the other end of the diff (again: unmark)."""
        info = self._highlighted_version()
        if info is None:
            return
        self.marked = None if self.marked == info.version else info.version
        row = self.table.cursor_row
        self._fill_table()
        self.table.move_cursor(row=row)
        self._compare()

    def action_show_yaml(self) -> None:
        """Show the highlighted version as its YAML document."""
        info = self._highlighted_version()
        if info is not None:
            self.app.push_screen(YamlScreen(f"{info.name} v{info.version}", info.to_yaml))

    def action_back(self) -> None:
        """Back to the workflow."""
        self.dismiss()


def diff_table(diff: VersionDiff) -> Table | Text:
    """``diff`` side by side: one row per added/removed step and per changed field."""
    if diff.is_empty:
        return Text(f"v{diff.old_version} and v{diff.new_version} define the same workflow.",
                    style="italic")
    table = Table(expand=True, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("", width=1)
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column(f"v{diff.old_version}", ratio=1)
    table.add_column(f"v{diff.new_version}", ratio=1)
    dash = Text("—", style="dim")
    for step in diff.added_steps:
        table.add_row(Text("+", style="green"), f"step {step}", dash, Text("added", "green"))
    for step in diff.removed_steps:
        table.add_row(Text("-", style="red"), f"step {step}", Text("removed", "red"), dash)
    for change in diff.changed_steps:
        for item in change.fields:
            table.add_row(Text("~", style="yellow"), f"{change.step}.{item.field}",
                          _value(item.old, "red"), _value(item.new, "green"))
    for item in diff.workflow_changes:
        table.add_row(Text("~", style="yellow"), item.field, _value(item.old, "red"),
                      _value(item.new, "green"))
    return table


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _value(value: Any, style: str) -> Text:
    if value is None:
        return Text("—", style="dim")
    return Text(_short(value if isinstance(value, str) else json_text(value), VALUE_CHARS),
                style=style)
