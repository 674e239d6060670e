"""Loading a workflow file again, with the user's own modules it imports, for edit and continue.

Discovery already executes a ``.py`` workflow file into a fresh module object on every load;
this adds the modules that file imports from the watched folders (``from helpers import
clean``), so an edit to a helper module is picked up too. Those modules are taken out of
``sys.modules`` before the file runs again, so its imports load them afresh, each once and
in the order the imports themselves ask for. Installed packages, the standard library and
the engine are never touched.

Why fresh module objects instead of ``importlib.reload`` in place: a reload in place
rewrites the old module's namespace, so the handlers of the definition being replaced
(still on the playground's timeline, shown when stepping back) would start calling the new
helpers, and a module imported with ``from x import f`` elsewhere would keep the old ``f``
unless every importer was reloaded in the right order too. Fresh objects leave the old
definition exactly as it was and leave ``sys.modules`` holding only new ones. A file that
no longer loads puts every module it displaced back, so nothing changes.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import sysconfig
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any

from .. import registry
from ..discovery import (
    PYTHON_SUFFIXES,
    YAML_SUFFIXES,
    DiscoveredWorkflow,
    LoadError,
    _load_sibling_modules,
    _module_name,
    load_file,
)
from ..hot_reload import LOAD_LOCK

_ENGINE = __name__.partition(".")[0]
_INSTALLED = ("site-packages", "dist-packages")


@dataclass(frozen=True, slots=True)
class FreshLoad:
    """A workflow file loaded again: its workflows or errors (file:line, as the catalog shows
    them), the user modules imported afresh with it, and the files to watch for the next save."""

    path: str
    workflows: tuple[DiscoveredWorkflow, ...]
    errors: tuple[LoadError, ...]
    modules: tuple[str, ...] = ()
    files: tuple[str, ...] = ()

    def get(self, name: str) -> DiscoveredWorkflow | None:
        return next((w for w in self.workflows if w.name == name), None)


def load_fresh(path: str | Path, roots: Iterable[str | Path] = ()) -> FreshLoad:
    """Load ``path`` again together with the modules it imports from ``roots`` (and from its
    own folder); on any load error every displaced module is put back."""
    file = Path(path)
    folders = _folders(file, roots)
    with LOAD_LOCK:
        entry = _entry_modules(file)
        evicted = _local_closure(entry, folders)
        own = {m.__name__ for m in entry}
        displaced = {name: sys.modules[name] for name in evicted
                     if name in sys.modules and name not in own}
        pipelines = {name: registry.get_pipeline(name) for name in registry.list_pipelines()}
        previous = {m.__name__: m for m in entry}
        for name in displaced:
            del sys.modules[name]
        try:
            if file.suffix in YAML_SUFFIXES:
                _load_sibling_modules(file)
            workflows, errors = load_file(file)
        except BaseException:
            _restore(displaced, previous, pipelines)
            raise
        if errors:
            _restore(displaced, previous, pipelines)
            return FreshLoad(str(path), tuple(workflows), tuple(errors),
                             files=watched_files(file, roots, _locked=True))
        fresh = _local_closure(_entry_modules(file), folders)
    files = tuple(dict.fromkeys([str(file), *_files(fresh)]))
    modules = tuple(name for name in fresh if name not in own and name in displaced)
    return FreshLoad(str(path), tuple(workflows), (), modules, files)


def watched_files(path: str | Path, roots: Iterable[str | Path] = (), *,
                  _locked: bool = False) -> tuple[str, ...]:
    """``path`` and the files of the user modules it imports (as loaded now): what to watch
    so that a save to any of them is noticed."""
    file = Path(path)
    folders = _folders(file, roots)
    if _locked:
        names = _local_closure(_entry_modules(file), folders)
    else:
        with LOAD_LOCK:
            names = _local_closure(_entry_modules(file), folders)
    return tuple(dict.fromkeys([str(file), *_files(names)]))


class SavedFiles:
    """Notices saves without a watcher thread: the (mtime, size) of a workflow file and of
    the user modules it imports, compared on demand (a few ``stat`` calls), as a prompt
    checks before each command."""

    def __init__(self, path: str | Path, roots: Iterable[str | Path] = ()) -> None:
        self.path = Path(path)
        self.roots = tuple(Path(r) for r in roots)
        self._stamps = _stamps(watched_files(self.path, self.roots))

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(self._stamps)

    def changed(self) -> tuple[str, ...]:
        """The watched files saved (or deleted) since the last ``watch``/``changed``."""
        now = _stamps(self._stamps)
        saved = tuple(f for f, stamp in now.items() if self._stamps.get(f) != stamp)
        self._stamps = now
        return saved

    def watch(self, files: Iterable[str]) -> None:
        """Watch ``files`` from now on (after a reload: ``ReloadReport.files``)."""
        self._stamps = _stamps([str(self.path), *files])


def _stamps(files: Iterable[str]) -> dict[str, tuple[int, int] | None]:
    stamps: dict[str, tuple[int, int] | None] = {}
    for name in files:
        try:
            info = Path(name).stat()
        except OSError:
            stamps[name] = None
        else:
            stamps[name] = (info.st_mtime_ns, info.st_size)
    return stamps


def _restore(displaced: dict[str, ModuleType], previous: dict[str, ModuleType],
             pipelines: dict[str, Callable[..., Any]]) -> None:
    """Put the last good modules and pipeline handlers back after a load that failed."""
    sys.modules.update(displaced)
    sys.modules.update(previous)
    for name, handler in pipelines.items():
        registry.register_pipeline(name, handler)


def _entry_modules(file: Path) -> list[ModuleType]:
    """The loaded modules of ``file`` (a ``.py``) or of the ``.py`` files beside a YAML file."""
    if file.suffix in PYTHON_SUFFIXES:
        candidates = [file]
    else:
        candidates = sorted(p for p in file.parent.glob("*.py") if not p.name.startswith("_"))
    found = []
    for candidate in candidates:
        module = sys.modules.get(_module_name(candidate)[0])
        if module is not None and _same_file(getattr(module, "__file__", None), candidate):
            found.append(module)
    return found


def _local_closure(entry: list[ModuleType], folders: tuple[Path, ...]) -> list[str]:
    """Names of the entry modules and every user module they import, transitively."""
    order: list[str] = []
    todo = list(entry)
    seen: set[str] = set()
    while todo:
        module = todo.pop(0)
        if module.__name__ in seen:
            continue
        seen.add(module.__name__)
        order.append(module.__name__)
        for name in _imported(module):
            imported = sys.modules.get(name)
            if imported is not None and name not in seen and _is_local(imported, folders):
                todo.append(imported)
    return order


def _imported(module: ModuleType) -> list[str]:
    """Module names ``module`` uses: those its source imports (relative imports resolved) and
    those its namespace holds (modules, and the modules of its functions and classes), so a
    file saved with a syntax error still names the helpers it had."""
    names: list[str] = []
    for value in list(vars(module).values()):
        if isinstance(value, ModuleType):
            names.append(value.__name__)
        elif isinstance(value, FunctionType | type):
            names.append(getattr(value, "__module__", "") or "")
    source = getattr(module, "__file__", None)
    if not source or not source.endswith(".py"):
        return list(dict.fromkeys(n for n in names if n))
    try:
        tree = ast.parse(Path(source).read_bytes(), source)
    except (OSError, SyntaxError, ValueError):
        return list(dict.fromkeys(n for n in names if n))
    package = module.__package__ or ""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                names += [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                try:
                    base = importlib.util.resolve_name("." * node.level + base, package)
                except (ImportError, ValueError):
                    continue
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]
    return list(dict.fromkeys(n for n in names if n))


def _is_local(module: ModuleType, folders: tuple[Path, ...]) -> bool:
    """User code: a module file under the watched folders, not installed, not the engine."""
    name = module.__name__
    if name == _ENGINE or name.startswith(_ENGINE + ".") or name in sys.stdlib_module_names:
        return False
    source = getattr(module, "__file__", None)
    if not source:
        return False
    path = Path(source).resolve()
    if any(part in _INSTALLED for part in path.parts) or path.is_relative_to(_STDLIB):
        return False
    return any(path.is_relative_to(folder) for folder in folders)


def _folders(file: Path, roots: Iterable[str | Path]) -> tuple[Path, ...]:
    folders = [file.resolve().parent]
    for root in roots:
        path = Path(root).resolve()
        folders.append(path if path.is_dir() else path.parent)
    return tuple(dict.fromkeys(folders))


def _files(names: Iterable[str]) -> list[str]:
    files = []
    for name in names:
        source = getattr(sys.modules.get(name), "__file__", None)
        if source:
            files.append(source)
    return files


def _same_file(a: str | None, b: Path) -> bool:
    return a is not None and Path(a).resolve() == b.resolve()


_STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()
