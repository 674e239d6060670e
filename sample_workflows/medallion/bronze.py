"""Spec R2: the bronze layer, immutable raw ingestion of one quarter's data set per call.

Every row is kept as the text it arrived as, with ``record_hash`` = SHA-256 of the raw line
(all of its columns, nothing we add; the 32-byte digest, ``hex(record_hash)`` reads it) and
the load session that first brought it. Rows go in with ``INSERT OR IGNORE`` on the hash,
so loading the same file again inserts zero rows: no "was this processed?" bookkeeping.
Each call is a load session in ``bronze_loads`` (IN_PROGRESS → COMPLETED, or FAILED with the
error, its rows rolled back as one transaction);
``cleanup_stale_loads`` fails sessions a crashed process left IN_PROGRESS (R1's pre-check).

A line with the wrong number of fields cannot be stored column by column: it is kept in
``bronze_rejects`` (keyed by its hash, so a re-load does not count it twice), counted in the
session, and sent to the dead-letter queue once, never stopping the load.

Partitions are independent, so quarters load in parallel (R5): parsing and hashing overlap
while SQLite's single writer lock serialises the inserts (``busy_timeout`` makes loads queue).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from engine import DLQManager
from sample_workflows.medallion.schema import (
    BRONZE_COLUMNS,
    connect,
    ensure_schema,
    transaction,
    utc_now,
)

#: the dead-letter queue malformed rows of every layer go to
DLQ_QUEUE = "sec.medallion"
BATCH_SIZE = 50_000


class BronzeFileError(ValueError):
    """A data set file bronze cannot read as EDGAR's format; says which file and what."""


@dataclass(frozen=True, slots=True)
class Reject:
    """A line that cannot be stored column by column, and why."""

    table: str
    line_no: int
    reason: str
    raw: str
    record_hash: str


@dataclass
class LoadStats:
    """What one load session did, per table and in total."""

    load_id: int
    partition: str
    file_sha256: str
    rows_read: int = 0
    rows_inserted: int = 0
    rows_rejected: int = 0
    new_rejects: list[Reject] = field(default_factory=list)
    per_table: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"load_id": self.load_id, "quarter": self.partition,
                "file_sha256": self.file_sha256, "rows_read": self.rows_read,
                "rows_inserted": self.rows_inserted, "rows_rejected": self.rows_rejected,
                "inserted_by_table": dict(self.per_table)}


