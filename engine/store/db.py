"""Connections to one run-store file: per-thread sqlite3 connections in WAL mode.

Every connection waits (``busy_timeout``) instead of failing when another process holds the
write lock, and write transactions start with ``BEGIN IMMEDIATE`` so two writers never
deadlock upgrading a read lock. Together these keep "database is locked" from reaching users
while several processes write and the TUI reads.

The WAL stays small without a checkpoint, and its fsync, inside any commit. A recorder moves
checkpoints off the writer's thread: its background thread copies the WAL into the database
each second and restarts a WAL of more than ``WAL_RESTART_FRAMES`` (the next commit writes
from the start of the file again). Steps that do nothing write hundreds of MB of WAL a second,
so writers also wake a copier thread every ``COPY_EVERY`` commits to copy and fsync what they
wrote beside them, and every ``WAL_CHECK_EVERY`` commits look at the file's size (one
``os.stat``): past ``WAL_MAX_BYTES`` the writer restarts it, syncing only what the copier has
not. ``journal_size_limit`` then trims the file to ``WAL_MAX_BYTES``. A reader keeping one
read transaction open pins the WAL; a restart waits for it briefly, then backs off.
"""

from __future__ import annotations

import contextlib
import logging
import os
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
WAL_RESTART_FRAMES = 1000  # pages; the background checkpoint restarts a longer WAL
WAL_MAX_BYTES = 16 * 2**20  # a writer restarts a bigger WAL file itself; also journal_size_limit
WAL_CHECK_EVERY = 32  # write transactions between two looks at the WAL file's size
COPY_EVERY = 256  # write transactions between two wake-ups of the WAL copier
RESTART_BUSY_MS = 100  # how long a restart waits for the write lock and for older readers
COPIER_IDLE_SECONDS = 1.0  # a copier nobody woke for this long ends

logger = logging.getLogger("engine.store")


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
        self._wal_path = f"{self.path}-wal"
        self._writes = 0  # write transactions begun, while checkpoints are deferred
        self._next_wal_check = WAL_CHECK_EVERY
        self._wal_backoff = 1
        self._copier: threading.Thread | None = None
        self._copy_wanted = threading.Event()
        self._checkpointing = threading.Lock()  # one checkpoint at a time in this process
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
                conn.execute(f"PRAGMA journal_size_limit = {WAL_MAX_BYTES}")
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
        which keeps the fsync off the per-step hot path; writes only check that the WAL stays
        below ``WAL_MAX_BYTES`` (see the module docstring).
        """
        with self._lock:
            self._auto_checkpoint = False
            for conn in self._all.values():
                conn.execute("PRAGMA wal_autocheckpoint = 0")

    def checkpoint(self) -> None:
        """Copy committed WAL pages into the database without blocking writers, then restart
        a WAL longer than ``WAL_RESTART_FRAMES``: its pages are copied and synced by then, so
        writers wait only for what they committed in between."""
        conn = self.connection()
        with self._checkpointing:
            _busy, frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames > WAL_RESTART_FRAMES:
            self._restart_wal(conn)

    def _wal_bytes(self) -> int:
        try:
            return os.stat(self._wal_path).st_size
        except FileNotFoundError:  # not created yet, or removed by the last connection's close
            return 0

    def _restart_wal(self, conn: sqlite3.Connection) -> bool:
        """Checkpoint every frame so that the next commit starts the WAL over, after any
        checkpoint of this process under way and waiting at most ``RESTART_BUSY_MS`` for the
        write lock and for readers of older snapshots; False if they held on (it then copied
        what it could, like a passive checkpoint). Another process's checkpoint under way
        counts as done: it is doing the same work."""
        with self._checkpointing:
            conn.execute(f"PRAGMA busy_timeout = {RESTART_BUSY_MS}")
            try:
                busy, frames, _ = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            except sqlite3.OperationalError as exc:
                if not _is_lock_error(exc):
                    raise
                return False
            finally:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return not busy or frames < 0  # -1 frames: another checkpoint holds the lock

    def _bound_wal(self, conn: sqlite3.Connection) -> None:
        """Wake the copier every ``COPY_EVERY`` writes, and restart the WAL from this writer's
        connection once its file is past ``WAL_MAX_BYTES``; while a reader pins it, look again
        after twice as many writes each time (up to 64x), so one long read stalls few writes."""
        self._writes += 1
        if self._writes % COPY_EVERY == 0:
            self._wake_copier()
        if self._writes < self._next_wal_check:
            return
        if self._wal_bytes() <= WAL_MAX_BYTES or self._restart_wal(conn):
            self._wal_backoff = 1
        else:
            self._wal_backoff = min(2 * self._wal_backoff, 64)
        self._next_wal_check = self._writes + WAL_CHECK_EVERY * self._wal_backoff

    def _wake_copier(self) -> None:
        with self._lock:
            if self._copier is None or not self._copier.is_alive():
                self._copier = threading.Thread(target=self._copy_wal, daemon=True,
                                                name="spine-wal-copier")
                self._copier.start()
            self._copy_wanted.set()

    def _copy_wal(self) -> None:
        """The copier thread: a passive checkpoint each time a writer asks (copying and
        fsyncing the WAL beside the writer, not in its commits), so a writer's restart finds
        little left to sync; it ends when nobody asked for a while, or on ``close()``."""
        me = threading.current_thread()
        while True:
            self._copy_wanted.wait(COPIER_IDLE_SECONDS)
            with self._lock:  # writers set the flag under the lock: no request is lost
                if self._copier is not me or not self._copy_wanted.is_set():
                    if self._copier is me:
                        self._copier = None
                    conn = self._all.pop(threading.get_ident(), None)
                    break
                self._copy_wanted.clear()
            try:
                with self._checkpointing:
                    self.connection().execute("PRAGMA wal_checkpoint(PASSIVE)")
            except (sqlite3.Error, StoreError):  # writers bound the WAL regardless
                logger.exception("copying the WAL of %s into the database failed", self.path)
        if conn is not None:
            conn.close()

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
        if not self._auto_checkpoint:
            self._bound_wal(conn)
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
            copier, self._copier = self._copier, None
            self._copy_wanted.set()
        if copier is not None:
            copier.join()
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
