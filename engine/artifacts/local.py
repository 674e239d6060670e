"""``LocalArtifactStore``: artifacts as content-addressed files under one root folder.

Layout::

    root/objects/ab/cdef...        the bytes, named by their SHA-256 (same content stored once)
    root/index/12/3456....json     one small JSON record per key, named by the key's SHA-256
    root/tmp/                      in-flight writes, moved into place with ``os.replace``
    root/.lock                     puts hold it shared; deletes and garbage collection exclusive
    root/locks/ab                  256 key stripes: a key's index is read and replaced under one

Hashing the key for the index file name keeps any valid key (long, deep, differing only in
case) a plain file name, at the cost of listing by reading every record, which is fine for
the thousands of artifacts a local store holds. Every write goes to a temp file, is fsynced
and then renamed, so readers and other processes see a key either complete or not at all.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from uuid import uuid4

from .base import DEFAULT_CHUNK_SIZE, OCTET_STREAM, BaseArtifactStore
from .protocol import ByteSource
from .refs import (
    ArtifactError,
    ArtifactInfo,
    ArtifactLocator,
    ArtifactNotFoundError,
    ArtifactRef,
    coerce_locator,
    parse_datetime,
    validate_key,
)
from .streams import VerifyingReader, check_checksum, chunks_of, infer_run, put_any

try:
    import fcntl
except ImportError:  # Windows: fall back to a per-process lock (see _FileLock)
    fcntl = None  # type: ignore[assignment]

_RECORD_VERSION = 1
#: Temp files older than this are leftovers of crashed writers and are removed by GC.
STALE_TEMP_SECONDS = 3600.0
_fallback_locks: dict[str, threading.Lock] = {}
_fallback_guard = threading.Lock()


def default_artifact_root() -> Path:
    """``$SPINE_HOME/artifacts`` (``~/.spine/artifacts`` by default), as the spec places it."""
    return Path(os.environ.get("SPINE_HOME") or Path.home() / ".spine").expanduser() / "artifacts"


class _FileLock:
    """Shared/exclusive ``flock`` on a lock file, across threads and processes alike.

    The root lock keeps GC from deleting an object a put has published but not yet indexed;
    key stripe locks make "read the old record, write the new one" atomic per key, so the
    writer that replaces content is the one that frees the old bytes.
    """

    def __init__(self, path: Path) -> None:
        self._path = path

    @contextmanager
    def hold(self, exclusive: bool) -> Iterator[None]:
        if fcntl is None:  # no flock: serialise within this process only
            with _fallback_guard:
                lock = _fallback_locks.setdefault(str(self._path), threading.Lock())
            with lock:
                yield
            return
        with open(self._path, "a+b") as handle:  # one open file per holder: flock per holder
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield


class LocalArtifactStore(BaseArtifactStore):
    """Artifact store on the local file system; safe for many threads and processes at once.

    ``durable=False`` skips fsync (faster, for scratch stores whose loss after a power cut
    is fine).
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, *, name: str = "local",
                 durable: bool = True) -> None:
        self.root = Path(root).expanduser() if root is not None else default_artifact_root()
        self.name = name
        self.durable = durable
        self._objects = self.root / "objects"
        self._index = self.root / "index"
        self._tmp = self.root / "tmp"
        self._locks = self.root / "locks"
        for folder in (self._objects, self._index, self._tmp, self._locks):
            folder.mkdir(parents=True, exist_ok=True)
        self._lock = _FileLock(self.root / ".lock")

    def __repr__(self) -> str:
        return f"LocalArtifactStore({str(self.root)!r}, name={self.name!r})"

    # ------------------------------------------------------------------ writing
    def put(self, key: str, data: Any, *, content_type: str = OCTET_STREAM,
            metadata: Mapping[str, str] | None = None, run_id: str | None = None,
            step: str | None = None) -> ArtifactRef:
        """Store bytes, a file (``Path``) or a binary file object under ``key``."""
        return put_any(self.put_stream, key, data, content_type=content_type,
                       metadata=metadata, run_id=run_id, step=step)

    def put_stream(self, key: str, source: ByteSource, *, content_type: str = OCTET_STREAM,
                   metadata: Mapping[str, str] | None = None, run_id: str | None = None,
                   step: str | None = None) -> ArtifactRef:
        """Copy ``source`` into a temp file while hashing it, then publish object and index."""
        key = validate_key(key)
        run_id, step = infer_run(key, run_id, step)
        meta = {str(name): str(value) for name, value in (metadata or {}).items()}
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, suffix=".tmp")
        tmp = Path(tmp_name)
        try:
            digest, size = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks_of(source, DEFAULT_CHUNK_SIZE):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                self._flush(out)
            checksum = digest.hexdigest()
            record = {
                "version": _RECORD_VERSION, "key": key, "checksum": checksum,
                "size_bytes": size, "content_type": content_type,
                "created_at": datetime.now(UTC).isoformat(), "run_id": run_id, "step": step,
                "metadata": meta, "expires_at": None,
            }
            index_path = self._index_path(key)
            with self._lock.hold(exclusive=False):
                self._publish(tmp, checksum, size)
                with _FileLock(self._locks / index_path.parent.name).hold(exclusive=True):
                    previous = self._read_record(index_path)
                    self._write_json(index_path, record)
        finally:
            with suppress(FileNotFoundError):
                tmp.unlink()
        if previous is not None and previous["checksum"] != checksum:
            with self._lock.hold(exclusive=True):
                self._collect({previous["checksum"]})
        return self._ref(record)

    def _publish(self, tmp: Path, checksum: str, size: int) -> None:
        """Move a finished temp file to its content address; same content is kept once."""
        target = self._object_path(checksum)
        with suppress(FileNotFoundError):
            if target.stat().st_size == size:
                return
        try:
            os.replace(tmp, target)
        except FileNotFoundError:  # first object in this fan-out folder
            target.parent.mkdir(exist_ok=True)
            os.replace(tmp, target)
        self._sync_dir(target.parent)

    def _write_json(self, path: Path, record: Mapping[str, Any]) -> None:
        tmp = path.with_name(f".{path.name}.{uuid4().hex}.tmp")
        try:
            try:
                out = open(tmp, "wb")
            except FileNotFoundError:  # first record in this fan-out folder
                path.parent.mkdir(exist_ok=True)
                out = open(tmp, "wb")
            with out:
                out.write(json.dumps(record, sort_keys=True).encode())
                self._flush(out)
            os.replace(tmp, path)
        finally:
            with suppress(FileNotFoundError):
                tmp.unlink()
        self._sync_dir(path.parent)

    def _flush(self, out: IO[bytes]) -> None:
        out.flush()
        if self.durable:
            os.fsync(out.fileno())

    def _sync_dir(self, folder: Path) -> None:
        """Make a rename durable; some file systems cannot fsync a directory, which only
        weakens durability after a power cut, so that one failure is ignored."""
        if not self.durable or not hasattr(os, "O_DIRECTORY"):
            return
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with suppress(OSError):
                os.fsync(fd)
        finally:
            os.close(fd)

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
        if not self._object_path(record["checksum"]).is_file():
            self._open_object(key, record)  # raises the specific "data file missing" error
        return self._chunks(key, record, chunk_size)

    def _chunks(self, key: str, record: Mapping[str, Any], chunk_size: int) -> Iterator[bytes]:
        digest = hashlib.sha256()
        with self._open_object(key, record) as raw:  # opened on first next(): no leaked handle
            while chunk := raw.read(chunk_size):
                digest.update(chunk)
                yield chunk
        check_checksum(key, record["checksum"], digest.hexdigest())

    def info(self, key: str) -> ArtifactInfo:
        key = validate_key(key)
        record = self._read_record(self._index_path(key))
        if record is None:
            raise ArtifactNotFoundError(key)
        return self._info(record)

    def exists(self, target: ArtifactLocator) -> bool:
        try:
            _, record = self._resolve(target)
        except ArtifactNotFoundError:
            return False
        return self._object_path(record["checksum"]).exists()

    def list_info(self, prefix: str | None = None,
                  run_id: str | None = None) -> list[ArtifactInfo]:
        infos = [self._info(record) for _, record in self._records()
                 if (prefix is None or record["key"].startswith(prefix))
                 and (run_id is None or record.get("run_id") == run_id)]
        return sorted(infos, key=lambda info: info.key)

    def _resolve(self, target: ArtifactLocator) -> tuple[str, dict[str, Any]]:
        """The key and index record a locator names; a ref must still match the key's content."""
        key, ref = coerce_locator(target)
        if ref is not None and ref.store != self.name:
            raise ArtifactNotFoundError(key, f"the reference belongs to store {ref.store!r}, "
                                             f"not {self.name!r}")
        record = self._read_record(self._index_path(key))
        if record is None:
            raise ArtifactNotFoundError(key)
        if ref is not None and record["checksum"] != ref.checksum:
            raise ArtifactNotFoundError(
                key, f"it was overwritten after this reference was made (reference SHA-256 "
                     f"{ref.checksum}, stored {record['checksum']})")
        return key, record

    def _open_object(self, key: str, record: Mapping[str, Any]) -> IO[bytes]:
        path = self._object_path(record["checksum"])
        try:
            return open(path, "rb")
        except FileNotFoundError:
            raise ArtifactNotFoundError(key, f"its data file {path} is missing") from None

    # ------------------------------------------------------------------ deleting
    def delete(self, target: ArtifactLocator) -> bool:
        """Remove the key; a ref whose key now holds other content deletes nothing."""
        with self._lock.hold(exclusive=True):
            try:
                key, record = self._resolve(target)
            except ArtifactNotFoundError:
                return False
            self._index_path(key).unlink(missing_ok=True)
            self._collect({record["checksum"]})
        return True

    def delete_run_artifacts(self, run_id: str) -> list[str]:
        """Delete every key recorded for ``run_id`` and the bytes no other key uses."""
        return self._delete_where(lambda record: record.get("run_id") == run_id)

    def set_expiry(self, key: str, expires_at: datetime | None) -> None:
        key = validate_key(key)
        with self._lock.hold(exclusive=True):
            path = self._index_path(key)
            record = self._read_record(path)
            if record is None:
                raise ArtifactNotFoundError(key)
            record["expires_at"] = None if expires_at is None else parse_datetime(
                expires_at).isoformat()
            self._write_json(path, record)

    def purge_expired(self, now: datetime | None = None,
                      run_id: str | None = None) -> list[str]:
        moment = parse_datetime(now) if now is not None else datetime.now(UTC)

        def expired(record: Mapping[str, Any]) -> bool:
            expires = record.get("expires_at")
            return (expires is not None and parse_datetime(expires) <= moment
                    and (run_id is None or record.get("run_id") == run_id))

        return self._delete_where(expired)

    def collect_garbage(self, stale_temp_seconds: float = STALE_TEMP_SECONDS) -> int:
        """Remove objects no key references and temp files left by crashed writers;
        returns how many objects were removed."""
        cutoff = time.time() - stale_temp_seconds
        with self._lock.hold(exclusive=True):
            on_disk = {path.parent.name + path.name for path in self._objects.glob("*/*")}
            removed = self._collect(on_disk)
            for leftover in [*self._tmp.glob("*.tmp"), *self._index.glob("*/*.tmp")]:
                with suppress(FileNotFoundError):
                    if leftover.stat().st_mtime < cutoff:
                        leftover.unlink()
        return removed

    def _delete_where(self, predicate: Any) -> list[str]:
        with self._lock.hold(exclusive=True):
            deleted, candidates = [], set()
            for path, record in self._records():
                if predicate(record):
                    path.unlink(missing_ok=True)
                    deleted.append(record["key"])
                    candidates.add(record["checksum"])
            self._collect(candidates)
        return sorted(deleted)

    def _collect(self, candidates: set[str]) -> int:
        """Delete candidate objects no index record references (caller holds the lock)."""
        if not candidates:
            return 0
        referenced = {record["checksum"] for _, record in self._records()}
        removed = 0
        for checksum in candidates - referenced:
            with suppress(FileNotFoundError):
                self._object_path(checksum).unlink()
                removed += 1
        return removed

    # ------------------------------------------------------------------ index
    def _index_path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self._index / digest[:2] / f"{digest[2:]}.json"

    def _object_path(self, checksum: str) -> Path:
        return self._objects / checksum[:2] / checksum[2:]

    def _records(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        for path in self._index.glob("*/*.json"):
            record = self._read_record(path)
            if record is not None:
                yield path, record

    @staticmethod
    def _read_record(path: Path) -> dict[str, Any] | None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            record = json.loads(text)
            if not isinstance(record, dict) or not {"key", "checksum"} <= record.keys():
                raise ValueError("not an artifact record")
        except ValueError as exc:
            raise ArtifactError(f"artifact index file {path} is unreadable ({exc}); delete it "
                                "to drop that key, then run collect_garbage()") from None
        return record

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
