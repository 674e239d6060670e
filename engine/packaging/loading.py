"""Which archive this process is loading, if any: a script that packages its own workflow at
its top level (spec A4, F4) is imported again by that archive for its handlers, and must not
write the archive again while it runs from it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .manifest import PackageManifest


@dataclass(frozen=True, slots=True)
class LoadingArchive:
    """The archive whose modules are being imported, and its verified manifest."""

    path: Path
    manifest: PackageManifest


_lock = threading.Lock()
_current: LoadingArchive | None = None


def current() -> LoadingArchive | None:
    """The archive being loaded right now, or None."""
    return _current


@contextmanager
def loading(path: Path, manifest: PackageManifest) -> Iterator[LoadingArchive]:
    """Mark ``path`` as the archive being loaded while its modules are imported."""
    global _current
    state = LoadingArchive(path, manifest)
    with _lock:
        previous, _current = _current, state
    try:
        yield state
    finally:
        with _lock:
            _current = previous
