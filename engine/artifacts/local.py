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
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import IO, Any
from uuid import uuid4

from .base import DEFAULT_CHUNK_SIZE, OCTET_STREAM
from .indexed import IndexedArtifactStore, Record, RecordTest, new_record
from .protocol import ByteSource
from .refs import (
    ArtifactError,
    ArtifactLocator,
    ArtifactNotFoundError,
    ArtifactRef,
    validate_key,
)
from .streams import copy_hashed, infer_run

try:
    import fcntl
except ImportError:  # Windows: fall back to a per-process lock (see _FileLock)
    fcntl = None  # type: ignore[assignment]

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


class LocalArtifactStore(IndexedArtifactStore):
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
    def put_stream(self, key: str, source: ByteSource, *, content_type: str = OCTET_STREAM,
                   metadata: Mapping[str, str] | None = None, run_id: str | None = None,
                   step: str | None = None) -> ArtifactRef:
        """Copy ``source`` into a temp file while hashing it, then publish object and index."""
        key = validate_key(key)
        run_id, step = infer_run(key, run_id, step)
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, suffix=".tmp")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                checksum, size = copy_hashed(source, out, DEFAULT_CHUNK_SIZE)
                self._flush(out)
            record = new_record(key, checksum, size, content_type=content_type,
                                metadata=metadata, run_id=run_id, step=step)
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

    def _write_record(self, key: str, record: Mapping[str, Any]) -> None:
        self._write_json(self._index_path(key), record)

    def _exclusive(self) -> AbstractContextManager[Any]:
        return self._lock.hold(exclusive=True)

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
    def _lookup(self, key: str) -> Record | None:
        return self._read_record(self._index_path(key))

    def _chunk_source(self, key: str, record: Mapping[str, Any]) -> Callable[[], IO[bytes]]:
        if not self._object_path(record["checksum"]).is_file():
            self._open_object(key, record)  # raises the specific "data file missing" error
        return lambda: self._open_object(key, record)  # opened on first next(): no leaked handle

    def _has_object(self, key: str, record: Mapping[str, Any]) -> bool:
        return self._object_path(record["checksum"]).exists()

    def _records_under(self, prefix: str | None) -> Iterator[Record]:
        return (record for _, record in self._records()
                if prefix is None or record["key"].startswith(prefix))

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

    def _delete_where(self, predicate: RecordTest) -> list[str]:
        """Delete matching keys, then the bytes no other key uses."""
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
