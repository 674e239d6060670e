"""Tables in motion: turning what handlers return into DataFrames, and writing or reading a
table artifact chunk by chunk, so a data step never needs the whole table in memory.

pandas and pyarrow are loaded only when a data step runs (``import engine`` stays light).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

from ..artifacts.refs import ArtifactRef
from ..policies import ErrorCategory
from .config import ARTIFACT_FORMATS, DataStepError

if TYPE_CHECKING:
    import pandas as pd

CONTENT_TYPES = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv"}
#: rows per batch when reading a parquet artifact without a chunk size
DEFAULT_BATCH_ROWS = 65_536
#: artifacts are assembled in memory up to this size, then spill to a temp file
_SPOOL_BYTES = 64 << 20


def pandas() -> Any:
    import pandas as pd  # deliberate lazy load: ~0.3 s of import paid only by data steps

    return pd


def pyarrow() -> tuple[Any, Any]:
    import pyarrow as pa  # deliberate lazy load: only parquet tables need it
    import pyarrow.parquet as pq  # deliberate lazy load: as above

    return pa, pq


def to_frame(value: Any, what: str) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a list of row dicts, a dict of columns or an Arrow
    table; anything else is a ``DataStepError`` naming ``what`` returned it."""
    pd = pandas()
    if isinstance(value, pd.DataFrame):
        return value
    if hasattr(value, "to_pandas") and hasattr(value, "schema"):  # a pyarrow Table
        return value.to_pandas()
    if isinstance(value, Mapping) or (isinstance(value, list) and all(
            isinstance(row, Mapping) for row in value)):
        return pd.DataFrame(value)
    raise DataStepError(f"{what} returned {type(value).__name__}; return a pandas DataFrame, "
                        "a list of row dicts or a dict of columns",
                        ErrorCategory.VALIDATION)


def frames_of(value: Any, what: str) -> Iterator[pd.DataFrame]:
    """The chunks of a handler's result: one table, or an iterator/generator of tables."""
    pd = pandas()
    is_table = isinstance(value, pd.DataFrame | Mapping | list) or hasattr(value, "to_pandas")
    if is_table or not isinstance(value, Iterable):
        yield to_frame(value, what)
        return
    for chunk in value:
        yield to_frame(chunk, what)


def schema_of(df: pd.DataFrame) -> dict[str, str]:
    """Column name -> dtype name (the spec's ``DataLineage.schema``)."""
    return {str(name): str(dtype) for name, dtype in df.dtypes.items()}


class TableWriter:
    """Collects a table's chunks into one artifact (parquet or csv), counting rows."""

    def __init__(self, output_format: str, what: str) -> None:
        if output_format not in ARTIFACT_FORMATS:
            raise DataStepError(f"{what}: output_format {output_format!r} is not supported; "
                                f"use one of {', '.join(ARTIFACT_FORMATS)}")
        self.format = output_format
        self.what = what
        self.rows = 0
        self.schema: dict[str, str] = {}
        self._buffer: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
        self._parquet: Any = None
        self._arrow_schema: Any = None
        self._chunks = 0

    def write(self, df: pd.DataFrame) -> None:
        if not len(df) and (self._chunks or not len(df.columns)):
            return  # an empty chunk adds nothing (a generator's last, empty batch)
        self._append(df)

    def _append(self, df: pd.DataFrame) -> None:
        if self._chunks and list(df.columns) != list(self.schema):
            raise DataStepError(f"{self.what}: a chunk has columns {list(df.columns)}, the "
                                f"first had {list(self.schema)}; every chunk needs the same "
                                "columns", ErrorCategory.DATA_QUALITY)
        if not self._chunks:
            self.schema = schema_of(df)
        if self.format == "csv":
            self._buffer.write(df.to_csv(index=False, header=not self._chunks).encode())
        else:
            self._write_parquet(df)
        self._chunks += 1
        self.rows += len(df)

    def _write_parquet(self, df: pd.DataFrame) -> None:
        pa, pq = pyarrow()
        if self._parquet is None:
            table = pa.Table.from_pandas(df, preserve_index=False)
            self._arrow_schema = table.schema
            self._parquet = pq.ParquetWriter(self._buffer, table.schema)
        else:
            try:
                table = pa.Table.from_pandas(df, schema=self._arrow_schema, preserve_index=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise DataStepError(f"{self.what}: a chunk's column types differ from the "
                                    f"first chunk's ({exc})", ErrorCategory.DATA_QUALITY) from exc
        self._parquet.write_table(table)

    def finish(self, store: Any, key: str, run_id: str, step: str,
               columns: Iterable[str] = ()) -> ArtifactRef:
        """Store the table under ``key``; a table that got no chunk is stored empty with
        ``columns``."""
        if not self._chunks:
            self._append(pandas().DataFrame(columns=list(columns)))
        if self._parquet is not None:
            self._parquet.close()
        self._buffer.seek(0)
        try:
            ref: ArtifactRef = store.put_stream(key, self._buffer,
                                                content_type=CONTENT_TYPES[self.format],
                                                metadata={"rows": str(self.rows)},
                                                run_id=run_id, step=step)
        finally:
            self._buffer.close()
        return ref

    def discard(self) -> None:
        if self._parquet is not None:
            with contextlib.suppress(Exception):  # the table is being thrown away anyway
                self._parquet.close()
        self._buffer.close()


def read_artifact(store: Any, ref: ArtifactRef, chunk_size: int | None,
                  what: str) -> Iterator[pd.DataFrame]:
    """The table an artifact holds, whole (``chunk_size`` None) or in chunks of that many
    rows; the format comes from the ref's content type."""
    pd = pandas()
    kind = next((name for name, ctype in CONTENT_TYPES.items() if ctype == ref.content_type),
                None)
    if kind is None:
        raise DataStepError(f"{what}: artifact {ref.key!r} is {ref.content_type!r}, not a "
                            f"table ({', '.join(CONTENT_TYPES)}); point input_ref at a data "
                            "step's artifact", ErrorCategory.VALIDATION)
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as local:
        for block in store.iter_chunks(ref):  # verified against the ref's checksum
            local.write(block)
        local.seek(0)
        if kind == "csv":
            if not ref.size_bytes:  # a table without columns or rows
                yield pd.DataFrame()
            elif chunk_size is None:
                yield pd.read_csv(local)
            else:
                yield from pd.read_csv(local, chunksize=chunk_size)
            return
        _, pq = pyarrow()
        parquet = pq.ParquetFile(local)
        if chunk_size is None:
            yield parquet.read().to_pandas()
            return
        empty = True
        for batch in parquet.iter_batches(batch_size=chunk_size):
            empty = False
            yield batch.to_pandas()
        if empty:
            yield parquet.schema_arrow.empty_table().to_pandas()
