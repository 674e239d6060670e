"""Edit and continue in the playground screen: saves of the workflow file (or of a user
module its handlers come from) are reloaded into the live session, stale steps re-run on a
key, and a stored run, once fixed, is retried for real.

A poll loop stats the watched files (``SaveWatch``, a few ``stat`` calls every
``SAVE_POLL_SECONDS``) and posts ``FilesSaved``; the reload runs in the screen's one
playground worker like any other command (after the running one, if any), so the session is
never touched from two threads. A save that does not load is shown in place with file:line,
and the session stays on its last good definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import get_current_worker

from engine.playground import ReloadError
from spine_tui.services.playground_commands import (
    SaveWatch,
    ran,
    reload_note,
    reload_saved,
    retry_stored,
)
from spine_tui.widgets.playground import reload_failed_text, stop_note
from spine_tui.workbench import workbench

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine import Catalog, LoadError, RunHandle, Workflow, WorkflowPlayground
    from engine.playground import ReloadReport
    from spine_tui.widgets.playground import PlaygroundView

SAVE_POLL_SECONDS = 0.05
"""How often the watched files are stat'ed: a save shows within this plus the reload."""


class HotSwap(Screen[None]):
    """The edit-and-continue half of ``PlaygroundScreen``, which provides what is declared
    below (a screen itself, so its messages and handlers are a screen's)."""

    @dataclass
    class FilesSaved(Message):
        """Watched files were saved (or deleted) since the last look."""

        files: tuple[str, ...]

    @dataclass
    class Reloaded(Message):
        """A save was taken into the session (``report``), or refused with ``error`` (and
        the file:line ``errors`` when it does not load); the session is unchanged then."""

        file: str
        report: ReloadReport | None
        error: str = ""
        errors: tuple[LoadError, ...] = ()

    @dataclass
    class SourceFound(Message):
        """The stored run opened was defined in ``path``: its saves are reloaded from now on."""

        path: str

    @dataclass
    class RetryStarted(Message):
        """The real retry of stored run ``source_run_id`` started (``handle.run_id``)."""

        handle: RunHandle
        source_run_id: str

    @dataclass
    class RetryEnded(Message):
        """The retry run ``run_id`` finished with ``status``."""

        run_id: str
        source_run_id: str
        status: str
        error: str | None = None

    if TYPE_CHECKING:  # the playground screen's
        view: PlaygroundView | None
        busy: str

        @property
        def selected(self) -> str | None: ...

        def _submit(self, what: str, command: Callable[[WorkflowPlayground], str], *,
                    root: bool = False) -> None: ...

    def _init_hot_swap(self) -> None:
        self._saves: SaveWatch | None = None
        self._save_pending = False
        self._from_catalog: Workflow | None = None

    @property
    def watching(self) -> str | None:
        """The workflow file whose saves are reloaded into the session (None: no file)."""
        return self._saves.path if self._saves is not None else None

    # ------------------------------------------------------------------ noticing saves
    def _follow_source(self, path: str) -> None:
        """Start reloading the saves of ``path`` and of the user modules it imports."""
        if self._saves is not None and self._saves.path == path:
            return
        roots = tuple(str(p) for p in workbench(self.app).settings.paths)
        self._saves = SaveWatch(path, roots)
        self._watch_saves(self._saves)

    @on(SourceFound)
    def _source_found(self, message: SourceFound) -> None:
        self._follow_source(message.path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="watch")
    def _watch_saves(self, saves: SaveWatch) -> None:
        """Stat the watched files until the screen goes, posting each save found."""
        worker = get_current_worker()
        while not worker.is_cancelled:
            try:
                changed = saves.changed()
            except Exception as exc:  # a vanished folder, permissions: say so and stop
                self.post_message(self.Reloaded(saves.name, None, f"{type(exc).__name__}: "
                                                f"{exc}; saves are no longer picked up"))
                return
            if changed:
                self.post_message(self.FilesSaved(changed))
            worker.cancelled_event.wait(SAVE_POLL_SECONDS)

    @on(FilesSaved)
    def _files_saved(self) -> None:
        if self.busy:
            self._save_pending = True  # taken in as soon as the running command is done
            return
        self._reload_saved()

    def _after_command(self) -> None:
        """Take in a save that came while a command ran."""
        if self._save_pending and not self.busy:
            self._save_pending = False
            self._reload_saved()

    def _reload_saved(self) -> None:
        saves, view = self._saves, self.view
        if saves is None or view is None:
            return
        inspecting = self.selected if not view.depth else None
        self._submit(f"reloading {saves.name}",
                     lambda pg: self._reload(pg, saves, inspecting), root=True)

    def _reload(self, pg: WorkflowPlayground, saves: SaveWatch, inspecting: str | None) -> str:
        """Reload the saved file (in the worker); what happened goes out as ``Reloaded``."""
        try:
            report = reload_saved(pg, saves, inspecting)
        except ReloadError as exc:
            self.post_message(self.Reloaded(saves.name, None, str(exc), tuple(exc.errors)))
            return f"{saves.name} saved: not taken in, the session is as it was"
        self.post_message(self.Reloaded(saves.name, report))
        return reload_note(report, saves.name)

    def _catalog_changed(self, catalog: Catalog | None) -> None:
        """A session without a file of its own takes in a newer definition the catalog got
        (one with a file reloads its saves itself, so this would only reload it twice)."""
        view = self.view
        if catalog is None or view is None or self._saves is not None:
            return
        opened = view.session_workflow or view.workflow
        item = catalog.get(opened.name)
        if item is None or item.workflow is opened or item.workflow is self._from_catalog:
            return
        newer = self._from_catalog = item.workflow

        def take(pg: WorkflowPlayground) -> str:
            try:
                report = pg.reload(newer)
            except ReloadError as exc:
                self.post_message(self.Reloaded(newer.name, None, str(exc)))
                return f"{newer.name} changed: not taken in, the session is as it was"
            self.post_message(self.Reloaded(newer.name, report))
            return reload_note(report, newer.name)

        self._submit(f"reloading {newer.name}", take, root=True)

    @on(Reloaded)
    def _reloaded(self, message: Reloaded) -> None:
        banner = self.query_one("#pg-reloaded", Static)
        if message.report is not None:
            banner.display = False
            return
        roots = tuple(str(p) for p in workbench(self.app).settings.paths)
        banner.update(reload_failed_text(message.file, message.error, message.errors, roots))
        banner.display = True

    # ------------------------------------------------------------------ acting on the edit
    def action_continue_stale(self) -> None:
        """Re-run the steps the last save made stale, from the first, with the saved code."""
        if self.view is not None and not self.view.stale and not self.view.depth:
            self.notify("Nothing is stale: every record matches the saved code "
                        "(c continues with the steps that have not run)", timeout=4)
            return
        self._submit("re-running the stale steps", lambda pg: "re-ran the stale steps: " +
                     stop_note(*ran(pg, pg.continue_stale)), root=True)

    def action_retry_stored(self) -> None:
        """Retry the stored run this session opened, for real, with the saved code."""
        view, store = self.view, workbench(self.app).store
        if view is None or view.source_run_id is None:
            self.notify("Not a stored run: open a failed run (d on its run detail) to retry "
                        "it from here", severity="warning", timeout=4)
            return
        if store is None:
            self.notify("The run store is not open yet", severity="warning", timeout=3)
            return
        db = store.path
        self._submit("starting the retry", lambda pg: self._retry(pg, db), root=True)

    def _retry(self, pg: WorkflowPlayground, db: Any) -> str:
        """Start the retry (in the worker); its handle goes out as ``RetryStarted``."""
        source = pg.source_run_id or ""
        handle = retry_stored(pg, db)
        self.post_message(self.RetryStarted(handle, source))
        return f"retrying run {source} as run {handle.run_id} with the saved code"

    @on(RetryStarted)
    def _retry_started(self, message: RetryStarted) -> None:
        self.notify(f"Run {message.handle.run_id} retries run {message.source_run_id} with "
                    "the saved code; R lists it", title="Retry started", timeout=8)
        self._await_retry(message.handle, message.source_run_id)

    # not exclusive: each retry started from here is followed to its end
    @work(thread=True, exit_on_error=False, group="pg-retry")
    def _await_retry(self, handle: RunHandle, source_run_id: str) -> None:
        """Wait for the retry run to finish and say how it went."""
        worker = get_current_worker()
        while not handle.done:
            if worker.cancelled_event.wait(0.1):
                return  # the screen went; the run goes on and shows in runs
        try:
            result = handle.wait()
        except Exception as exc:  # refused or broken: said, never a traceback
            self.post_message(self.RetryEnded(handle.run_id, source_run_id, "failed",
                                              f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.RetryEnded(handle.run_id, source_run_id, str(result.status),
                                          result.error))

    @on(RetryEnded)
    def _retry_ended(self, message: RetryEnded) -> None:
        ok = message.status == "completed"
        text = f"Run {message.run_id} (retry of {message.source_run_id}) {message.status}"
        if message.error:
            text += f": {message.error}"
        self.notify(text, title="Retry finished", severity="information" if ok else "error",
                    timeout=8)
