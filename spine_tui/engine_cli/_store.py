"""What the store-reading commands share: ``--db``, opening the run store, run formatting."""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from rich.text import Text

from engine import RunStatus, RunStore, StoreError
from engine.store import resolve_db_path

from ..widgets.status import format_duration as _format_duration
from ..widgets.status import format_time
from ._io import CliError

#: Run states in which a run may still change (``logs --follow`` keeps polling these).
LIVE_STATUSES = frozenset({RunStatus.PENDING, RunStatus.QUEUED, RunStatus.RUNNING,
                           RunStatus.PAUSED, RunStatus.WAITING})

STATUS_STYLES: dict[str, str] = {
    "completed": "green", "failed": "red", "running": "cyan", "interrupted": "magenta",
    "cancelled": "yellow", "skipped": "dim", "pending": "dim", "queued": "blue",
    "paused": "yellow", "waiting": "blue", "retrying": "yellow",
}

DB_HELP = ("the run-store file (default: $SPINE_DB, else $SPINE_HOME/spine.db, "
           "else ~/.spine/spine.db)")


def add_db_option(parser: argparse.ArgumentParser, *, top_level: bool = False) -> None:
    """``--db PATH``, accepted before the command and after it (``spine-engine --db x runs``).

    On sub-commands the default is suppressed so a ``--db`` given before the command survives.
    """
    parser.add_argument("--db", metavar="PATH", help=DB_HELP,
                        default=None if top_level else argparse.SUPPRESS)


def db_path(args: argparse.Namespace) -> Path:
    """The store file this invocation uses (``--db``, else the environment defaults)."""
    return resolve_db_path(getattr(args, "db", None))


@contextlib.contextmanager
def open_store(args: argparse.Namespace) -> Iterator[RunStore]:
    """The run store named by ``--db`` (created when missing); a bad file is a ``CliError``."""
    try:
        store = RunStore(db_path(args))
    except StoreError as exc:
        raise CliError(str(exc)) from None
    try:
        yield store
    finally:
        store.close()


def require_store_file(args: argparse.Namespace, run_id: str) -> None:
    """Refuse to look a run up in a store file that does not exist (instead of creating it)."""
    path = db_path(args)
    if not path.exists():
        raise CliError(f"no run {run_id!r}: the run store {path} does not exist yet",
                       hint="runs are stored by `spine-engine run`; pass the store that holds "
                            "this run with --db or SPINE_DB")


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def local_time(value: datetime | None, *, with_date: bool = True) -> str:
    """A stored UTC time in the local zone: ``2024-01-31 14:05:09`` (or just the time)."""
    return format_time(value, date=with_date, missing="-")


def format_duration(seconds: float | None) -> str:
    """``0.42s``, ``12.3s``, ``4m05s``, ``2h03m``; ``-`` when unknown."""
    return _format_duration(seconds, missing="-")


def fine_duration(seconds: float | None) -> str:
    """Like ``format_duration`` but in milliseconds below a second: ``0.3ms``, ``41.2ms``."""
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.1f}ms" if seconds < 1 else format_duration(seconds)


def run_duration(status: RunStatus, started: datetime | None, finished: datetime | None,
                 stored: float | None) -> float | None:
    """The stored duration, or the time elapsed so far for a run that is still going."""
    if stored is not None:
        return stored
    if started is None:
        return None
    if finished is not None:
        return (finished - started).total_seconds()
    if status in LIVE_STATUSES:
        return max(0.0, time.time() - started.timestamp())
    return None


def one_line(text: str | None, width: int = 70) -> str:
    """The first line of ``text`` cut at ``width`` characters (table cells)."""
    if not text:
        return ""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= width else first[: width - 1] + "…"
