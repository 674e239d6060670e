"""The run dialog: one row per known param (defaults as hints), free ``key=value`` pairs,
typed like ``spine-engine run --param``; returns the params or None when cancelled."""

from __future__ import annotations

import json
import shlex
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from engine import Workflow, parse_param
from spine_tui.config import current_settings
from spine_tui.services.launcher import param_fields


def _hint(value: Any) -> str:
    if value is ...:
        return "required unless an earlier step returns it"
    return "default: " + (value if isinstance(value, str) else json.dumps(value, default=repr))


class RunParamsScreen(ModalScreen[dict[str, Any] | None]):
    """Fill in params and press Enter (or ctrl+r) to run; Escape cancels."""

    AUTO_FOCUS = "Input"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+r", "submit", "Run"),
    ]

    def __init__(self, workflow: Workflow, verb: str = "Run") -> None:
        super().__init__()
        self.workflow = workflow
        self.verb = verb
        self.fields = param_fields(workflow)
        self._keys = list(self.fields)

    def compose(self) -> ComposeResult:
        blink = current_settings().cursor_blink
        with VerticalScroll(id="params-dialog") as dialog:
            dialog.border_title = f"{self.verb} {self.workflow.name}"
            dialog.border_subtitle = f"Enter {self.verb.lower()}s · Esc cancels"
            yield Static("Values are typed like YAML: 3 → int, 0.5 → float, true → bool, "
                         "[1, 2] → list, anything else a string. Empty fields keep their "
                         "default.", id="params-intro")
            for index, key in enumerate(self._keys):
                with Horizontal(classes="param-row"):
                    yield Label(key, classes="param-key")
                    field = Input(placeholder=_hint(self.fields[key]), id=f"param-{index}")
                    field.cursor_blink = blink
                    yield field
            with Horizontal(classes="param-row"):
                yield Label("more", classes="param-key")
                extra = Input(placeholder="key=value key2=value2 (optional)", id="param-extra")
                extra.cursor_blink = blink
                yield extra
            yield Static(id="param-error")
            with Horizontal(id="params-buttons"):
                yield Button(self.verb, variant="primary", id="params-run")
                yield Button("Cancel", id="params-cancel")

    def params(self) -> dict[str, Any]:
        """The params as typed; raises ``ValueError`` saying which one is wrong and how."""
        values: dict[str, Any] = {}
        for index, key in enumerate(self._keys):
            text = self.query_one(f"#param-{index}", Input).value.strip()
            if text:
                values[key] = parse_param(f"{key}={text}")[1]
        extra = self.query_one("#param-extra", Input).value.strip()
        if extra:
            try:
                pairs = shlex.split(extra)
            except ValueError as exc:
                raise ValueError(f"more params: {exc} (close the quote)") from None
            for pair in pairs:
                key, value = parse_param(pair)
                values[key] = value
        return values

    @on(Input.Submitted)
    @on(Button.Pressed, "#params-run")
    def action_submit(self) -> None:
        """Run with these params."""
        try:
            values = self.params()
        except ValueError as exc:
            error = self.query_one("#param-error", Static)
            error.update(str(exc))
            error.display = True
            return
        self.dismiss(values)

    @on(Button.Pressed, "#params-cancel")
    def action_cancel(self) -> None:
        """Close without running."""
        self.dismiss(None)
