"""Where data lives outside the run: which connector a source or sink uses, SQLite files
named by a URL or path, table names, files; and the names lineage records them under."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ..policies import ErrorCategory
from .config import DataStepError

if TYPE_CHECKING:
    from ..context import WorkflowContext

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
FILE_FORMATS = ("csv", "parquet")
#: ``source_type``/``sink_type`` values and the connector each names
CONNECTOR_TYPES = {"database": "sqlite", "sqlite": "sqlite", "file": "file", "csv": "file",
                   "parquet": "file", "python": "python", "callable": "python"}
#: per step kind: what to give when nothing names a connector, and a hint after the types
_CONNECTOR_HELP = {
    "source": ("say what to read: connection= with table= or query= (SQLite), path= "
               "(CSV/Parquet) or handler= (a Python function)", ""),
    "sink": ("say where to write: connection= with table= (SQLite), path= (CSV/Parquet) or "
             "handler= (a Python function)",
             " (for another system, write with sink_type='python' and your own client)"),
}


def connector_of(kind: str, declared: str | None, settings: Mapping[str, Any], has_fn: bool,
                 what: str) -> str:
    """The connector a ``source`` or ``sink`` step declares (``declared``, its
    ``source_type``/``sink_type``), or what its arguments imply when it declares none."""
    option = f"{kind}_type"
    missing, hint = _CONNECTOR_HELP[kind]
    if declared is None:
        if has_fn:
            return "python"
        if settings.get("path"):
            return "file"
        if settings.get("connection"):
            return "sqlite"
        raise DataStepError(f"{what}: {missing}")
    connector = CONNECTOR_TYPES.get(str(declared).lower())
    if connector is None:
        raise DataStepError(f"{what}: {option} {declared!r} is not supported; use one of "
                            f"{', '.join(sorted(CONNECTOR_TYPES))}{hint}")
    return connector


def redacted(url: str) -> str:
    """A URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def sqlite_path(connection: str, what: str) -> Path:
    """The database file a connection names: ``sqlite:///relative.db``,
    ``sqlite:////absolute.db`` (SQLAlchemy's forms) or a plain path."""
    text = str(connection).strip()
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///"):]
    elif "://" in text:
        raise DataStepError(
            f"{what}: connection {redacted(text)!r} is not supported: data steps read and write "
            "SQLite files (connection='sqlite:///path/to.db' or a file path); for another "
            "database, read it with source_type='python' and your own client")
    if not text:
        raise DataStepError(f"{what}: connection names no database file")
    return Path(text).expanduser().absolute()


def open_existing(path: Path, what: str) -> sqlite3.Connection:
    """A read-only connection to a database that must exist (a source never creates one)."""
    if not path.is_file():
        raise DataStepError(f"{what}: database {path} does not exist; check the connection "
                            "path (relative paths start from the working folder)",
                            ErrorCategory.DEPENDENCY)
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)


def quote_table(table: str, what: str) -> str:
    """``"table"`` or ``"schema"."table"``; anything but plain identifiers is refused."""
    if not _IDENTIFIER.fullmatch(table or ""):
        raise DataStepError(f"{what}: table {table!r} is not a plain table name (letters, "
                            "digits, '_', optionally 'schema.table'); use query= for anything "
                            "else")
    return ".".join(f'"{part}"' for part in table.split("."))


def quote_column(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def file_location(settings: Mapping[str, Any], ctx: WorkflowContext,
                  what: str) -> tuple[Path, str]:
    """The absolute file a step's ``path=`` names (run references resolved) and its format."""
    path = Path(str(ctx.resolve(settings.get("path") or ""))).expanduser().absolute()
    return path, file_format(path, settings.get("format"), what)


def file_format(path: Path, declared: str | None, what: str) -> str:
    """``csv`` or ``parquet``: declared, else from the file's suffix."""
    fmt = declared if declared in FILE_FORMATS else path.suffix.lower().lstrip(".")
    if fmt == "pq":
        fmt = "parquet"
    if fmt not in FILE_FORMATS:
        raise DataStepError(f"{what}: cannot tell the format of {path.name!r}; name a .csv or "
                            ".parquet file, or say format='csv' / 'parquet'")
    return fmt


def table_name(path: Path, table: str) -> str:
    """Lineage name of a table: ``/abs/file.db#table``."""
    return f"{path}#{table}"


def query_name(path: Path, query: str) -> str:
    """Lineage name of a query: the database and the query, whitespace collapsed."""
    text = " ".join(query.split())
    return f"{path}#{text[:200]}"


def callable_name(fn: Callable[..., Any]) -> str:
    """Lineage name of a Python source or sink: ``module:qualname``."""
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', type(fn).__name__)}"
