"""The workbench App: owns the settings, discovery and app-wide keys; screens present.

Discovery runs in a thread worker that only calls the engine and posts a message; the
message handler stores the catalog on the app, and screens watch it (attributes down).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, InvalidThemeError, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen

from engine.discovery import discover
from screens import CSS_PATHS, CatalogScreen, HelpScreen

from .config import SETTINGS, Settings
from .messages import CatalogLoaded, CatalogLoadFailed

if TYPE_CHECKING:
    from engine.discovery import Catalog


class SpineApp(App[None]):
    """spine-tui: browse, inspect (and later run and debug) workflows from the terminal."""

    TITLE = "spine-tui"
    CSS_PATH: ClassVar[list[str | PurePath]] = ["app.tcss", *CSS_PATHS]
    MODES: ClassVar[dict[str, Any]] = {"catalog": CatalogScreen}
    DEFAULT_MODE = "catalog"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+t", "toggle_theme", "Dark/light"),
    ]

    catalog: reactive[Catalog | None] = reactive(None, always_update=True)
    """The latest discovery result (None until the first scan finishes)."""
    catalog_error: reactive[str] = reactive("")
    """Why the last scan failed as a whole (empty when it did not)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self._theme_problem = ""
        try:
            self.theme = settings.theme
        except InvalidThemeError as exc:  # an unknown theme name must not stop the app
            self._theme_problem = f"{exc}; using textual-dark"
            self.theme = "textual-dark"

    def on_mount(self) -> None:
        if self._theme_problem:
            self.notify(self._theme_problem, title="Theme", severity="warning")
        self.action_reload_catalog()

    # ------------------------------------------------------------------ discovery
    @work(thread=True, exclusive=True, exit_on_error=False, group="discovery")
    def load_catalog(self, paths: tuple[Path, ...]) -> None:
        """Scan ``paths`` (default folders when empty) for workflow files."""
        try:
            catalog = discover(list(paths) if paths else None)
        except Exception as exc:  # a failed scan is shown in the catalog, never a traceback
            self.post_message(CatalogLoadFailed(f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(CatalogLoaded(catalog))

    @on(CatalogLoaded)
    def _store_catalog(self, message: CatalogLoaded) -> None:
        self.catalog_error = ""
        self.catalog = message.catalog

    @on(CatalogLoadFailed)
    def _store_failure(self, message: CatalogLoadFailed) -> None:
        self.catalog_error = message.error
        self.notify(message.error, title="Could not load workflows", severity="error")

    def action_reload_catalog(self) -> None:
        """Scan the workflow folders again (picks up new, edited and fixed files)."""
        self.load_catalog(self.settings.paths)

    # ------------------------------------------------------------------ app-wide keys
    def action_toggle_theme(self) -> None:
        """Switch between the dark and the light theme."""
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def action_help(self) -> None:
        """Show what this screen is for and every key that works on it."""
        if isinstance(self.screen, HelpScreen):
            return
        screen = self.screen
        title = screen.sub_title or self.title
        self.push_screen(HelpScreen(title, getattr(screen, "HELP", ""), self._key_sections(screen)))

    def _key_sections(self, screen: Screen[Any]) -> list[tuple[str, list[tuple[str, str]]]]:
        """spine's own keys first, then the focused widget's, then Textual's general ones."""
        own: list[tuple[str, str]] = []
        widget_own: list[tuple[str, str]] = []
        widget_builtin: list[tuple[str, str]] = []
        general: list[tuple[str, str]] = []
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.action == "command_palette":
                continue
            row = (self.get_key_display(binding), binding.description)
            spine = _declared_by_spine(active.node, binding)
            if isinstance(active.node, (Screen, App)):
                rows = own if spine else general
            else:
                rows = widget_own if spine else widget_builtin
            if row not in rows:
                rows.append(row)
        own.append(("^p", "Command palette: find any action by name"))
        focused = type(screen.focused).__name__ if screen.focused else "focused widget"
        return [("Keys", own), (f"In the focused {focused}", widget_own + widget_builtin),
                ("General", general)]

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's commands, then every spine action available on ``screen``."""
        seen: set[str] = set()
        for command in super().get_system_commands(screen):
            seen.add(command.title)
            yield command
        for active in screen.active_bindings.values():
            binding = active.binding
            if (not binding.description or binding.description in seen
                    or not _declared_by_spine(active.node, binding)):
                continue
            seen.add(binding.description)
            namespace, _, name = binding.action.rpartition(".")
            target = self if namespace == "app" else active.node
            method = getattr(target, f"action_{name.split('(')[0]}", None)
            doc = (getattr(method, "__doc__", None) or binding.description).strip()
            help_text = f"{doc.splitlines()[0]} (key: {self.get_key_display(binding)})"
            yield SystemCommand(binding.description, help_text,
                                partial(self.run_action, binding.action, active.node))


def _declared_by_spine(node: Any, binding: Binding) -> bool:
    """True when one of spine's own classes (not Textual's) declares ``binding``."""
    for cls in type(node).__mro__:
        if cls.__module__.startswith("textual"):
            continue
        for declared in cls.__dict__.get("BINDINGS", ()):
            if isinstance(declared, Binding) and declared.action == binding.action:
                return True
    return False


def make_app(paths: Sequence[str | Path] | None = None, *, db: str | Path | None = None,
             settings: Settings | None = None) -> SpineApp:
    """Build the app from ``settings`` (default: ``SPINE_*`` environment), with ``paths``
    and ``db`` overriding; the CLI and the tests both start here."""
    base = settings if settings is not None else Settings.from_env()
    if paths:
        base = base.with_paths(paths)
    if db is not None:
        base = replace(base, db=Path(db))
    SETTINGS.set(base)
    return SpineApp(base)
