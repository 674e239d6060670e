"""The workbench App: owns the settings, the run store, discovery, hot reload, runs started
here and the app-wide keys; screens present what it holds.

Blocking work (discovery, opening the store, statistics, file watching, runs) happens in
thread workers that only call the engine and post messages; the ``@on`` handlers here own
the state and publish it as reactives that screens watch (attributes down, messages up).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, InvalidThemeError, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import get_current_worker

from engine import Executor, RunStore, discover, new_run_id
from engine import hot_reload as reload
from engine.store import WorkflowStats, workflow_stats
from screens import (
    CSS_PATHS,
    AnalyticsScreen,
    CatalogScreen,
    HelpScreen,
    OperationsScreen,
    RunsScreen,
    SchedulesScreen,
)

from .config import SETTINGS, Settings
from .locations import workflow_paths
from .messages import (
    CatalogLoaded,
    CatalogLoadFailed,
    LiveRun,
    RunEnded,
    RunLaunched,
    StatsLoaded,
    StepStatusChanged,
    StoreFailed,
    StoreOpened,
    VersionsPublished,
    WatchFailed,
    WorkflowFileReloaded,
)
from .services import launcher
from .widgets.status import format_duration

if TYPE_CHECKING:
    from engine import Catalog, DiscoveredWorkflow

STATS_REFRESH_SECONDS = 10.0
KEEP_FINISHED_RUNS = 20
WORKER_THREADS = 48  # long-lived loops (watcher, pollers, log tails) plus runs


class SpineApp(App[None]):
    """spine-tui: browse, run and watch workflows and their history from the terminal."""

    TITLE = "spine-tui"
    CSS_PATH: ClassVar[list[str | PurePath]] = ["app.tcss", *CSS_PATHS]
    MODES: ClassVar[dict[str, Any]] = {"catalog": CatalogScreen, "runs": RunsScreen,
                                       "analytics": AnalyticsScreen,
                                       "schedules": SchedulesScreen,
                                       "operations": OperationsScreen}
    DEFAULT_MODE = "catalog"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("R", "switch_mode('runs')", "Runs"),
        Binding("C", "switch_mode('catalog')", "Catalog"),
        Binding("A", "switch_mode('analytics')", "Analytics"),
        Binding("S", "switch_mode('schedules')", "Schedules"),
        Binding("O", "switch_mode('operations')", "Ops"),
        Binding("ctrl+t", "toggle_theme", "Dark/light"),
    ]

    catalog: reactive[Catalog | None] = reactive(None, always_update=True)
    """The latest discovery result, with hot reloads merged in (None until the first scan)."""
    catalog_error: reactive[str] = reactive("")
    """Why the last scan failed as a whole (empty when it did not)."""
    stats: reactive[Mapping[str, WorkflowStats]] = reactive(dict, always_update=True)
    """Stored history per workflow name (last run, success rate, durations)."""
    store: reactive[RunStore | None] = reactive(None)
    """The open run store (None until it opens, or when it could not be opened)."""
    store_error: reactive[str] = reactive("")
    live_runs: reactive[Mapping[str, LiveRun]] = reactive(dict, always_update=True)
    """Runs started from this workbench, newest last, as their events report them."""
    versions_published: reactive[int] = reactive(0)
    """Counts hot-reload publishes, so version views know to read the store again."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.settings = settings
        self.clock = clock  # "now" in unix seconds for windowed figures (tests freeze it)
        self._theme_problem = ""
        self._cancels: dict[str, threading.Event] = {}
        self._watching: tuple[str, ...] | None = None
        try:
            self.theme = settings.theme
        except InvalidThemeError as exc:  # an unknown theme name must not stop the app
            self._theme_problem = f"{exc}; using textual-dark"
            self.theme = "textual-dark"

    def on_mount(self) -> None:
        # every thread worker runs on the loop's default executor; its usual 6 threads
        # would starve once a few long-lived loops (watcher, pollers, tails) hold some
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="spine-worker"))
        if self._theme_problem:
            self.notify(self._theme_problem, title="Theme", severity="warning")
        self.action_reload_catalog()
        self.open_store(self.settings.db_path)
        self.set_interval(STATS_REFRESH_SECONDS, self.refresh_stats)

    def on_unmount(self) -> None:
        for cancel in self._cancels.values():
            cancel.set()

    # ------------------------------------------------------------------ discovery
    @work(thread=True, exclusive=True, exit_on_error=False, group="discovery")
    def load_catalog(self, paths: tuple[Path, ...]) -> None:
        """Scan ``paths`` (default folders when empty) for workflow files."""
        try:
            with reload.LOAD_LOCK:
                catalog = discover(workflow_paths(paths))
        except Exception as exc:  # a failed scan is shown in the catalog, never a traceback
            self.post_message(CatalogLoadFailed(f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(CatalogLoaded(catalog))

    @on(CatalogLoaded)
    def _store_catalog(self, message: CatalogLoaded) -> None:
        self.catalog_error = ""
        self.catalog = message.catalog
        if self.settings.watch and self._watching != message.catalog.paths:
            self._watching = message.catalog.paths
            self.watch_files(message.catalog.paths)

    @on(CatalogLoadFailed)
    def _store_failure(self, message: CatalogLoadFailed) -> None:
        self.catalog_error = message.error
        self.notify(message.error, title="Could not load workflows", severity="error")

    def action_reload_catalog(self) -> None:
        """Scan the workflow folders again (picks up new, edited and fixed files)."""
        self.load_catalog(self.settings.paths)

    # ------------------------------------------------------------------ hot reload
    @work(thread=True, exclusive=True, exit_on_error=False, group="watch")
    def watch_files(self, roots: tuple[str, ...]) -> None:
        """Reload each workflow file that changes under ``roots`` until the app stops."""
        worker = get_current_worker()

        def reloaded(path: str, workflows: list[DiscoveredWorkflow], errors: list[Any],
                     removed: bool) -> None:
            previous, store = self.catalog, self.store  # before the reload is merged
            self.post_message(WorkflowFileReloaded(path, workflows, errors, removed))
            if workflows and store is not None:  # after the catalog update: that comes first
                self.post_message(self._publish(store, path, previous, workflows))

        try:
            reload.watch_workflow_files(roots, worker.cancelled_event, reloaded)
        except Exception as exc:  # e.g. out of inotify watches: say so, keep the app
            self.post_message(WatchFailed(f"{type(exc).__name__}: {exc}"))

    @staticmethod
    def _publish(store: RunStore, path: str, previous: Catalog | None,
                 workflows: list[DiscoveredWorkflow]) -> VersionsPublished:
        """Publish reloaded definitions as versions (called in the watch worker)."""
        from engine import WorkflowVersionStore

        try:
            versions = WorkflowVersionStore(store.db)
            return VersionsPublished(path, reload.publish_changes(versions, previous,
                                                                  workflows, path))
        except Exception as exc:  # the reload itself worked: only say versions failed
            return VersionsPublished(path, [], f"{type(exc).__name__}: {exc}")

    @on(VersionsPublished)
    def _versions_published(self, message: VersionsPublished) -> None:
        self.versions_published += 1
        if message.error:
            self.notify(message.error, title="Reloaded, but no version was published",
                        severity="warning", timeout=6)

    @on(WorkflowFileReloaded)
    def _merge_reload(self, message: WorkflowFileReloaded) -> None:
        if self.catalog is None:
            return
        self.catalog = reload.merge_reload(self.catalog, message.path, message.workflows,
                                           message.errors, message.removed)
        if message.errors:
            first = message.errors[0]
            self.notify(str(first), title="Reload failed: last good version kept",
                        severity="error", timeout=6)

    @on(WatchFailed)
    def _watch_failed(self, message: WatchFailed) -> None:
        self.notify(f"{message.error}; press r on the catalog to reload by hand",
                    title="Hot reload stopped", severity="warning")

    # ------------------------------------------------------------------ run store
    @work(thread=True, exclusive=True, exit_on_error=False, group="store")
    def open_store(self, path: Path) -> None:
        try:
            store = RunStore(path)
        except Exception as exc:  # StoreError explains; anything else is shown the same way
            self.post_message(StoreFailed(f"run store {path}: {exc}"))
        else:
            self.post_message(StoreOpened(store))

    @on(StoreOpened)
    def _store_opened(self, message: StoreOpened) -> None:
        self.store_error = ""
        self.store = message.store
        self.refresh_stats()

    @on(StoreFailed)
    def _store_failed(self, message: StoreFailed) -> None:
        self.store_error = message.error
        self.notify(message.error, title="Run history unavailable", severity="error",
                    timeout=10)

    def refresh_stats(self) -> None:
        if self.store is not None:
            self.load_stats(self.store)

    @work(thread=True, exclusive=True, exit_on_error=False, group="stats")
    def load_stats(self, store: RunStore) -> None:
        try:
            self.post_message(StatsLoaded(workflow_stats(store)))
        except Exception as exc:  # a stats failure must not take the catalog down
            self.post_message(StoreFailed(f"reading run history from {store.path}: {exc}"))

    @on(StatsLoaded)
    def _store_stats(self, message: StatsLoaded) -> None:
        self.stats = message.stats

    # ------------------------------------------------------------------ runs started here
    def start_run(self, item: DiscoveredWorkflow, params: Mapping[str, Any],
                  executor: Executor | None = None) -> str:
        """Run ``item`` with ``params`` in the background (on ``executor``, started by the
        run form and closed with the run; None: threads); returns the new run's id."""
        run_id = new_run_id()
        cancel = self._cancels[run_id] = threading.Event()
        self.live_runs = {**self.live_runs, run_id: launcher.launched(
            RunLaunched(run_id, item.name, tuple(s.name for s in item.workflow.steps)))}
        self.execute_run(item, dict(params), run_id, cancel, executor)
        return run_id

    def restart_run(self, run_id: str, *, retry: bool) -> str:
        """Retry a stopped run as a new run (``retry``) or resume an interrupted one under
        its own id, in the background; returns the id the run goes on under."""
        new_id = new_run_id() if retry else run_id
        cancel = self._cancels[new_id] = threading.Event()
        paths = tuple(str(p) for p in self.settings.paths) or None
        self.execute_restart(run_id, retry, new_id, paths, cancel)
        return new_id

    @work(thread=True, exit_on_error=False, group="tui-runs")
    def execute_restart(self, run_id: str, retry: bool, new_id: str,
                        paths: tuple[str, ...] | None, cancel: threading.Event) -> None:
        launcher.rerun_tracked(self.settings.db_path, run_id, retry=retry, new_run_id=new_id,
                               paths=paths, cancel=cancel, post=self.post_message)

    def cancel_run(self, run_id: str) -> bool:
        """Ask a run started here to stop at the next step boundary."""
        cancel = self._cancels.get(run_id)
        if cancel is None or cancel.is_set():
            return False
        cancel.set()
        return True

    # not exclusive: several runs may go at once, each in its own worker
    @work(thread=True, exit_on_error=False, group="tui-runs")
    def execute_run(self, item: DiscoveredWorkflow, params: dict[str, Any], run_id: str,
                    cancel: threading.Event, executor: Executor | None = None) -> None:
        launcher.run_tracked(self.settings.db_path, item, params, run_id=run_id,
                             cancel=cancel, post=self.post_message, executor=executor)

    @on(RunLaunched)
    def _run_launched(self, message: RunLaunched) -> None:
        known = self.live_runs.get(message.run_id)
        if known is None or known.finished:  # a resumed run starts again
            self.live_runs = {**self.live_runs, message.run_id: launcher.launched(message)}

    @on(StepStatusChanged)
    def _step_changed(self, message: StepStatusChanged) -> None:
        run = self.live_runs.get(message.run_id)
        if run is not None:
            self.live_runs = {**self.live_runs,
                              message.run_id: launcher.apply_step(run, message)}

    @on(RunEnded)
    def _run_ended(self, message: RunEnded) -> None:
        run = self.live_runs.get(message.run_id)
        runs = dict(self.live_runs)
        if run is not None:
            runs[message.run_id] = launcher.apply_end(run, message)
        finished = [k for k, v in runs.items() if v.finished]
        for old in finished[:-KEEP_FINISHED_RUNS]:
            runs.pop(old)
            self._cancels.pop(old, None)
        self.live_runs = runs
        took = format_duration(message.duration_seconds)
        text = f"{message.workflow} {message.status} in {took} (run {message.run_id})"
        if message.error:
            text += f"\n{message.error}"
        self.notify(text, title="Run finished",
                    severity="information" if message.status == "completed" else "error")
        self.refresh_stats()

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
             settings: Settings | None = None,
             clock: Callable[[], float] | None = None) -> SpineApp:
    """Build the app from ``settings`` (default: ``SPINE_*`` environment), with ``paths``
    and ``db`` overriding; the CLI, the tests and the benchmarks all start here. ``clock``
    is "now" for windowed analytics (tests pass a fixed one)."""
    base = settings if settings is not None else Settings()
    if paths:
        base = base.with_paths(paths)
    if db is not None:
        base = base.with_db(db)
    SETTINGS.set(base)
    return SpineApp(base, clock or time.time)
