"""Byte plumbing every artifact backend shares: turning what callers hand ``put`` into chunks,
reading back with the SHA-256 checked at end of file, and which run a key belongs to."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from .protocol import ByteSource
from .refs import ArtifactChecksumError, ArtifactRef

BYTES_TYPES = (bytes, bytearray, memoryview)


def check_checksum(key: str, expected: str, actual: str) -> None:
    """Raise ``ArtifactChecksumError`` unless the bytes read hash to what was recorded."""
    if actual != expected:
        raise ArtifactChecksumError(key, expected, actual)


class VerifyingReader(io.RawIOBase):
    """Hashes bytes as they are read and raises ``ArtifactChecksumError`` at end of file."""

    def __init__(self, raw: IO[bytes], key: str, expected: str) -> None:
        self._raw = raw
        self._key = key
        self._expected = expected
        self._digest = hashlib.sha256()
        self._verified = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if count:
            self._digest.update(memoryview(buffer)[:count])
        elif len(buffer) and not self._verified:
            self._verified = True
            check_checksum(self._key, self._expected, self._digest.hexdigest())
        return count  # type: ignore[no-any-return]

    def close(self) -> None:
        self._raw.close()
        super().close()


def verified_chunks(key: str, expected: str, source: Callable[[], IO[bytes]],
                    chunk_size: int) -> Iterator[bytes]:
    """Chunks read from ``source()`` (called on the first ``next()``, so an unread iterator
    holds no handle), raising ``ArtifactChecksumError`` after the last one on a mismatch."""
    digest = hashlib.sha256()
    with source() as raw:
        while chunk := raw.read(chunk_size):
            digest.update(chunk)
            yield chunk
    check_checksum(key, expected, digest.hexdigest())


def chunks_of(source: ByteSource, chunk_size: int) -> Iterator[bytes | bytearray | memoryview]:
    """Byte chunks from bytes, a binary file object or an iterable of byte chunks."""
    if isinstance(source, BYTES_TYPES):
        yield memoryview(source)
        return
    if isinstance(source, str):
        raise TypeError("put_stream needs bytes, not str; encode text first or use put_json")
    read = getattr(source, "read", None)
    chunks: Iterable[Any] = iter(lambda: read(chunk_size), b"") if read else source
    for chunk in chunks:
        if not isinstance(chunk, BYTES_TYPES):
            raise TypeError(f"put_stream got a {type(chunk).__name__} chunk; provide bytes "
                            "(open files in binary mode, 'rb')")
        if chunk:
            yield chunk


def copy_hashed(source: ByteSource, out: IO[bytes], chunk_size: int) -> tuple[str, int]:
    """Write every chunk of ``source`` to ``out``; returns the SHA-256 and size of what went."""
    digest, size = hashlib.sha256(), 0
    for chunk in chunks_of(source, chunk_size):
        digest.update(chunk)
        out.write(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def infer_run(key: str, run_id: str | None, step: str | None) -> tuple[str | None, str | None]:
    """Keys under ``runs/<run_id>/<step>/...`` belong to that run and step unless told otherwise,
    so artifacts written as the spec shows are still found by ``delete_run_artifacts``."""
    parts = key.split("/")
    if parts[0] == "runs" and len(parts) >= 3:
        run_id = run_id or parts[1]
        if len(parts) >= 4:
            step = step or parts[2]
    return run_id, step


def put_any(put_stream: Callable[..., ArtifactRef], key: str, data: Any,
            **kwargs: Any) -> ArtifactRef:
    """``put``'s contract for every backend: bytes, a ``Path`` or a binary file object go to
    ``put_stream``; a ``str`` is refused because it could mean text or a file name."""
    if isinstance(data, BYTES_TYPES):
        return put_stream(key, data, **kwargs)
    if isinstance(data, os.PathLike):
        with open(data, "rb") as handle:
            return put_stream(key, handle, **kwargs)
    if isinstance(data, str):
        raise TypeError("put() got a str, which is ambiguous: pass text.encode() for text, "
                        "pathlib.Path(...) for a file, or use put_json")
    if callable(getattr(data, "read", None)):
        return put_stream(key, data, **kwargs)
    raise TypeError(f"put() cannot store a {type(data).__name__}; pass bytes, a Path or a "
                    "binary file, or use put_json / put_pickle / put_dataframe")
