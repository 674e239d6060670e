"""Where data lives outside the run: SQLite files named by a URL or path, table names, files;
and the names lineage records them under."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..policies import ErrorCategory
from .config import DataStepError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
FILE_FORMATS = ("csv", "parquet")


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
