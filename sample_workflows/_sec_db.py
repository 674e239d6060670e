"""A small SQLite copy of the SEC database the F5/F10 samples query, built from ``data/sec_dev.sql``."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

from sample_workflows._common import data_file, scratch_path

SEED_SQL = data_file("sec_dev.sql")

#: Point the samples at another SQLite file with the same schema.
DB_ENV = "SPINE_SEC_DB"


def sec_db_path(db_path: str = "") -> Path:
    """The database to query: ``db_path``, else ``$SPINE_SEC_DB``, else the bundled seed.

    The seed is materialised once per content version into the samples scratch folder
    (written to a temporary file and renamed, so concurrent runs never see half a file).
    """
    explicit = db_path or os.environ.get(DB_ENV, "")
    if explicit:
        path = Path(explicit)
        if not path.exists():
            raise FileNotFoundError(f"SEC database {path} does not exist (set by "
                                    f"{'db_path' if db_path else DB_ENV})")
        return path
    seed = SEED_SQL.read_text(encoding="utf-8")
    digest = hashlib.sha256(seed.encode()).hexdigest()[:12]
    path = scratch_path(f"sec_dev-{digest}.sqlite")
    if not path.exists():
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        conn = sqlite3.connect(tmp)
        try:
            conn.executescript(seed)
            conn.commit()
        finally:
            conn.close()
        os.replace(tmp, path)
    return path


def connect(db_path: str = "") -> sqlite3.Connection:
    """A read-only connection to the SEC database."""
    path = sec_db_path(db_path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn
