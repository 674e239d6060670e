"""Hot reload: watch workflow files, load the changed ones again, merge them into the catalog.

Shared by every long-lived front end (the workbench and ``spine-engine serve``), so a save
reaches each of them the same way.

``watch_workflow_files`` runs in a worker thread (watchfiles' Rust watcher, debounce 50 ms,
step 10 ms) and loads each changed ``.py``/``.yaml`` file itself, so a save reaches the UI
as one message. ``merge_reload`` is the pure rule for the catalog: a file that loads
replaces its workflows; a file that breaks keeps its last good workflows listed and usable
and shows its error; a deleted file takes its workflows away.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .discovery import (
    PYTHON_SUFFIXES,
    YAML_SUFFIXES,
    Catalog,
    DiscoveredWorkflow,
    LoadError,
    discover,
    load_file,
)

log = logging.getLogger(__name__)

LOAD_LOCK = threading.Lock()
"""Held while engine code imports workflow files (discovery and reload share sys.modules)."""
DEBOUNCE_MS = 50
STEP_MS = 10


def is_workflow_file(path: str | Path) -> bool:
    """The files discovery would load: ``.py``/``.yaml`` not hidden, private or cached."""
    file = Path(path)
    if file.suffix not in (*PYTHON_SUFFIXES, *YAML_SUFFIXES):
        return False
    if file.name.startswith(("_", ".")) or file.name == "conftest.py":
        return False
    return not any(part.startswith(".") or part == "__pycache__" for part in file.parts[:-1])


def _same_file(a: str | Path, b: str | Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def catalog_source(path: str | Path, roots: Iterable[str]) -> str:
    """``path`` spelt as discovery spells it (under the scanned root it belongs to)."""
    absolute = Path(path).resolve()
    for root in roots:
        base = Path(root)
        if base.resolve() == absolute:
            return str(base)
        try:
            return str(base / absolute.relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


def merge_reload(catalog: Catalog, path: str, workflows: list[DiscoveredWorkflow],
                 errors: list[LoadError], removed: bool = False) -> Catalog:
    """The catalog after ``path`` was loaded again (or deleted, when ``removed``)."""
    others = [e for e in catalog.errors if not _same_file(e.path, path)]
    if removed:
        kept = [w for w in catalog.workflows if not _same_file(w.source, path)]
        return Catalog(tuple(kept), tuple(others), catalog.paths)
    if errors and not workflows:
        # keep the last good version listed and usable; show why the new one did not load
        return Catalog(catalog.workflows, (*others, *errors), catalog.paths)
    taken = {w.name: w.source for w in catalog.workflows if not _same_file(w.source, path)}
    fresh: list[DiscoveredWorkflow] = []
    problems = list(errors)
    for item in workflows:
        if item.name in taken:
            problems.append(LoadError(item.source, f"workflow name {item.name!r} is already "
                                      f"defined in {taken[item.name]}; rename one of them",
                                      None, "DuplicateWorkflowError"))
        else:
            fresh.append(item)
    merged: list[DiscoveredWorkflow] = []
    inserted = False
    for item in catalog.workflows:
        if _same_file(item.source, path):
            if not inserted:  # the file's workflows stay where they were listed
                merged.extend(fresh)
                inserted = True
        else:
            merged.append(item)
    if not inserted:
        merged.extend(fresh)
    return Catalog(tuple(merged), (*others, *problems), catalog.paths)


def publish_changes(versions: Any, previous: Catalog | None,
                    workflows: list[DiscoveredWorkflow], source: str) -> list[str]:
    """Publish each reloaded definition as a new version when it changed (``publish`` keeps
    the latest when it did not); a workflow with no version yet gets the definition it had
    before the save published first, so its first edit already shows as a diff. Returns
    ``name vN`` of the versions now latest."""
    latest: list[str] = []
    known = set(versions.names())
    for item in workflows:
        before = previous.get(item.name) if previous is not None else None
        if item.name not in known and before is not None and \
                before.workflow is not item.workflow:
            versions.publish(before.workflow, source=source, changelog="before hot reload")
        info = versions.publish(item.workflow, source=source, changelog="hot reload")
        latest.append(f"{info.name} v{info.version}")
    return latest


def reload_file(path: str | Path, roots: Iterable[str]
                ) -> tuple[str, list[DiscoveredWorkflow], list[LoadError], bool]:
    """Load one changed file again: (catalog source, workflows, errors, removed)."""
    source = catalog_source(path, roots)
    if not Path(path).exists():
        return source, [], [], True
    with LOAD_LOCK:
        workflows, errors = load_file(source)
    return source, workflows, errors, False


def watch_workflow_files(roots: Iterable[str], stop: threading.Event,
                         on_reload: Callable[[str, list[DiscoveredWorkflow], list[LoadError],
                                              bool], None]) -> None:
    """Block until ``stop`` is set, reloading each workflow file that changes under ``roots``."""
    roots = [str(r) for r in roots]
    watch_changed_files(roots, stop, lambda path: on_reload(*reload_file(path, roots)))


def watch_changed_files(roots: Iterable[str], stop: threading.Event,
                        on_change: Callable[[str], object]) -> None:
    """Block until ``stop`` is set, calling ``on_change`` with each workflow file that changes
    under ``roots`` (the caller loads it)."""
    from watchfiles import watch

    existing = [str(r) for r in roots if Path(r).exists()]
    if not existing:
        return
    for changes in watch(*existing, debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=stop,
                         watch_filter=lambda _change, p: is_workflow_file(p),
                         raise_interrupt=False, rust_timeout=500, yield_on_timeout=False):
        for path in sorted({p for _change, p in changes}):
            if stop.is_set():
                return
            on_change(path)


class LiveCatalog:
    """A catalog kept current by a watcher thread, for front ends without an event loop
    (``spine-engine serve``): ``current()`` is always the latest merged catalog, and each
    reloaded definition is published as a version when ``versions`` is given."""

    def __init__(self, paths: Iterable[str | Path], *, versions: Any = None) -> None:
        self._paths = [Path(p) for p in paths]
        self._versions = versions
        self._lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reloads = 0  # how many file changes were merged: a cheap "did anything change"
        self.watch_error: str | None = None
        with LOAD_LOCK:
            self._catalog = discover(self._paths)

    def current(self) -> Catalog:
        with self._lock:
            return self._catalog

    def reload(self, path: str | Path) -> Catalog:
        """Load ``path`` again now (a file this process just wrote or deleted) and return the
        catalog with it merged, without waiting for the watcher to notice.

        Loading and merging happen under one lock, for the watcher too: a watcher that read
        the file just before this process replaced or deleted it can then never merge its
        stale load after this one."""
        with self._reload_lock:
            self._reloaded(*reload_file(path, self.current().paths))
        return self.current()

    def start(self) -> None:
        """Watch the catalog's folders in a daemon thread until ``stop``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="spine-hot-reload",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        try:
            watch_changed_files(self.current().paths, self._stop, self.reload)
        except Exception as exc:  # e.g. out of inotify watches: the last catalog stays usable
            self.watch_error = f"{type(exc).__name__}: {exc}"
            log.warning("hot reload stopped: %s", self.watch_error)

    def _reloaded(self, path: str, workflows: list[DiscoveredWorkflow],
                  errors: list[LoadError], removed: bool) -> None:
        with self._lock:
            previous = self._catalog
            self._catalog = merge_reload(previous, path, workflows, errors, removed)
            self.reloads += 1
        for error in errors:
            log.warning("reload failed, last good version kept: %s", error)
        if workflows and self._versions is not None:
            try:
                publish_changes(self._versions, previous, workflows, path)
            except Exception:  # the reload itself worked: only the version history missed it
                log.exception("reloaded %s, but no version was published", path)
