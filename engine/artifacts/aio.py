"""``AsyncArtifactStore``: the spec's awaitable store API over any synchronous store.

File I/O runs in worker threads (``asyncio.to_thread``), so async handlers can
``await store.put_json(...)`` without blocking their event loop.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping
from typing import Any

from .base import DEFAULT_CHUNK_SIZE, OCTET_STREAM
from .protocol import ArtifactStore
from .refs import ArtifactInfo, ArtifactLocator, ArtifactRef

_DONE = object()


async def _in_thread(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    import asyncio  # lazily: importing the engine should not pay for asyncio

    return await asyncio.to_thread(fn, *args, **kwargs)


class AsyncArtifactStore:
    """Awaitable wrapper: same methods and arguments as the wrapped store's."""

    def __init__(self, store: ArtifactStore) -> None:
        self.sync = store
        self.name = store.name

    async def put(self, key: str, data: Any, *, content_type: str = OCTET_STREAM,
                  metadata: Mapping[str, str] | None = None, run_id: str | None = None,
                  step: str | None = None) -> ArtifactRef:
        return await _in_thread(self.sync.put, key, data, content_type=content_type,
                                       metadata=metadata, run_id=run_id, step=step)

    async def get(self, target: ArtifactLocator) -> bytes:
        return await _in_thread(self.sync.get, target)

    async def get_stream(self, target: ArtifactLocator,
                         chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        """Chunks read in a worker thread one at a time, so memory stays at one chunk."""
        chunks = await _in_thread(self.sync.iter_chunks, target, chunk_size)
        while (chunk := await _in_thread(next, chunks, _DONE)) is not _DONE:
            yield chunk  # type: ignore[misc]

    async def exists(self, target: ArtifactLocator) -> bool:
        return await _in_thread(self.sync.exists, target)

    async def delete(self, target: ArtifactLocator) -> bool:
        return await _in_thread(self.sync.delete, target)

    async def info(self, key: str) -> ArtifactInfo:
        return await _in_thread(self.sync.info, key)

    async def list(self, prefix: str | None = None,
                   run_id: str | None = None) -> builtins.list[ArtifactRef]:
        return await _in_thread(self.sync.list, prefix, run_id)

    async def delete_run_artifacts(self, run_id: str) -> builtins.list[str]:
        return await _in_thread(self.sync.delete_run_artifacts, run_id)

    async def put_json(self, key: str, value: Any, **kwargs: Any) -> ArtifactRef:
        return await _in_thread(self.sync.put_json, key, value, **kwargs)

    async def get_json(self, target: ArtifactLocator) -> Any:
        return await _in_thread(self.sync.get_json, target)

    async def put_pickle(self, key: str, value: Any, **kwargs: Any) -> ArtifactRef:
        return await _in_thread(self.sync.put_pickle, key, value, **kwargs)

    async def get_pickle(self, target: ArtifactLocator) -> Any:
        return await _in_thread(self.sync.get_pickle, target)

    async def put_dataframe(self, key: str, df: Any, format: str = "parquet",
                            **kwargs: Any) -> ArtifactRef:
        return await _in_thread(self.sync.put_dataframe, key, df, format, **kwargs)

    async def get_dataframe(self, target: ArtifactLocator, format: str | None = None) -> Any:
        return await _in_thread(self.sync.get_dataframe, target, format)
