"""``BaseArtifactStore``: the serialisation helpers (JSON, pickle, DataFrame) every backend shares.

A backend implements the byte-level methods; the helpers here turn values into bytes and
back. pandas is imported only when a DataFrame helper runs, so importing the engine stays light.
"""

from __future__ import annotations

import builtins
import collections
import importlib.util
import io
import json
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from ..serialization import to_json
from .protocol import ByteSource
from .refs import ArtifactInfo, ArtifactLocator, ArtifactRef, coerce_locator

if TYPE_CHECKING:
    import pandas as pd

OCTET_STREAM = "application/octet-stream"
JSON_TYPE = "application/json"
PICKLE_TYPE = "application/x-python-pickle"
PARQUET_TYPE = "application/vnd.apache.parquet"
DEFAULT_CHUNK_SIZE = 1 << 20
#: DataFrames are serialised into memory up to this size, then spill to a temp file.
_SPOOL_BYTES = 64 << 20
_DATAFRAME_FORMATS = {"parquet": PARQUET_TYPE, "pickle": PICKLE_TYPE}


def _parquet_engine() -> str:
    """The parquet library pandas will use, or a clear error naming what to install."""
    for module in ("pyarrow", "fastparquet"):
        if importlib.util.find_spec(module) is not None:
            return module
    raise ImportError(
        "storing DataFrames as parquet needs pyarrow (or fastparquet), which is not installed; "
        "run `pip install pyarrow`, or pass format='pickle' for trusted, Python-only artifacts"
    )


