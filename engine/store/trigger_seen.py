"""The ``trigger_seen`` table: what each file or polling trigger has already seen, so a restart
(or a second server on the same store) never fires twice for one file or object.

This module is the table's only writer. A row is ``(trigger, item, seen_at, run_id)``: ``item``
is a file's or object's path, ``run_id`` the run it started (NULL for an item that was already
there when the trigger first started). The row whose ``item`` is ``''`` (``CURSOR``) is the
trigger's cursor: it says when the trigger first started, so "never started" and "started on
an empty folder" differ. Items are claimed with ``INSERT OR IGNORE`` before a run starts, so of
two processes watching the same folder only one fires.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from .db import Database

#: ``item`` of the row that marks when a trigger first started (no path is empty)
CURSOR = ""


def cursor_started_at(db: Database, trigger: str) -> float | None:
    """When ``trigger`` first started (epoch seconds), or None if it never has."""
    value = db.scalar("SELECT seen_at FROM trigger_seen WHERE trigger = ? AND item = ?",
                      [trigger, CURSOR])
    return None if value is None else float(value)


def start_cursor(db: Database, trigger: str, existing: Iterable[str]) -> bool:
    """On a trigger's first start, record its cursor and the items already there (they do not
    fire); returns False, writing nothing, when the trigger has started before."""
    now = time.time()
    with db.transaction() as conn:
        created = conn.execute("INSERT OR IGNORE INTO trigger_seen (trigger, item, seen_at) "
                               "VALUES (?, ?, ?)", (trigger, CURSOR, now)).rowcount
        if created:
            conn.executemany("INSERT OR IGNORE INTO trigger_seen (trigger, item, seen_at) "
                             "VALUES (?, ?, ?)", [(trigger, item, now) for item in existing])
    return bool(created)


def seen_items(db: Database, trigger: str) -> set[str]:
    """The items ``trigger`` has seen (fired for, or found at its first start)."""
    rows = db.connection().execute("SELECT item FROM trigger_seen WHERE trigger = ? AND "
                                   "item != ?", (trigger, CURSOR)).fetchall()
    return {row[0] for row in rows}


def claim(db: Database, trigger: str, item: str) -> bool:
    """Mark ``item`` seen by ``trigger``; True when this call did (so this caller fires), False
    when it was seen before (by this process or another)."""
    with db.transaction() as conn:
        return bool(conn.execute("INSERT OR IGNORE INTO trigger_seen (trigger, item, seen_at) "
                                 "VALUES (?, ?, ?)", (trigger, item, time.time())).rowcount)


def record_run(db: Database, trigger: str, item: str, run_id: str) -> None:
    """Note the run a claimed item started."""
    with db.transaction() as conn:
        conn.execute("UPDATE trigger_seen SET run_id = ? WHERE trigger = ? AND item = ?",
                     (run_id, trigger, item))


def run_for(db: Database, trigger: str, item: str) -> str | None:
    """The run ``item`` started for ``trigger`` (None: not seen, or seen at the first start)."""
    value = db.scalar("SELECT run_id FROM trigger_seen WHERE trigger = ? AND item = ?",
                      [trigger, item])
    return None if value is None else str(value)


def forget(db: Database, trigger: str, items: Iterable[str]) -> None:
    """Drop ``items`` (deleted, or whose run could not start), so they fire when they appear
    again; the cursor is never dropped here."""
    rows = [(trigger, item) for item in items if item != CURSOR]
    if rows:
        with db.transaction() as conn:
            conn.executemany("DELETE FROM trigger_seen WHERE trigger = ? AND item = ?", rows)
