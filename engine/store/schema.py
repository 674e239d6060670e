"""The run store's SQLite schema, its version stamp and forward migrations.

A spine database is marked with ``PRAGMA application_id`` so a foreign SQLite file is
recognised and refused before anything is written, and ``PRAGMA user_version`` holds the
schema version: older files are migrated forward, newer ones are refused. Timestamps are
REAL unix seconds (UTC): compact, indexable, and cheap to aggregate over millions of rows.
Per-run tables are ``WITHOUT ROWID`` clustered on ``(run_id, ...)``: a step's checkpoint
commit then touches one b-tree per table instead of a table plus its index.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import WorkflowError

APPLICATION_ID = 0x5350494E  # "SPIN"
SCHEMA_VERSION = 7
CHECK_TIMEOUT_SECONDS = 10.0  # busy wait and retry window of the read-only file check


class StoreError(WorkflowError):
    """The run store cannot be used (bad file, newer schema, unknown run, ...)."""


class StoreFileError(StoreError):
    """The database file is corrupt, foreign, or from a newer version; it is left untouched."""


_V1 = """
CREATE TABLE workflow_versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    checksum TEXT NOT NULL,
    definition TEXT NOT NULL,
    source TEXT,
    created_at REAL NOT NULL,
    created_by TEXT,
    PRIMARY KEY (name, version)
);
CREATE INDEX workflow_versions_checksum ON workflow_versions (name, checksum);

CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    version INTEGER,
    status TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    partition_key TEXT,
    parent_run_id TEXT,
    source TEXT,
    error TEXT,
    error_step TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    duration_seconds REAL,
    heartbeat_at REAL,
    pid INTEGER,
    host TEXT,
    step_count INTEGER
);
CREATE INDEX runs_created ON runs (created_at DESC);
CREATE INDEX runs_workflow_created ON runs (workflow, created_at DESC);
CREATE INDEX runs_status ON runs (status, created_at DESC);
CREATE INDEX runs_partition ON runs (workflow, partition_key) WHERE partition_key IS NOT NULL;

