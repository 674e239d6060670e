"""Help dialog: what the current screen is for and every key that works on it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """Lists sections of ``(key, description)`` rows; any of Escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close"),
    ]

    def __init__(self, title: str, intro: str,
                 sections: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> None:
        super().__init__()
        self.title_text = title
        self.intro = intro
        self.sections = [(heading, list(rows)) for heading, rows in sections if rows]

    def compose(self) -> ComposeResult:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True, justify="right", min_width=10)
        grid.add_column()
        for n, (heading, rows) in enumerate(self.sections):
            if n:
                grid.add_row("", "")
            grid.add_row("", f"[b u]{heading}[/]")
            for key, description in rows:
                grid.add_row(key, description)
        with VerticalScroll(id="help-body") as body:
            body.border_title = f"Help · {self.title_text}"
            body.border_subtitle = "Esc closes"
            if self.intro:
                yield Static(self.intro, id="help-intro")
            yield Static(grid, id="help-keys")

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss()
