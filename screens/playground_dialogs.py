"""Playground dialogs: edit params, edit a step's output as JSON, a conditional breakpoint,
and a snapshot diff.

Each is a ``ModalScreen`` that returns its result with ``dismiss``; the playground screen
applies it in its worker, so a bad edit is refused there with the engine's own message.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any, ClassVar

from rich import box
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Static, TextArea

from engine import parse_param
from engine.playground import BreakpointError, ConditionSyntaxError, expression_condition
from spine_tui.config import current_settings
from spine_tui.widgets.inspector import json_text

DIFF_VALUE_CHARS = 70


def parse_pairs(text: str) -> dict[str, Any]:
    """``n=3 name='Ada L'`` as typed params; raises ``ValueError`` saying what is wrong."""
    try:
        pairs = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"{exc} (close the quote)") from None
    if not pairs:
        raise ValueError("type at least one key=value, e.g. n=3")
    return dict(parse_param(pair) for pair in pairs)


class ParamEditScreen(ModalScreen[dict[str, Any] | None]):
    """``key=value`` pairs (typed like ``spine-engine run --param``); Enter applies them."""

    AUTO_FOCUS = "#param-pairs"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, params: Mapping[str, Any]) -> None:
        super().__init__()
        self.params = dict(params)

    def compose(self) -> ComposeResult:
        with Vertical(id="param-dialog") as dialog:
            dialog.border_title = "Set params"
            dialog.border_subtitle = "Enter applies · Esc cancels"
            current = Table.grid(padding=(0, 2))
            current.add_column(style="bold")
            current.add_column()
            for key, value in self.params.items():
                current.add_row(key, Text(_cut(json_text(value)), style="green"))
            yield Static(current if self.params else Text("no params yet", style="dim"),
                         id="param-current")
            yield Static("Values are typed like YAML: 3 → int, 0.5 → float, true → bool, "
                         "[1, 2] → list, anything else a string. The change is a snapshot: "
                         "b undoes it.", id="param-help")
            pairs = Input(placeholder="key=value key2=value2", id="param-pairs")
            pairs.cursor_blink = current_settings().cursor_blink
            yield pairs
            yield Static(id="param-problem")

    @on(Input.Submitted, "#param-pairs")
    def _submit(self, event: Input.Submitted) -> None:
        try:
            values = parse_pairs(event.value)
        except ValueError as exc:
            problem = self.query_one("#param-problem", Static)
            problem.update(str(exc))
            problem.display = True
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)


class OutputEditScreen(ModalScreen[Any]):
    """A step's output as JSON in an editor; ctrl+s saves, Escape cancels."""

    CANCELLED: ClassVar[object] = object()
    """What the dialog returns when closed without saving (None is a valid output)."""
    AUTO_FOCUS = "#output-text"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, step: str, value: Any) -> None:
        super().__init__()
        self.step = step
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(id="output-dialog") as dialog:
            dialog.border_title = f"Output of {self.step}"
            dialog.border_subtitle = "ctrl+s saves · Esc cancels"
            yield Static("Edit the JSON; saving replaces the output (a failed step then "
                         "counts as completed) and re-runs the steps that had used it.",
                         id="output-help")
            text = json.dumps(self.value, indent=2, ensure_ascii=False, default=repr)
            editor = TextArea(text, language="json", id="output-text", show_line_numbers=True)
            editor.cursor_blink = current_settings().cursor_blink
            yield editor
            yield Static(id="output-problem")
            with Horizontal(id="output-buttons"):
                yield Button("Save", variant="primary", id="output-save")
                yield Button("Cancel", id="output-cancel")

    @on(Button.Pressed, "#output-save")
    def action_save(self) -> None:
        """Save the edited output."""
        text = self.query_one(TextArea).text
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problem = self.query_one("#output-problem", Static)
            problem.update(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")
            problem.display = True
            return
        self.dismiss(value)

    @on(Button.Pressed, "#output-cancel")
    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(self.CANCELLED)


class ConditionScreen(ModalScreen[tuple[str | None, str] | None]):
    """A breakpoint condition typed as a Python expression, before ``step`` or, as a watch,
    after any step; returns ``(step or None, expression)``.

    The expression is compiled here, so a typo is shown in place (with the cursor moved to
    it) and nothing is added until it compiles.
    """

    AUTO_FOCUS = "#cond-text"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, step: str | None, *, text: str = "") -> None:
        super().__init__()
        self.step = step
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="cond-dialog") as dialog:
            dialog.border_title = "Conditional breakpoint"
            dialog.border_subtitle = "Enter adds · Esc cancels"
            watch = Checkbox("Watch: pause after any step as soon as it holds",
                             value=self.step is None, disabled=self.step is None,
                             id="cond-watch")
            yield Static(self._target(watch.value), id="cond-target")
            yield watch
            yield Static(
                "A Python expression over params, outputs and ctx (ctx.get_output(step, key), "
                "ctx.get(key), ctx.latest), e.g.\n"
                "  outputs[\"load\"][\"rows\"] > 100\n"
                "  params[\"region\"] == \"eu\"\n"
                "If it raises when checked (a missing key), the run pauses and says why.",
                id="cond-help")
            text = Input(self.text, placeholder='outputs["load"]["rows"] > 100', id="cond-text")
            text.cursor_blink = current_settings().cursor_blink
            yield text
            yield Static(id="cond-problem")

    def _target(self, watch: bool) -> Text:
        if watch:
            return Text("Pause after any step once the condition holds", style="bold")
        return Text.assemble("Pause before ", (self.step or "", "bold"),
                             " when the condition holds")

    @on(Checkbox.Changed, "#cond-watch")
    def _watch_changed(self, event: Checkbox.Changed) -> None:
        self.query_one("#cond-target", Static).update(self._target(event.value))

    @on(Input.Submitted, "#cond-text")
    def _submit(self, event: Input.Submitted) -> None:
        try:
            condition = expression_condition(event.value)
        except BreakpointError as exc:
            problem = self.query_one("#cond-problem", Static)
            problem.update(Text(str(exc)))
            problem.display = True
            column = exc.column if isinstance(exc, ConditionSyntaxError) else None
            if column:
                event.input.cursor_position = column - 1
            return
        watch = self.query_one("#cond-watch", Checkbox).value
        self.dismiss((None if watch else self.step, condition.text))

    def action_cancel(self) -> None:
        """Close without adding a breakpoint."""
        self.dismiss(None)