CREATE TABLE step_runs (
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    workflow TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    error_category TEXT,
    error_type TEXT,
    started_at REAL,
    finished_at REAL,
    duration_seconds REAL,
    child_run_id TEXT,
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID;
CREATE INDEX step_runs_workflow ON step_runs (workflow, started_at);

CREATE TABLE events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    step TEXT,
    at REAL NOT NULL,
    data TEXT,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE logs (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    step TEXT,
    at REAL NOT NULL,
    stream TEXT NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE outputs (
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID;

CREATE TABLE checkpoints (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    step TEXT NOT NULL,
    at REAL NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE artifacts (
    run_id TEXT NOT NULL,
    step TEXT,
    key TEXT NOT NULL,
    store TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    content_type TEXT,
    checksum TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE approvals (
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT,
    requested_at REAL NOT NULL,
    decided_at REAL,
    decided_by TEXT,
    comment TEXT,
    PRIMARY KEY (run_id, step)
);

CREATE TABLE control (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    command TEXT NOT NULL,
    requested_at REAL NOT NULL,
    handled_at REAL
);
CREATE INDEX control_pending ON control (run_id) WHERE handled_at IS NULL;
"""

# v2: published versions record whether they can be rebuilt, which version a rollback
# restored, and an optional changelog (``engine.versions``). ADD COLUMN keeps v1 rows.
_V2 = """
ALTER TABLE workflow_versions ADD COLUMN replayable INTEGER NOT NULL DEFAULT 1;
ALTER TABLE workflow_versions ADD COLUMN rolled_back_from INTEGER;
ALTER TABLE workflow_versions ADD COLUMN changelog TEXT
"""

#: MIGRATIONS[n] upgrades a database from version n to n + 1.
# v3: one covering index serves every per-step analytics query (bench/bench_store.py shows
# slowest_steps over 1M rows going from ~0.7 s to ~0.17 s); it replaces the narrower one, so
# a step write still updates a single secondary index.
_V3 = """
CREATE INDEX step_runs_stats ON step_runs
    (workflow, step, started_at, status, duration_seconds, error_category);
DROP INDEX step_runs_workflow;
"""

# v4: who started each run (cli, tui, api, script, schedule:NAME, trigger:NAME), carried on
# the run's first event (``engine.events.RunOrigin``), and the parent run's step a sub-workflow
# run is for; older rows read as unknown (NULL). A completed step's output moves into its
# step row: a step's checkpoint then touches one b-tree less (one ~4 KB WAL page per step).
_V4 = """
ALTER TABLE runs ADD COLUMN started_by TEXT;
ALTER TABLE runs ADD COLUMN parent_step TEXT;
ALTER TABLE step_runs ADD COLUMN output TEXT;
UPDATE step_runs SET output = (SELECT o.data FROM outputs o
    WHERE o.run_id = step_runs.run_id AND o.step = step_runs.step)
    WHERE EXISTS (SELECT 1 FROM outputs o
                  WHERE o.run_id = step_runs.run_id AND o.step = step_runs.step);
DROP TABLE outputs
"""

# v5: what ``spine-engine serve`` keeps beside the runs. Cron schedules with their next and
# last fire (a fire is claimed by moving ``next_fire_at`` in one UPDATE, so two servers on
# one store fire it once); API keys (only a SHA-256 of the key is kept); and what each
# event trigger has already seen (files, polled objects), so a restart does not fire again.
_V5 = """
CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    cron TEXT NOT NULL,
    timezone TEXT NOT NULL DEFAULT 'UTC',
    params TEXT NOT NULL DEFAULT '{}',
    enabled INTEGER NOT NULL DEFAULT 1,
    misfire TEXT NOT NULL DEFAULT 'run_once',
    misfire_limit INTEGER NOT NULL DEFAULT 10,
    declared_in TEXT NOT NULL DEFAULT 'api',
    next_fire_at REAL,
    last_fire_at REAL,
    last_run_id TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX schedules_due ON schedules (next_fire_at) WHERE enabled = 1;

CREATE TABLE api_keys (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_used_at REAL,
    revoked_at REAL
);

CREATE TABLE trigger_seen (
    trigger TEXT NOT NULL,
    item TEXT NOT NULL,
    seen_at REAL NOT NULL,
    run_id TEXT,
    PRIMARY KEY (trigger, item)
) WITHOUT ROWID
"""

# v6: what operations keep beside the runs (issue 11): circuit breakers shared by every
# process on the store; dead letters (failed items with their payload, replayable); anomalies
# recorded by steps; and the alert outbox, so an alert survives the process that raised it
# (channel configs hold secret references, never resolved values).
_V6 = """
CREATE TABLE circuit_breakers (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL DEFAULT 'closed',
    failures INTEGER NOT NULL DEFAULT 0,
    successes INTEGER NOT NULL DEFAULT 0,
    failure_threshold INTEGER,
    recovery_timeout REAL,
    success_threshold INTEGER,
    opened_at REAL,
    updated_at REAL NOT NULL
);

CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    run_id TEXT,
    workflow TEXT,
    step TEXT,
    payload TEXT NOT NULL,
    error TEXT,
    error_category TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    replayed_at REAL,
    replay_run_id TEXT,
    purged_at REAL
);
CREATE INDEX dead_letters_queue ON dead_letters (queue, created_at);

CREATE TABLE anomalies (
    id INTEGER PRIMARY KEY,
    run_id TEXT,
    workflow TEXT,
    step TEXT,
    category TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    details TEXT,
    created_at REAL NOT NULL,
    resolved_at REAL
);
CREATE INDEX anomalies_created ON anomalies (created_at DESC);

CREATE TABLE alert_outbox (
    id INTEGER PRIMARY KEY,
    run_id TEXT,
    workflow TEXT,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    created_at REAL NOT NULL,
    delivered_at REAL
);
CREATE INDEX alert_outbox_due ON alert_outbox (next_attempt_at) WHERE status = 'pending'
"""

# v7: where a step ran and what data it touched (issues 12 and 13). ``step_runs.worker`` names
# the thread, process or Dask worker that ran the step's last attempt; ``lineage`` records which
# step read or wrote which artifact, table or file in a run; ``incremental_cursors`` keeps the
# high-water mark of an incremental source, so a re-run reads only new rows.
_V7 = """
ALTER TABLE step_runs ADD COLUMN worker TEXT;

CREATE TABLE lineage (
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    direction TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    details TEXT,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (run_id, step, direction, kind, name)
) WITHOUT ROWID;
CREATE INDEX lineage_name ON lineage (name, kind);

CREATE TABLE incremental_cursors (
    name TEXT PRIMARY KEY,
    workflow TEXT,
    step TEXT,
    cursor_field TEXT NOT NULL,
    value TEXT,
    run_id TEXT,
    updated_at REAL NOT NULL
)
"""

MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    0: lambda conn: _run_script(conn, _V1),
    1: lambda conn: _run_script(conn, _V2),
    2: lambda conn: _run_script(conn, _V3),
    3: lambda conn: _run_script(conn, _V4),
    4: lambda conn: _run_script(conn, _V5),
    5: lambda conn: _run_script(conn, _V6),
    6: lambda conn: _run_script(conn, _V7),
}


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Execute DDL statement by statement (``executescript`` would commit mid-migration)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def check_file(path: Path) -> None:
    """Refuse a file that is not an empty/new spine store, without writing to it.

    Only SQLite opens the file: closing any other descriptor of it would drop the POSIX locks
    of this process's open connections, and another process could then delete the WAL they
    use. Errors that say nothing about the file's contents (I/O, locks, another process's last
    connection removing the WAL) are retried for ``CHECK_TIMEOUT_SECONDS``.
    """
    if not path.exists():
        return
    if path.is_dir():
        raise StoreFileError(f"{path} is a directory, not a database file; "
                             "pass a file path with --db or SPINE_DB")
    if path.stat().st_size == 0:
        return
    deadline = time.monotonic() + CHECK_TIMEOUT_SECONDS
    delay = 0.005
    while True:
        try:
            tables, app_id, version = _read_marker(path)
            break
        except sqlite3.OperationalError as exc:
            if time.monotonic() + delay > deadline:
                raise StoreFileError(f"{path} cannot be read ({exc}); it was left unchanged"
                                     ) from exc
            time.sleep(delay)
            delay = min(2 * delay, 0.1)
        except sqlite3.DatabaseError as exc:  # about the contents: not a database, corrupt
            if exc.sqlite_errorname == "SQLITE_NOTADB":
                raise StoreFileError(f"{path} is not a SQLite database (corrupt or another "
                                     "kind of file); it was left unchanged. Point --db/SPINE_DB "
                                     "at another file") from exc
            raise StoreFileError(f"{path} is a damaged SQLite database ({exc}); it was left "
                                 "unchanged. Restore a backup or use another --db file") from exc
    if app_id != APPLICATION_ID and tables:
        raise StoreFileError(f"{path} is a SQLite database of another application "
                             f"({tables} schema objects, no spine marker); it was left "
                             "unchanged. Use a separate file for the spine run store")
    if version > SCHEMA_VERSION:
        raise StoreFileError(f"{path} has run-store schema v{version}, newer than this "
                             f"spine-tui understands (v{SCHEMA_VERSION}); upgrade spine-tui")


def _read_marker(path: Path) -> tuple[int, int, int]:
    """Schema objects, ``application_id`` and ``user_version``, read through a read-only
    connection that also runs ``quick_check`` on a spine store (it raises on a damaged one)."""
    conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True,
                           timeout=CHECK_TIMEOUT_SECONDS, isolation_level=None)
    try:
        # one read transaction: another process creating the store commits its tables and
        # the marker together, and separate reads could see the tables only
        conn.execute("BEGIN")
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute("COMMIT")
        if app_id == APPLICATION_ID:
            conn.execute("PRAGMA quick_check(1)").fetchone()
    finally:
        conn.close()
    return tables, app_id, version


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to ``SCHEMA_VERSION``; returns the version found before."""
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise StoreFileError(f"run-store schema v{found} is newer than v{SCHEMA_VERSION}")
    version = found
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current == version:  # another process may have migrated meanwhile
                MIGRATIONS[version](conn)  # statements run one by one inside this transaction
                conn.execute(f"PRAGMA user_version = {version + 1}")
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    return int(found)
