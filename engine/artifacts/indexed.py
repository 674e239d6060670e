"""``IndexedArtifactStore``: what every store that keeps one JSON record per key shares.

The local and the fsspec store differ in where records and bytes live and in how they lock;
how a locator resolves to a record, what a record holds, how refs, listings, expiry and
verified reads are derived from records is one piece of logic, kept here.
"""

from __future__ import annotations

import io
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import IO, Any

from .base import DEFAULT_CHUNK_SIZE, OCTET_STREAM, BaseArtifactStore
from .refs import (
    ArtifactInfo,
    ArtifactLocator,
    ArtifactNotFoundError,
    ArtifactRef,
    coerce_locator,
    parse_datetime,
    validate_key,
)
from .streams import VerifyingReader, put_any, verified_chunks

RECORD_VERSION = 1
Record = dict[str, Any]
RecordTest = Callable[[Mapping[str, Any]], bool]


def new_record(key: str, checksum: str, size: int, *, content_type: str,
               metadata: Mapping[str, str] | None, run_id: str | None, step: str | None,
               **extra: Any) -> Record:
    """The record a put commits for ``key``; ``extra`` holds backend fields (the object name)."""
    meta = {str(name): str(value) for name, value in (metadata or {}).items()}
    return {
        "version": RECORD_VERSION, "key": key, "checksum": checksum, "size_bytes": size,
        "content_type": content_type, "created_at": datetime.now(UTC).isoformat(),
        "run_id": run_id, "step": step, "metadata": meta, "expires_at": None, **extra,
    }


class IndexedArtifactStore(BaseArtifactStore):
    """Reads, listings and deletions over per-key records; a backend supplies the storage."""

    name: str

    # ------------------------------------------------------------------ backend hooks
    @abstractmethod
    def _lookup(self, key: str) -> Record | None:
        """The current record of ``key``, or None when the key is not stored."""

    @abstractmethod
    def _open_object(self, key: str, record: Mapping[str, Any]) -> IO[bytes]:
        """A raw reader over the record's bytes; ``ArtifactNotFoundError`` when they are gone."""

    @abstractmethod
    def _chunk_source(self, key: str, record: Mapping[str, Any]) -> Callable[[], IO[bytes]]:
        """What ``iter_chunks`` reads from; a missing object must fail here, not at next()."""

    @abstractmethod
    def _has_object(self, key: str, record: Mapping[str, Any]) -> bool:
        """Whether the record's bytes are still there."""

    @abstractmethod
    def _records_under(self, prefix: str | None) -> Iterator[Record]:
        """Every record whose key starts with ``prefix`` (all of them for None)."""

    @abstractmethod
    def _delete_where(self, predicate: RecordTest) -> list[str]:
        """Delete every key whose record satisfies ``predicate``; returns the keys, sorted."""

    @abstractmethod
    def _write_record(self, key: str, record: Mapping[str, Any]) -> None:
        """Replace ``key``'s record (atomically: readers see the old or the new one)."""

    def _exclusive(self) -> AbstractContextManager[Any]:
        """Held while a record is read and rewritten; a lock-free backend holds nothing."""
        return nullcontext()

    def _valid(self, key: str) -> str:
        """A key this store accepts (a backend may reserve more names)."""
        return validate_key(key)

    # ------------------------------------------------------------------ writing
    def put(self, key: str, data: Any, *, content_type: str = OCTET_STREAM,
            metadata: Mapping[str, str] | None = None, run_id: str | None = None,
            step: str | None = None) -> ArtifactRef:
        """Store bytes, a file (``Path``) or a binary file object under ``key``."""
        return put_any(self.put_stream, key, data, content_type=content_type,
                       metadata=metadata, run_id=run_id, step=step)

    # ------------------------------------------------------------------ reading
    def open(self, target: ArtifactLocator) -> IO[bytes]:
        """A buffered binary reader; the checksum is checked when it reaches end of file."""
        key, record = self._resolve(target)
        raw = self._open_object(key, record)
        return io.BufferedReader(VerifyingReader(raw, key, record["checksum"]))

    def iter_chunks(self, target: ArtifactLocator,
                    chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        """Chunks of at most ``chunk_size`` bytes; a corrupt object raises after the last one."""
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        key, record = self._resolve(target)  # fail here, not at the first next()
        source = self._chunk_source(key, record)
        return verified_chunks(key, record["checksum"], source, chunk_size)

    def info(self, key: str) -> ArtifactInfo:
        key = self._valid(key)
        record = self._lookup(key)
        if record is None:
            raise ArtifactNotFoundError(key)
        return self._info(record)

    def exists(self, target: ArtifactLocator) -> bool:
        try:
            key, record = self._resolve(target)
        except ArtifactNotFoundError:
            return False
        return self._has_object(key, record)

    def list_info(self, prefix: str | None = None,
                  run_id: str | None = None) -> list[ArtifactInfo]:
        """Records under ``prefix``, optionally only ``run_id``'s, sorted by key."""
        infos = [self._info(record) for record in self._records_under(prefix)
                 if run_id is None or record.get("run_id") == run_id]
        return sorted(infos, key=lambda info: info.key)

    def _resolve(self, target: ArtifactLocator) -> tuple[str, Record]:
        """The key and record a locator names; a ref must still match the key's content."""
        key, ref = coerce_locator(target)
        if ref is not None and ref.store != self.name:
            raise ArtifactNotFoundError(key, f"the reference belongs to store {ref.store!r}, "
                                             f"not {self.name!r}")
        record = self._lookup(key)
        if record is None:
            raise ArtifactNotFoundError(key)
        if ref is not None and record["checksum"] != ref.checksum:
            raise ArtifactNotFoundError(
                key, f"it was overwritten after this reference was made (reference SHA-256 "
                     f"{ref.checksum}, stored {record['checksum']})")
        return key, record

    # ------------------------------------------------------------------ retention
    def set_expiry(self, key: str, expires_at: datetime | None) -> None:
        key = self._valid(key)
        with self._exclusive():
            record = self._lookup(key)
            if record is None:
                raise ArtifactNotFoundError(key)
            record["expires_at"] = None if expires_at is None else parse_datetime(
                expires_at).isoformat()
            self._write_record(key, record)

    def delete_run_artifacts(self, run_id: str) -> list[str]:
        """Delete every key recorded for ``run_id``; returns the deleted keys."""
        return self._delete_where(lambda record: record.get("run_id") == run_id)

    def purge_expired(self, now: datetime | None = None,
                      run_id: str | None = None) -> list[str]:
        moment = parse_datetime(now) if now is not None else datetime.now(UTC)

        def expired(record: Mapping[str, Any]) -> bool:
            expires = record.get("expires_at")
            return (expires is not None and parse_datetime(expires) <= moment
                    and (run_id is None or record.get("run_id") == run_id))

        return self._delete_where(expired)

    # ------------------------------------------------------------------ records
    def _ref(self, record: Mapping[str, Any]) -> ArtifactRef:
        return ArtifactRef(store=self.name, key=record["key"], size_bytes=record["size_bytes"],
                           content_type=record["content_type"],
                           created_at=parse_datetime(record["created_at"]),
                           checksum=record["checksum"])

    def _info(self, record: Mapping[str, Any]) -> ArtifactInfo:
        expires = record.get("expires_at")
        return ArtifactInfo(ref=self._ref(record), run_id=record.get("run_id"),
                            step=record.get("step"), metadata=dict(record.get("metadata") or {}),
                            expires_at=parse_datetime(expires) if expires else None)
