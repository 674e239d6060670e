"""Connections to one run-store file: per-thread sqlite3 connections in WAL mode.

Every connection waits (``busy_timeout``) instead of failing when another process holds the
write lock, and write transactions start with ``BEGIN IMMEDIATE`` so two writers never
deadlock upgrading a read lock. Together these keep "database is locked" from reaching users
while several processes write and the TUI reads.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .paths import resolve_db_path
from .schema import StoreError, check_file, migrate

BUSY_TIMEOUT_MS = 30_000


class Database:
    """One store file; safe to share between threads (each gets its own connection)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = resolve_db_path(path)
        check_file(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for {self.path}: {exc}") from exc
        self._local = threading.local()
        self._all: dict[int, sqlite3.Connection] = {}  # thread ident -> its connection
        self._lock = threading.Lock()
        self._auto_checkpoint = True
        migrate(self.connection())

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                       isolation_level=None, check_same_thread=False)
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                _enable_wal(conn)
                conn.execute("PRAGMA synchronous = NORMAL")
                if not self._auto_checkpoint:
                    conn.execute("PRAGMA wal_autocheckpoint = 0")
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot open run store {self.path}: {exc}") from exc
            self._local.conn = conn
            with self._lock:
                self._close_orphans()
                self._all[threading.get_ident()] = conn
        return conn

    def _close_orphans(self) -> None:
        """Close connections of threads that have ended (caller holds the lock), so a
        long-lived process with short-lived workers keeps a bounded number of handles."""
        alive = {t.ident for t in threading.enumerate()}
        for ident in [i for i in self._all if i not in alive]:
            with contextlib.suppress(sqlite3.Error):  # already unusable: nothing to release
                self._all.pop(ident).close()

    def defer_checkpoints(self) -> None:
        """Stop commits from checkpointing the WAL (and fsyncing) on the writer's thread.

        A recorder calls this and runs ``checkpoint()`` from its background thread instead,
        which keeps the fsync off the per-step hot path.
        """
        with self._lock:
            self._auto_checkpoint = False
            for conn in self._all.values():
                conn.execute("PRAGMA wal_autocheckpoint = 0")

    def checkpoint(self) -> None:
        """Copy committed WAL pages into the database without blocking writers or readers."""
        self.connection().execute("PRAGMA wal_checkpoint(PASSIVE)")

    @property
    def utils(self) -> Any:
        """sqlite-utils view of this thread's connection (introspection, ad-hoc queries).

        Imported on use: sqlite-utils pulls in click and pandas, too heavy for ``import engine``.
        """
        import sqlite_utils

        return sqlite_utils.Database(self.connection())

    def begin(self) -> sqlite3.Connection:
        """Start a write transaction (``BEGIN IMMEDIATE``) on this thread's connection.

        The busy timeout already waits for other writers; should it still time out, the
        begin is retried a few times before the error surfaces. The caller commits.
        """
        conn = self.connection()
        for attempt in range(5):
            try:
                conn.execute("BEGIN IMMEDIATE")
                return conn
            except sqlite3.OperationalError as exc:
                if not _is_lock_error(exc) or attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that commits on success and rolls back on error."""
        conn = self.begin()
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        cursor = self.connection().execute(sql, params)
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.connection().execute(sql, params).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        with self._lock:
            for conn in self._all.values():
                with contextlib.suppress(sqlite3.Error):  # already unusable: nothing to release
                    conn.close()
            self._all.clear()
        self._local = threading.local()


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch ``conn``'s file to WAL, waiting out other processes doing the same.

    SQLite answers a journal-mode change that meets another connection's lock with "database
    is locked" at once, without calling the busy handler; two processes opening a new store
    together (``spine-tui`` and ``spine-engine run``) hit that. So the change is retried
    for as long as the busy timeout would have waited.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if not _is_lock_error(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def _is_lock_error(exc: sqlite3.OperationalError) -> bool:
    """Another connection holds the lock ("database is locked", SQLITE_BUSY): worth a retry."""
    return "locked" in str(exc) or "busy" in str(exc)
