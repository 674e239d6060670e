"""Sink connectors: a SQLite table (append, replace, upsert by key), a CSV or Parquet file, a
Python function. A sink writes all of its chunks or none of them: one transaction for a table,
a temp file renamed into place for a file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..invoke import signature_of
from ..policies import ErrorCategory
from . import locations
from .config import WRITE_MODES, DataStepError
from .frames import pandas, pyarrow
from .locations import (
    callable_name,
    file_location,
    quote_column,
    quote_table,
    sqlite_path,
    table_name,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..context import WorkflowContext



@dataclass(frozen=True, slots=True)
class Written:
    """What a sink wrote (lineage ``kind``/``name``) and how many rows."""

    kind: str
    name: str
    rows: int


#: ``connector_of(sink_type, settings, has_fn, what)``: the connector a step's settings name
#: (``sink_type`` or what its arguments imply)
connector_of = partial(locations.connector_of, "sink")


def write(connector: str, settings: Mapping[str, Any], fn: Callable[..., Any] | None,
          chunks: Iterator[pd.DataFrame], ctx: WorkflowContext, what: str) -> Written:
    mode = str(settings.get("write_mode") or "append")
    if mode not in WRITE_MODES:
        raise DataStepError(f"{what}: write_mode {mode!r} is not one of {', '.join(WRITE_MODES)}")
    if connector == "sqlite":
        return _sqlite(settings, chunks, ctx, what, mode)
    if connector == "file":
        return _file(settings, chunks, ctx, what, mode)
    if fn is None:
        raise DataStepError(f"{what}: a python sink needs handler=, the function that takes "
                            "each chunk of rows")
    return _python(fn, chunks, ctx)


# ------------------------------------------------------------------ SQLite
def _sqlite(settings: Mapping[str, Any], chunks: Iterator[pd.DataFrame], ctx: WorkflowContext,
            what: str, mode: str) -> Written:
    path = sqlite_path(str(ctx.resolve(settings.get("connection") or "")), what)
    table = str(settings.get("table") or "")
    quoted = quote_table(table, what)
    keys = _keys(settings.get("key"), mode, what)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    rows = 0
    try:
        conn.execute("BEGIN IMMEDIATE")
        prepared = False
        for chunk in chunks:
            if not prepared:
                existing = _ensure_table(conn, quoted, table, chunk, keys, what)
                if mode == "replace":
                    conn.execute(f"DELETE FROM {quoted}")
                missing = [c for c in map(str, chunk.columns) if c not in existing]
                if missing:
                    raise DataStepError(f"{what}: table {table} has no column(s) "
                                        f"{', '.join(missing)}; add them to the table or drop "
                                        "them in a transform", ErrorCategory.DATA_QUALITY)
                prepared = True
            if len(chunk):
                conn.executemany(_insert_sql(quoted, list(map(str, chunk.columns)), keys),
                                 list(python_rows(chunk)))
                rows += len(chunk)
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        category = ErrorCategory.TRANSIENT if "locked" in str(exc) else ErrorCategory.DATA_QUALITY
        raise DataStepError(f"{what}: writing {table} in {path} failed, nothing was written "
                            f"({exc})", category) from exc
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    return Written("table", table_name(path, table), rows)


def _keys(key: Any, mode: str, what: str) -> tuple[str, ...]:
    keys = (key,) if isinstance(key, str) else tuple(key or ())
    if mode == "upsert" and not keys:
        raise DataStepError(f"{what}: write_mode='upsert' needs key= (the column or columns "
                            "that identify a row)")
    return tuple(map(str, keys))


def _ensure_table(conn: sqlite3.Connection, quoted: str, table: str, chunk: pd.DataFrame,
                  keys: Sequence[str], what: str) -> set[str]:
    """The table's columns, creating it from the first chunk's columns when missing; with
    ``keys`` a unique index on them (what ``ON CONFLICT`` needs)."""
    existing = {row[1] for row in conn.execute(f"PRAGMA table_info({quoted})")}
    if not existing:
        columns = ", ".join(f"{quote_column(c)} {_sql_type(chunk[c].dtype)}"
                            for c in chunk.columns)
        conn.execute(f"CREATE TABLE {quoted} ({columns})")
        existing = set(map(str, chunk.columns))
    unknown = [k for k in keys if k not in existing]
    if unknown:
        raise DataStepError(f"{what}: key column(s) {', '.join(unknown)} are not in table {table}")
    if keys:
        index = quote_column(f"spine_key_{table.replace('.', '_')}_{'_'.join(keys)}")
        target = quoted.rsplit(".", 1)[-1]
        schema = quoted.rsplit(".", 1)[0] + "." if "." in quoted else ""
        conn.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {schema}{index} ON {target} "
                     f"({', '.join(map(quote_column, keys))})")
    return existing


def _insert_sql(quoted: str, columns: list[str], keys: Sequence[str]) -> str:
    names = ", ".join(map(quote_column, columns))
    marks = ", ".join("?" * len(columns))
    sql = f"INSERT INTO {quoted} ({names}) VALUES ({marks})"
    if keys:
        updates = [f"{quote_column(c)} = excluded.{quote_column(c)}"
                   for c in columns if c not in keys]
        conflict = ", ".join(map(quote_column, keys))
        sql += f" ON CONFLICT ({conflict}) DO " + \
            (f"UPDATE SET {', '.join(updates)}" if updates else "NOTHING")
    return sql


def _sql_type(dtype: Any) -> str:
    pd = pandas()
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        return "INTEGER"
    if pd.api.types.is_float_dtype(dtype):
        return "REAL"
    return "TEXT"


def python_rows(df: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    """Rows of plain Python values SQLite can bind: NaN/NaT as NULL, times as ISO text."""
    pd = pandas()
    columns = []
    for name in df.columns:
        series = df[name]
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            columns.append([None if pd.isna(v) else v.isoformat() for v in series])
        else:
            columns.append(series.astype(object).where(series.notna(), None).tolist())
    return zip(*columns, strict=True)


# ------------------------------------------------------------------ files
def _file(settings: Mapping[str, Any], chunks: Iterator[pd.DataFrame], ctx: WorkflowContext,
          what: str, mode: str) -> Written:
    path, fmt = file_location(settings, ctx, what)
    if mode == "upsert" or (mode == "append" and fmt == "parquet"):
        raise DataStepError(f"{what}: a {fmt} file sink cannot {mode}; use write_mode="
                            "'replace'" + (" or 'append' with a .csv file" if fmt == "parquet"
                                           else "") + ", or a SQLite table for upserts")
    path.parent.mkdir(parents=True, exist_ok=True)
    appending = mode == "append" and path.exists() and path.stat().st_size > 0
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    rows = 0
    try:
        if fmt == "csv":
            rows = _write_csv(tmp, path if appending else None, chunks)
        else:
            rows = _write_parquet(tmp, chunks)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return Written("file", str(path), rows)


def _write_csv(tmp: Path, existing: Path | None, chunks: Iterator[pd.DataFrame]) -> int:
    rows = 0
    with open(tmp, "wb") as out:
        if existing is not None:  # append: the old rows, then ours without a header
            with open(existing, "rb") as old:
                while block := old.read(1 << 20):
                    out.write(block)
        for number, chunk in enumerate(chunks):
            header = existing is None and number == 0
            out.write(chunk.to_csv(index=False, header=header).encode())
            rows += len(chunk)
    return rows


def _write_parquet(tmp: Path, chunks: Iterator[pd.DataFrame]) -> int:
    pa, pq = pyarrow()
    writer: Any = None
    rows = 0
    try:
        for chunk in chunks:
            table = pa.Table.from_pandas(chunk, preserve_index=False,
                                         schema=None if writer is None else writer.schema)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
            rows += len(chunk)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:  # nothing to write: an empty file still replaces the old one
        pq.write_table(pa.table({}), tmp)
    return rows


# ------------------------------------------------------------------ Python functions
def _python(fn: Callable[..., Any], chunks: Iterator[pd.DataFrame],
            ctx: WorkflowContext) -> Written:
    """Call ``fn(chunk)`` per chunk (``fn(chunk, ctx=ctx)`` when it takes ``ctx``)."""
    takes_ctx = "ctx" in signature_of(fn).names
    rows = 0
    for chunk in chunks:
        if takes_ctx:
            fn(chunk, ctx=ctx)
        else:
            fn(chunk)
        rows += len(chunk)
    return Written("callable", callable_name(fn), rows)