class BronzeLayerLoader:
    """Load EDGAR-style quarterly ZIPs into ``bronze_sec_*`` tables of ``db_path``."""

    def __init__(self, db_path: str | Path, batch_size: int = BATCH_SIZE,
                 dlq: DLQManager | None = None) -> None:
        self.db_path = Path(db_path)
        self.batch_size = batch_size
        self.dlq = dlq

    def load_quarter(self, zip_path: str | Path, quarter: str) -> LoadStats:
        """Load one quarter's ZIP as one load session; atomic: all its new rows or none."""
        path = Path(zip_path)
        digest = _file_sha256(path)
        conn = connect(self.db_path)
        try:
            ensure_schema(conn)
            with transaction(conn):
                cur = conn.execute(
                    "INSERT INTO bronze_loads (partition, source_file, file_sha256, status, "
                    "started_at) VALUES (?, ?, ?, 'IN_PROGRESS', ?)",
                    (quarter, str(path), digest, utc_now()))
            stats = LoadStats(int(cur.lastrowid or 0), quarter, digest)
            try:
                tables = list(_read_tables(path))
                with transaction(conn):
                    for table, header, lines in tables:
                        self._insert_table(conn, stats, table, header, lines)
                    conn.execute(
                        "UPDATE bronze_loads SET status='COMPLETED', finished_at=?, "
                        "rows_read=?, rows_inserted=?, rows_rejected=? WHERE load_id=?",
                        (utc_now(), stats.rows_read, stats.rows_inserted, stats.rows_rejected,
                         stats.load_id))
            except Exception as exc:
                with transaction(conn):
                    conn.execute("UPDATE bronze_loads SET status='FAILED', finished_at=?, "
                                 "error=? WHERE load_id=?",
                                 (utc_now(), f"{type(exc).__name__}: {exc}", stats.load_id))
                raise
        finally:
            conn.close()
        self._dead_letter(stats)
        return stats

    def _insert_table(self, conn: Any, stats: LoadStats, table: str, header: list[str],
                      lines: list[str]) -> None:
        columns = BRONZE_COLUMNS[table]
        missing = [c for c in columns if c not in header]
        if missing:
            raise BronzeFileError(f"{table}.txt in the {stats.partition} data set lacks "
                                  f"column(s) {', '.join(missing)}; expected EDGAR's layout "
                                  f"({', '.join(columns)})")
        picks = [header.index(c) for c in columns]
        width = len(header)
        loaded_at = utc_now()
        sql = (f"INSERT OR IGNORE INTO bronze_sec_{table} (record_hash, load_id, loaded_at, "
               f"{', '.join(columns)}) VALUES ({', '.join('?' * (len(columns) + 3))})")
        rows: list[tuple[bytes | str | int, ...]] = []
        inserted = 0
        in_order = picks == list(range(len(columns))) and width == len(columns)
        sha256 = hashlib.sha256
        for line_no, line in enumerate(lines, start=2):
            digest = sha256(line.encode("utf-8")).digest()
            fields = line.split("\t")
            if len(fields) != width:
                self._reject(conn, stats, Reject(table, line_no, f"{len(fields)} fields where "
                                                 f"the header has {width}", line, digest.hex()))
                continue
            if in_order:
                rows.append((digest, stats.load_id, loaded_at, *fields))
            else:
                rows.append((digest, stats.load_id, loaded_at, *(fields[i] for i in picks)))
            if len(rows) >= self.batch_size:
                inserted += _insert(conn, sql, rows)
                rows.clear()
        inserted += _insert(conn, sql, rows)
        stats.rows_read += len(lines)
        stats.per_table[table] = inserted
        stats.rows_inserted += inserted

    def _reject(self, conn: Any, stats: LoadStats, reject: Reject) -> None:
        stats.rows_rejected += 1
        cur = conn.execute("INSERT OR IGNORE INTO bronze_rejects VALUES (?, ?, ?, ?, ?, ?)",
                           (bytes.fromhex(reject.record_hash), stats.load_id, reject.table,
                            reject.line_no, reject.reason, reject.raw))
        if cur.rowcount:
            stats.new_rejects.append(reject)

    def _dead_letter(self, stats: LoadStats) -> None:
        """Send rejects seen for the first time to the DLQ, after their load committed."""
        if self.dlq is None:
            return
        for reject in stats.new_rejects:
            self.dlq.add(DLQ_QUEUE, {"layer": "bronze", "table": reject.table,
                                     "quarter": stats.partition, "line": reject.line_no,
                                     "raw": reject.raw, "record_hash": reject.record_hash},
                         error=reject.reason, error_category="DATA_QUALITY")

    def cleanup_stale_loads(self, max_age_hours: float = 1.0) -> int:
        """Mark sessions IN_PROGRESS for longer than ``max_age_hours`` as FAILED (a crashed
        loader left them); their rows were never committed."""
        cutoff = (datetime.now(UTC) - timedelta(hours=max_age_hours)).isoformat(
            timespec="seconds")
        conn = connect(self.db_path)
        try:
            ensure_schema(conn)
            with transaction(conn):
                cur = conn.execute(
                    "UPDATE bronze_loads SET status='FAILED', finished_at=?, "
                    "error='stale: still IN_PROGRESS after the cutoff' "
                    "WHERE status='IN_PROGRESS' AND started_at < ?", (utc_now(), cutoff))
            return int(cur.rowcount)
        finally:
            conn.close()


def _insert(conn: Any, sql: str, rows: list[tuple[bytes | str | int, ...]]) -> int:
    """Insert ``rows``; how many were new (the rest already had their hash)."""
    if not rows:
        return 0
    before = conn.total_changes
    conn.executemany(sql, rows)
    return int(conn.total_changes - before)


def _read_tables(path: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    """(table, header, data lines) for each EDGAR file in the ZIP, ``sub`` first."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BronzeFileError(f"{path} is not a readable ZIP data set ({exc}); regenerate it "
                              "with `spine-engine sample-data sec`") from exc
    with archive:
        names = set(archive.namelist())
        for table in BRONZE_COLUMNS:
            member = f"{table}.txt"
            if member not in names:
                raise BronzeFileError(f"{path} has no {member}; an EDGAR data set holds "
                                      f"{', '.join(t + '.txt' for t in BRONZE_COLUMNS)}")
            text = io.TextIOWrapper(archive.open(member), encoding="utf-8").read()
            lines = text.splitlines()
            if not lines:
                raise BronzeFileError(f"{path}: {member} is empty (not even a header line)")
            yield table, lines[0].split("\t"), [line for line in lines[1:] if line]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise BronzeFileError(f"cannot read data set {path}: {exc.strerror or exc}") from exc
    return digest.hexdigest()