class SnapshotDiffScreen(ModalScreen[None]):
    """What differs between two snapshots: params, outputs and step statuses."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,d", "close", "Close")]

    def __init__(self, before: int, after: int, diff: Any) -> None:
        super().__init__()
        self.before = before
        self.after = after
        self.diff = diff

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="diff-body") as body:
            body.border_title = f"Snapshot {self.before} → {self.after}"
            body.border_subtitle = "Esc closes"
            yield Static(diff_table(self.diff, self.before, self.after), id="diff-table")

    def action_close(self) -> None:
        """Close the diff."""
        self.dismiss()


def diff_table(diff: Any, before: int, after: int) -> Table | Text:
    """The ``SnapshotDiff`` as rows: what, before, after (``+`` added, ``-`` removed)."""
    if not diff:
        return Text(f"Snapshots {before} and {after} have the same params, outputs and "
                    "statuses.", style="italic")
    table = Table(expand=True, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("", width=1)
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column(f"#{before}", ratio=1)
    table.add_column(f"#{after}", ratio=1)
    gone, none = Text("—", style="dim"), Text("—", style="dim")
    for section, added, removed, changed in (
            ("param", diff.params_added, diff.params_removed, diff.params_changed),
            ("output", diff.outputs_added, diff.outputs_removed, diff.outputs_changed)):
        for key, value in added.items():
            table.add_row(Text("+", style="green"), f"{section} {key}", none, _value(value))
        for key, value in removed.items():
            table.add_row(Text("-", style="red"), f"{section} {key}", _value(value), gone)
        for key, (old, new) in changed.items():
            table.add_row(Text("~", style="yellow"), f"{section} {key}", _value(old),
                          _value(new))
    for step, (old, new) in diff.statuses_changed.items():
        table.add_row(Text("~", style="yellow"), f"status {step}",
                      Text(old.value if old else "pending"), Text(new.value if new else "pending"))
    return table


def _cut(text: str, limit: int = DIFF_VALUE_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… (+{len(text) - limit:,} chars)"


def _value(value: Any) -> Text:
    return Text(_cut(json_text(value)), style="green")
