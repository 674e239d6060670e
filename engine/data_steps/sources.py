"""Source connectors: a SQLite table or query, a CSV or Parquet file, a Python function.

Each yields the rows it reads as DataFrame chunks and says what it read (lineage kind and
name). With a cursor field, only rows past the cursor are read: in SQL for a database, row by
row for files and functions.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..invoke import function_kwargs, signature_of
from ..policies import ErrorCategory
from . import locations
from .config import DataStepError
from .frames import DEFAULT_BATCH_ROWS, frames_of, pandas, pyarrow
from .locations import (
    callable_name,
    file_location,
    open_existing,
    query_name,
    quote_column,
    quote_table,
    sqlite_path,
    table_name,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..context import WorkflowContext

_CURSOR_PARAM = re.compile(r":(cursor|last_run)\b")


@dataclass(frozen=True, slots=True)
class Reading:
    """What a source reads (lineage ``kind``/``name``), its chunks, and its columns (for an
    empty result)."""

    kind: str
    name: str
    chunks: Iterator[pd.DataFrame]
    columns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Window:
    """The incremental part of a read: rows with ``field`` above ``after`` (None: all)."""

    field: str
    after: Any


#: ``connector_of(source_type, settings, has_fn, what)``: the connector a step's settings name
#: (``source_type`` or what its arguments imply)
connector_of = partial(locations.connector_of, "source")


def read(connector: str, settings: Mapping[str, Any], fn: Callable[..., Any] | None,
         ctx: WorkflowContext, what: str, window: Window | None,
         chunk_size: int | None) -> Reading:
    if connector == "sqlite":
        return _sqlite(settings, ctx, what, window, chunk_size)
    if connector == "file":
        return _file(settings, ctx, what, window, chunk_size)
    if fn is None:
        raise DataStepError(f"{what}: a python source needs handler=, the function that "
                            "returns its rows")
    return _python(fn, settings, ctx, what, window)


# ------------------------------------------------------------------ SQLite
def _sqlite(settings: Mapping[str, Any], ctx: WorkflowContext, what: str,
            window: Window | None, chunk_size: int | None) -> Reading:
    path = sqlite_path(str(ctx.resolve(settings.get("connection") or "")), what)
    table, query = settings.get("table"), settings.get("query")
    if bool(table) == bool(query):
        raise DataStepError(f"{what}: give table= or query= (one of them) with a database "
                            "connection")
    params = {str(k): ctx.resolve(v) for k, v in dict(settings.get("params") or {}).items()}
    if table:
        sql, kind, name = f"SELECT * FROM {quote_table(str(table), what)}", "table", \
            table_name(path, str(table))
    else:
        sql, kind, name = str(query), "query", query_name(path, str(query))
    if window is not None:
        params.setdefault("cursor", window.after)
        params.setdefault("last_run", window.after)
        if not _CURSOR_PARAM.search(sql):  # filter and order by the cursor for the query
            column = quote_column(window.field)
            where = f" WHERE {column} > :cursor" if window.after is not None else ""
            sql = f"SELECT * FROM ({sql}) AS spine_source{where} ORDER BY {column}"
    conn = open_existing(path, what)
    try:
        cursor = conn.execute(sql, params)
    except sqlite3.Error as exc:
        conn.close()
        raise _sql_error(exc, what, path) from exc
    columns = tuple(d[0] for d in cursor.description or ())
    if window is not None and window.field not in columns:
        conn.close()
        raise DataStepError(f"{what}: cursor_field {window.field!r} is not a column of what it "
                            f"reads (columns: {', '.join(columns) or 'none'})")
    return Reading(kind, name, _fetch(conn, cursor, columns, chunk_size, what, path), columns)


def _fetch(conn: sqlite3.Connection, cursor: sqlite3.Cursor, columns: tuple[str, ...],
           chunk_size: int | None, what: str, path: Path) -> Iterator[pd.DataFrame]:
    pd = pandas()
    try:
        while True:
            try:
                rows = cursor.fetchmany(chunk_size or DEFAULT_BATCH_ROWS)
            except sqlite3.Error as exc:
                raise _sql_error(exc, what, path) from exc
            if not rows:
                return
            yield pd.DataFrame.from_records(rows, columns=list(columns))
    finally:
        conn.close()


def _sql_error(exc: sqlite3.Error, what: str, path: Path) -> DataStepError:
    text = str(exc)
    category = ErrorCategory.TRANSIENT if "locked" in text or "busy" in text \
        else ErrorCategory.CONFIGURATION
    return DataStepError(f"{what}: {text} (database {path})", category)


# ------------------------------------------------------------------ files
def _file(settings: Mapping[str, Any], ctx: WorkflowContext, what: str,
          window: Window | None, chunk_size: int | None) -> Reading:
    path, fmt = file_location(settings, ctx, what)
    if not path.is_file():
        raise DataStepError(f"{what}: file {path} does not exist", ErrorCategory.DEPENDENCY)
    pandas_ = pandas()
    chunks: Iterator[pd.DataFrame]
    if fmt == "csv":
        columns = tuple(pandas_.read_csv(path, nrows=0).columns)
        chunks = iter([pandas_.read_csv(path)]) if chunk_size is None \
            else iter(pandas_.read_csv(path, chunksize=chunk_size))
    else:
        _, pq = pyarrow()
        parquet = pq.ParquetFile(path)
        columns = tuple(parquet.schema_arrow.names)
        chunks = (batch.to_pandas() for batch in
                  parquet.iter_batches(batch_size=chunk_size or DEFAULT_BATCH_ROWS))
    if window is not None and window.field not in columns:
        raise DataStepError(f"{what}: cursor_field {window.field!r} is not a column of {path.name} "
                            f"(columns: {', '.join(columns)})")
    return Reading("file", str(path), _newer_only(chunks, window, what), columns)


# ------------------------------------------------------------------ Python functions
def _python(fn: Callable[..., Any], settings: Mapping[str, Any], ctx: WorkflowContext,
            what: str, window: Window | None) -> Reading:
    """Call ``fn`` like a plain step function (config params > run params > earlier
    outputs); a parameter named ``cursor`` gets the cursor value, so the function can ask
    its system for new rows only (rows past the cursor are kept either way)."""
    given = {str(k): ctx.resolve(v) for k, v in dict(settings.get("params") or {}).items()}
    if "cursor" in signature_of(fn).names:
        given["cursor"] = None if window is None else window.after
    returned = fn(**function_kwargs(fn, given, ctx, what))
    name = callable_name(fn)
    chunks = frames_of(returned, f"{what}: handler {name}")
    return Reading("callable", name, _newer_only(chunks, window, what))


# ------------------------------------------------------------------ cursors
def _newer_only(chunks: Iterator[pd.DataFrame], window: Window | None,
                what: str) -> Iterator[pd.DataFrame]:
    for chunk in chunks:
        if window is None or window.after is None or not len(chunk):
            yield chunk
            continue
        if window.field not in chunk.columns:
            raise DataStepError(f"{what}: cursor_field {window.field!r} is not a column of "
                                f"its rows (columns: {', '.join(map(str, chunk.columns))})")
        yield chunk[newer_mask(chunk[window.field], window.after, what)]


def newer_mask(column: pd.Series, after: Any, what: str) -> pd.Series:
    """Which values of ``column`` are past the cursor ``after`` (dates compared as dates)."""
    pd = pandas()
    value = after
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        value = pd.Timestamp(after)
        if column.dt.tz is not None and value.tzinfo is None:
            value = value.tz_localize("UTC")
    try:
        return column > value
    except TypeError as exc:
        raise DataStepError(f"{what}: cannot compare cursor value {after!r} with column "
                            f"{column.name!r} of type {column.dtype} ({exc}); reset the cursor "
                            "or set it to a value of the column's type",
                            ErrorCategory.DATA_QUALITY) from exc


def high_water(column: pd.Series) -> Any:
    """The largest value of ``column`` as JSON-ready data (None when it has none)."""
    pd = pandas()
    values = column.dropna()
    if values.empty:
        return None
    top = values.max()
    if isinstance(top, pd.Timestamp):
        return top.isoformat()
    return top.item() if hasattr(top, "item") else top