class BaseArtifactStore(ABC):
    """Byte-level storage is abstract; JSON/pickle/DataFrame helpers are built on top of it."""

    name: str

    # ------------------------------------------------------------------ byte level
    @abstractmethod
    def put_stream(self, key: str, source: ByteSource, *, content_type: str = OCTET_STREAM,
                   metadata: Mapping[str, str] | None = None, run_id: str | None = None,
                   step: str | None = None) -> ArtifactRef:
        """Store everything ``source`` yields under ``key``, hashing while copying."""

    @abstractmethod
    def put(self, key: str, data: Any, *, content_type: str = OCTET_STREAM,
            metadata: Mapping[str, str] | None = None, run_id: str | None = None,
            step: str | None = None) -> ArtifactRef:
        """Store bytes, a file (``Path``) or a binary file object under ``key``."""

    @abstractmethod
    def open(self, target: ArtifactLocator) -> IO[bytes]:
        """A binary reader over the artifact, checksum-verified when read to the end."""

    @abstractmethod
    def iter_chunks(self, target: ArtifactLocator,
                    chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        """The artifact's bytes in chunks; raises ``ArtifactChecksumError`` after the last
        chunk when the bytes do not match their checksum."""

    def verify(self, target: ArtifactLocator) -> None:
        """Read the artifact once and check its checksum; raises ``ArtifactNotFoundError`` or
        ``ArtifactChecksumError`` (the check runs after the last chunk is read)."""
        collections.deque(self.iter_chunks(target), maxlen=0)

    @abstractmethod
    def info(self, key: str) -> ArtifactInfo: ...

    @abstractmethod
    def exists(self, target: ArtifactLocator) -> bool: ...

    @abstractmethod
    def delete(self, target: ArtifactLocator) -> bool:
        """Remove the key (True if it existed); its bytes go once no other key shares them."""

    @abstractmethod
    def list_info(self, prefix: str | None = None,
                  run_id: str | None = None) -> builtins.list[ArtifactInfo]: ...

    @abstractmethod
    def delete_run_artifacts(self, run_id: str) -> builtins.list[str]:
        """Delete every key written for ``run_id``; returns the deleted keys."""

    @abstractmethod
    def set_expiry(self, key: str, expires_at: datetime | None) -> None:
        """Mark ``key`` for deletion by ``purge_expired`` once ``expires_at`` has passed."""

    @abstractmethod
    def purge_expired(self, now: datetime | None = None,
                      run_id: str | None = None) -> builtins.list[str]:
        """Delete keys whose expiry is at or before ``now``; returns the deleted keys."""

    # ------------------------------------------------------------------ derived
    def get(self, target: ArtifactLocator) -> bytes:
        """The artifact's bytes, verified against its checksum."""
        with self.open(target) as reader:
            return reader.read()

    def get_stream(self, target: ArtifactLocator,
                   chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        """The spec's name for ``iter_chunks``."""
        return self.iter_chunks(target, chunk_size)

    def ref(self, key: str) -> ArtifactRef:
        """The current reference for ``key``."""
        return self.info(key).ref

    def list(self, prefix: str | None = None, run_id: str | None = None) -> builtins.list[ArtifactRef]:
        """Refs of stored keys, sorted by key, optionally under ``prefix`` or from ``run_id``."""
        return [info.ref for info in self.list_info(prefix, run_id)]

    def content_type_of(self, target: ArtifactLocator) -> str:
        key, ref = coerce_locator(target)
        return ref.content_type if ref is not None else self.info(key).ref.content_type

    # ------------------------------------------------------------------ helpers
    def put_json(self, key: str, value: Any, *, metadata: Mapping[str, str] | None = None,
                 run_id: str | None = None, step: str | None = None) -> ArtifactRef:
        """Store ``value`` as UTF-8 JSON (dates, Decimals, refs... encoded as in step outputs)."""
        data = to_json(value, ensure_ascii=False).encode()
        return self.put(key, data, content_type=JSON_TYPE, metadata=metadata,
                        run_id=run_id, step=step)

    def get_json(self, target: ArtifactLocator) -> Any:
        return json.loads(self.get(target))

    def put_pickle(self, key: str, value: Any, *, metadata: Mapping[str, str] | None = None,
                   run_id: str | None = None, step: str | None = None) -> ArtifactRef:
        """Store any picklable object; only for data your own code will read back
        (unpickling runs code, so never ``get_pickle`` artifacts from untrusted sources)."""
        import pickle

        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        return self.put(key, data, content_type=PICKLE_TYPE, metadata=metadata,
                        run_id=run_id, step=step)

    def get_pickle(self, target: ArtifactLocator) -> Any:
        """Unpickle an artifact; trusted data only: unpickling can execute arbitrary code."""
        import pickle

        return pickle.loads(self.get(target))  # verified bytes only: never unpickle corruption

    def put_dataframe(self, key: str, df: pd.DataFrame, format: str = "parquet", *,
                      metadata: Mapping[str, str] | None = None, run_id: str | None = None,
                      step: str | None = None) -> ArtifactRef:
        """Store a pandas DataFrame as parquet (needs pyarrow or fastparquet) or pickle
        (exact round trip, trusted data only); large frames spill to a temp file, not RAM."""
        if format not in _DATAFRAME_FORMATS:
            raise ValueError(f"unknown DataFrame format {format!r}; use one of "
                             f"{', '.join(sorted(_DATAFRAME_FORMATS))}")
        import pickle

        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as buffer:
            if format == "parquet":
                df.to_parquet(buffer, engine=_parquet_engine())
            else:
                pickle.dump(df, buffer, protocol=pickle.HIGHEST_PROTOCOL)
            buffer.seek(0)
            return self.put_stream(key, buffer, content_type=_DATAFRAME_FORMATS[format],
                                   metadata=metadata, run_id=run_id, step=step)

    def get_dataframe(self, target: ArtifactLocator, format: str | None = None) -> pd.DataFrame:
        """Load a DataFrame stored by ``put_dataframe``; the format comes from its content type
        (or ``format``, for parquet files put as raw bytes)."""
        if format is None:
            content_type = self.content_type_of(target)
            format = next((name for name, kind in _DATAFRAME_FORMATS.items()
                           if kind == content_type), None)
            if format is None:
                key, _ = coerce_locator(target)
                raise ValueError(f"artifact {key!r} has content type {content_type!r}, not a "
                                 "DataFrame format; pass format='parquet' or 'pickle'")
        if format == "pickle":
            return self.get_pickle(target)
        if format != "parquet":
            raise ValueError(f"unknown DataFrame format {format!r}; use parquet or pickle")
        import pandas as pd

        return pd.read_parquet(io.BytesIO(self.get(target)), engine=_parquet_engine())
