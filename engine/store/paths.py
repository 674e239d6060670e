"""Where the run store lives: ``--db``, else ``$SPINE_DB``, else ``$SPINE_HOME/spine.db``
(``SPINE_HOME`` defaults to ``~/.spine``)."""

from __future__ import annotations

import os
from pathlib import Path

DB_FILENAME = "spine.db"


def spine_home() -> Path:
    return Path(os.environ.get("SPINE_HOME") or Path.home() / ".spine").expanduser()


def default_db_path() -> Path:
    env = os.environ.get("SPINE_DB")
    return Path(env).expanduser() if env else spine_home() / DB_FILENAME


def resolve_db_path(db: str | os.PathLike[str] | None = None) -> Path:
    """The database file for an explicit ``db`` argument or the defaults above."""
    return Path(db).expanduser() if db else default_db_path()
