"""The threads behind file and polling triggers: find new files or objects, hand each to the
router once.

First start (a cursor, as Prefect and Dagster sensors do): what is already in the folder or
bucket when a trigger starts for the first time is recorded as seen and does not fire; only
what appears afterwards does. From then on ``trigger_seen`` remembers every item, so after a
restart the items that appeared while nothing watched fire once, and nothing fires twice.
A file is identified by its path: deleting it forgets it, so a file written again under the
same name fires again. An object is identified by its path too, but a poll only sees that it
is absent, which a listing glitch can fake, so a polled object is never forgotten: writing the
same key again does not fire again.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..store import trigger_seen
from ..store.db import Database
from .sources import FileSource, PollingSource
from .trigger import EventTrigger

#: ``offer(trigger, item, event)``: claim the item and fire; False when it was not fired
Offer = Callable[[EventTrigger, str, dict[str, Any]], bool]
DEBOUNCE_MS = 50
STEP_MS = 10
WAKE_MS = 200  # how often a quiet file watcher wakes (its first wake means it is armed)
MISSING_FOLDER_RETRY_SECONDS = 1.0
log = logging.getLogger("engine.triggers")


class Watcher(ABC):
    """One trigger's background thread; ``ready`` is set once it is watching (new items from
    then on fire), ``error`` says why it is not."""

    def __init__(self, trigger: EventTrigger, db: Database, offer: Offer) -> None:
        self.trigger = trigger
        self.ready = threading.Event()
        self.error: str | None = None
        self._db = db
        self._offer = offer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True,
                                        name=f"spine-trigger-{trigger.name}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end (``join`` waits for it)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _main(self) -> None:
        try:
            self.run()
        except Exception as exc:  # the thread ends; the router's status shows why
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("trigger %r stopped watching", self.trigger.name)

    @abstractmethod
    def run(self) -> None:
        """Watch until ``stop``."""

    def _first_start(self, existing: Iterable[str]) -> None:
        """Record the cursor and the items already there, on the trigger's first start."""
        if trigger_seen.start_cursor(self._db, self.trigger.name, existing):
            log.info("trigger %r started: existing items do not fire, new ones will",
                     self.trigger.name)

    def _hand_over(self, items: dict[str, dict[str, Any]]) -> None:
        """Offer the items not seen yet, in path order (one whose run could not start is
        forgotten by the router, so the next scan offers it again)."""
        seen = trigger_seen.seen_items(self._db, self.trigger.name)
        for item in sorted(items.keys() - seen):
            if self._stop.is_set():
                return
            self._offer(self.trigger, item, items[item])

    def _matches(self, relative: str, pattern: str) -> bool:
        return fnmatch.fnmatchcase(relative, pattern) or \
            fnmatch.fnmatchcase(relative.rsplit("/", 1)[-1], pattern)


class FileWatcher(Watcher):
    """Files created under a ``FileSource`` folder, through ``watchfiles`` (inotify & co.)."""

    @property
    def source(self) -> FileSource:
        assert isinstance(self.trigger.event_source, FileSource)
        return self.trigger.event_source

    def run(self) -> None:
        from watchfiles import Change, watch  # deliberate lazy import: only watchers need it

        root = Path(self.source.path).expanduser().resolve()
        while not root.is_dir():
            if self.error is None:
                self.error = f"folder {root} does not exist; waiting for it"
                log.warning("trigger %r: %s", self.trigger.name, self.error)
            if self._stop.wait(MISSING_FOLDER_RETRY_SECONDS):
                return
        self.error = None
        self._first_start(self._scan(root))
        armed = False
        for changes in watch(root, debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=self._stop,
                             recursive=self.source.recursive, rust_timeout=WAKE_MS,
                             yield_on_timeout=True, raise_interrupt=False):
            if not armed:  # the watcher is live now: catch up on what came before it was
                armed = True
                self._hand_over(self._scan(root))
                self.ready.set()
            created = {p for change, p in changes if change == Change.added}
            gone = [str(Path(p)) for change, p in changes if change == Change.deleted]
            trigger_seen.forget(self._db, self.trigger.name,
                                [p for p in gone if not Path(p).exists()])
            found = {}
            for path in created:
                event = self._event(root, Path(path))
                if event is not None:
                    found[event["path"]] = event
            if found:
                self._hand_over(found)

    def _scan(self, root: Path) -> dict[str, dict[str, Any]]:
        """The matching files under ``root`` now, by path, with their events."""
        files = root.rglob("*") if self.source.recursive else root.iterdir()
        found = {}
        for path in files:
            event = self._event(root, path)
            if event is not None:
                found[event["path"]] = event
        return found

    def _event(self, root: Path, path: Path) -> dict[str, Any] | None:
        """The event of a created file, or None when it is not one the source wants."""
        try:
            relative = path.relative_to(root).as_posix()
        except ValueError:
            return None
        if any(part.startswith(".") for part in relative.split("/")):
            return None
        if not self._matches(relative, self.source.pattern):
            return None
        try:
            if not path.is_file():
                return None
            size = path.stat().st_size
        except OSError:  # gone again already
            return None
        return {"path": str(path), "name": path.name, "relative": relative, "size": size,
                "folder": str(root), "event": "created"}


class PollingWatcher(Watcher):
    """New objects under a ``PollingSource`` URL, listed through ``fsspec`` every interval."""

    @property
    def source(self) -> PollingSource:
        assert isinstance(self.trigger.event_source, PollingSource)
        return self.trigger.event_source

    def run(self) -> None:
        import fsspec  # deliberate lazy import: only polling triggers need it

        fs, root = fsspec.core.url_to_fs(self.source.url)
        root = root.rstrip("/") or "/"
        started = False
        while not self._stop.is_set():
            try:
                listing = self._list(fs, root)
            except Exception as exc:  # a network or permission problem: try again next time
                self.error = f"cannot list {self.source.url}: {type(exc).__name__}: {exc}"
                log.warning("trigger %r: %s", self.trigger.name, self.error)
            else:
                self.error = None
                if not started:
                    self._first_start(listing)
                    started = True
                self._hand_over(listing)
                self.ready.set()
            self._stop.wait(self.source.interval)

    def _list(self, fs: Any, root: str) -> dict[str, dict[str, Any]]:
        """The matching objects under ``root`` now, by path, with their events."""
        fs.invalidate_cache(root)  # object stores cache listings; we want the bucket now
        depth = None if self.source.recursive else 1
        found = {}
        for path, info in fs.find(root, maxdepth=depth, detail=True).items():
            if info.get("type", "file") != "file":
                continue
            relative = path[len(root):].lstrip("/") if path.startswith(root) else path
            if self._matches(relative, self.source.pattern):
                found[path] = self._event(fs, root, path, relative, info)
        return found

    def _event(self, fs: Any, root: str, path: str, relative: str,
               info: dict[str, Any]) -> dict[str, Any]:
        """An object's event: object stores (``bucket/key`` paths) give its bucket and key;
        local and in-memory folders (absolute paths) have no bucket, and the key is the path
        under the polled folder."""
        bucket, key = (None, relative) if path.startswith("/") else \
            (path.split("/", 1)[0], path.split("/", 1)[-1])
        return {"bucket": bucket, "key": key, "path": path, "name": path.rsplit("/", 1)[-1],
                "size": info.get("size"), "url": fs.unstrip_protocol(path),
                "event": "created"}
