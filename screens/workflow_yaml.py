"""A workflow (or one stored version of it) as its ``spine.io/v1`` YAML document, or the
reason it cannot be written as one (lambdas, closures, objects in its config)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from engine import StoreError, WorkflowError

UNEXPRESSIBLE_HINT = ("Steps whose handlers are lambdas, closures or nested functions, and "
                      "config holding objects, have no YAML form: define the handlers with "
                      "`def` at module level and keep config to plain data.")


def workflow_yaml(workflow: object) -> str:
    """``WorkflowSpec.from_workflow(workflow).to_yaml()`` (raises ``WorkflowSpecError``)."""
    from engine import WorkflowSpec  # pydantic models: built on first use, not at start-up

    return WorkflowSpec.from_workflow(workflow).to_yaml()


class YamlScreen(ModalScreen[None]):
    """Shows ``make_yaml()``'s document with syntax colours; Escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,y", "close", "Close")]

    @dataclass
    class Ready(Message):
        text: str
        error: str | None = None

    def __init__(self, title: str, make_yaml: Callable[[], str]) -> None:
        super().__init__()
        self.title_text = title
        self.make_yaml = make_yaml
        self.text: str | None = None
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="yaml-body") as body:
            body.border_title = self.title_text
            body.border_subtitle = "Esc closes"
            yield Static(Text("Writing YAML…", style="italic"), id="yaml-text")

    def on_mount(self) -> None:
        self._render_yaml()

    @work(thread=True, exclusive=True, exit_on_error=False, group="yaml")
    def _render_yaml(self) -> None:
        try:
            self.post_message(self.Ready(self.make_yaml()))
        except (WorkflowError, StoreError) as exc:  # not expressible, or not replayable
            self.post_message(self.Ready("", str(exc)))
        except Exception as exc:  # anything else is shown the same way
            self.post_message(self.Ready("", f"{type(exc).__name__}: {exc}"))

    @on(Ready)
    def _show(self, message: Ready) -> None:
        shown = self.query_one("#yaml-text", Static)
        if message.error is not None:
            self.error = message.error
            shown.update(Text.assemble(("This workflow cannot be written as YAML:\n", "bold"),
                                       (message.error, "red"), "\n\n", (UNEXPRESSIBLE_HINT,
                                                                        "dim")))
            return
        self.text = message.text
        theme = "ansi_dark" if self.app.current_theme.dark else "ansi_light"
        shown.update(Syntax(message.text, "yaml", theme=theme, line_numbers=True,
                            background_color="default", word_wrap=True))

    def action_close(self) -> None:
        """Close the YAML view."""
        self.dismiss()
