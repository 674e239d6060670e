"""A run store opened on first use, so objects built at import time (a module-level
``CircuitBreaker``, a ``DLQManager``) never touch the disk before they are used.

Without an explicit store the path is looked up at every use (``$SPINE_DB``, else
``$SPINE_HOME/spine.db``), so changing the environment redirects later calls; every such
object of one process shares one ``Database`` per file.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from .db import Database
from .paths import resolve_db_path
from .runs import RunStore, open_store

_shared: dict[Path, Database] = {}
_shared_lock = threading.Lock()
#: the default store's ``Database`` by the environment values that name it (a breaker asks for
#: it on every ``allow_request``: a dict lookup instead of building a path)
_by_environment: dict[tuple[str | None, str | None], Database] = {}


def shared_database(path: str | Path | None = None) -> Database:
    """The process-wide ``Database`` of ``path`` (default: the environment's store file)."""
    if path is None:
        env = (os.environ.get("SPINE_DB"), os.environ.get("SPINE_HOME"))
        found = _by_environment.get(env)
        if found is None:
            found = _by_environment[env] = shared_database(resolve_db_path())
        return found
    key = resolve_db_path(path).absolute()
    db = _shared.get(key)
    if db is not None:
        return db
    with _shared_lock:
        db = _shared.get(key)
        if db is None:
            db = _shared[key] = Database(key)
    return db


class LazyStore:
    """``store`` (a path, ``Database``, ``RunStore``, sqlite3 connection or None) resolved to a
    ``Database`` when first needed; None follows the environment at every use."""

    __slots__ = ("_given", "_db", "_lock")

    def __init__(self, store: Any = None) -> None:
        self._given = store
        self._db: Database | None = store if isinstance(store, Database) else None
        self._lock = threading.Lock()

    @property
    def db(self) -> Database:
        if self._db is not None:
            return self._db
        given = self._given
        if given is None:
            return shared_database()
        with self._lock:
            if self._db is None:
                if isinstance(given, RunStore):
                    self._db = given.db
                elif isinstance(given, str | Path):
                    self._db = shared_database(given)
                else:  # a sqlite3 connection: its file
                    self._db = open_store(given).db
            return self._db

    @property
    def path(self) -> Path:
        """The store file (for ``None``, the one the environment names now)."""
        if self._db is not None:
            return self._db.path
        if isinstance(self._given, RunStore):
            return self._given.path
        if self._given is None or isinstance(self._given, str | Path):
            return resolve_db_path(self._given)
        return self.db.path

    def __repr__(self) -> str:
        return f"LazyStore({str(self.path)!r})"
