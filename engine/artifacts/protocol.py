"""``ArtifactStore``: the contract step handlers program against, whatever the backend."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import IO, Any, Protocol, runtime_checkable

from .refs import ArtifactInfo, ArtifactLocator, ArtifactRef

#: A source of bytes for ``put_stream``: bytes, a binary file object or an iterable of chunks.
ByteSource = bytes | bytearray | memoryview | IO[bytes] | Iterable[bytes]


@runtime_checkable
class ArtifactStore(Protocol):
    """Store and retrieve large artifacts by key; step outputs carry only ``ArtifactRef``s.

    Methods are synchronous because step handlers run on worker threads; wrap a store in
    ``AsyncArtifactStore`` for the awaitable form. ``run_id``/``step`` record who wrote a
    key, so a run's artifacts can be listed, expired and deleted together.
    """

    name: str

    def put(self, key: str, data: Any, *, content_type: str = ...,
            metadata: Mapping[str, str] | None = None, run_id: str | None = None,
            step: str | None = None) -> ArtifactRef: ...

    def put_stream(self, key: str, source: ByteSource, *, content_type: str = ...,
                   metadata: Mapping[str, str] | None = None, run_id: str | None = None,
                   step: str | None = None) -> ArtifactRef: ...

    def get(self, target: ArtifactLocator) -> bytes: ...

    def open(self, target: ArtifactLocator) -> IO[bytes]: ...

    def iter_chunks(self, target: ArtifactLocator, chunk_size: int = ...) -> Iterator[bytes]: ...

    def get_stream(self, target: ArtifactLocator, chunk_size: int = ...) -> Iterator[bytes]: ...

    def ref(self, key: str) -> ArtifactRef: ...

    def info(self, key: str) -> ArtifactInfo: ...

    def exists(self, target: ArtifactLocator) -> bool: ...

    def delete(self, target: ArtifactLocator) -> bool: ...

    def list(self, prefix: str | None = None, run_id: str | None = None) -> builtins.list[ArtifactRef]: ...

    def list_info(self, prefix: str | None = None,
                  run_id: str | None = None) -> builtins.list[ArtifactInfo]: ...

    def delete_run_artifacts(self, run_id: str) -> builtins.list[str]: ...

    def set_expiry(self, key: str, expires_at: datetime | None) -> None: ...

    def purge_expired(self, now: datetime | None = None,
                      run_id: str | None = None) -> builtins.list[str]: ...

    def put_json(self, key: str, value: Any, *, metadata: Mapping[str, str] | None = None,
                 run_id: str | None = None, step: str | None = None) -> ArtifactRef: ...

    def get_json(self, target: ArtifactLocator) -> Any: ...

    def put_pickle(self, key: str, value: Any, *, metadata: Mapping[str, str] | None = None,
                   run_id: str | None = None, step: str | None = None) -> ArtifactRef: ...

    def get_pickle(self, target: ArtifactLocator) -> Any: ...

    def put_dataframe(self, key: str, df: Any, format: str = ..., *,
                      metadata: Mapping[str, str] | None = None, run_id: str | None = None,
                      step: str | None = None) -> ArtifactRef: ...

    def get_dataframe(self, target: ArtifactLocator, format: str | None = None) -> Any: ...
