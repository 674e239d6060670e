"""``FsspecArtifactStore``: artifacts in S3, GCS, memory or a (shared) folder, through fsspec,
so a step on one machine writes what a step on another reads.

Layout under the store's URL (see ``backends`` for what each backend guarantees)::

    index/runs/r1/extract/rows.json.ref.json   the key's record: checksum, size, type, run,
                                               step, metadata, expiry and its object's name
    objects/ab/cdef.../<uuid>                  the bytes (folder: SHA-256 of the key)
    tmp/<uuid>.json                            records in flight (``file://`` only)

The index mirrors the keys, so ``list(prefix=...)`` is one native prefix listing. Every put
streams to a fresh object name, then commits by writing the record; the record is the only
thing readers trust, so a crashed writer leaves an orphan object (``collect_garbage``
removes it), never a half-written artifact. Reads check the SHA-256 recorded at write time.
No locks are needed: keys never share bytes, so deleting one key can never take another's.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from datetime import datetime
from typing import IO, Any
from uuid import uuid4

import fsspec
from fsspec.asyn import AsyncFileSystem, sync

from .backends import (
    ArtifactBackendError,
    StoreURL,
    filesystem_class,
    merged_options,
    parse_store_url,
)
from .base import DEFAULT_CHUNK_SIZE, OCTET_STREAM
from .indexed import IndexedArtifactStore, Record, RecordTest, new_record
from .protocol import ByteSource
from .refs import (
    ArtifactError,
    ArtifactLocator,
    ArtifactNotFoundError,
    ArtifactRef,
    InvalidArtifactKeyError,
    validate_key,
)
from .streams import check_checksum, copy_hashed, infer_run

RECORD_SUFFIX = ".ref.json"
#: Unreferenced objects younger than this may belong to a put still in flight: GC keeps them.
STALE_OBJECT_SECONDS = 3600.0
_BATCH = 64


class FsspecArtifactStore(IndexedArtifactStore):
    """Artifact store at an fsspec URL: ``s3://BUCKET/PREFIX``, ``gs://BUCKET/PREFIX``,
    ``memory://NAME`` or ``file:///PATH``; same refs, checks and retention as the local store.

    Two instances (in two processes, on two machines) on the same URL see the same artifacts.
    ``storage_options`` go to the fsspec file system (``key``/``secret``, ``endpoint_url``,
    ``client_kwargs``...); they are never printed, stored or put in a ref. ``name`` is what
    refs record as their store (default: the backend, ``s3``).
    """

    def __init__(self, url: str, *, storage_options: Mapping[str, Any] | None = None,
                 name: str | None = None, fs: Any = None) -> None:
        self.location: StoreURL = parse_store_url(url)
        self.backend = self.location.backend
        self.url = self.location.url
        self.name = name or self.backend.name
        if fs is None:
            cls = filesystem_class(self.backend)
            try:
                fs = cls(**merged_options(self.backend, storage_options))
            except (TypeError, ValueError) as exc:
                raise ArtifactBackendError(f"cannot open {self.url}: {exc}; check the "
                                           "artifact store's storage_options") from None
        self.fs = fs
        root = self.location.root.rstrip("/")
        self._index = f"{root}/index"
        self._objects = f"{root}/objects"
        self._tmp = f"{root}/tmp"

    def __repr__(self) -> str:
        return f"FsspecArtifactStore({self.url!r}, name={self.name!r})"

    def check(self) -> None:
        """Fail now, with a fix, when the store cannot be used (no bucket, no credentials,
        endpoint down), rather than at the first step that writes an artifact."""
        try:
            if self.backend.needs_bucket:
                bucket = self.location.root.lstrip("/").split("/", 1)[0]
                if not self.fs.exists(bucket):
                    raise ArtifactBackendError(
                        f"bucket {bucket!r} of artifact store {self.url} does not exist (or "
                        "these credentials cannot see it); create it, or fix the URL")
            elif self.backend.name == "file":
                self.fs.makedirs(self.location.root, exist_ok=True)
        except ArtifactBackendError:
            raise
        except Exception as exc:  # botocore/aiohttp errors: credentials, DNS, refused
            raise ArtifactBackendError(
                f"artifact store {self.url} does not answer: {type(exc).__name__}: {exc}; "
                "check the endpoint and credentials (for S3: AWS_ACCESS_KEY_ID/"
                "AWS_SECRET_ACCESS_KEY or AWS_PROFILE, and $SPINE_S3_ENDPOINT_URL for a "
                "non-AWS endpoint)") from None

    # ------------------------------------------------------------------ writing
    def put_stream(self, key: str, source: ByteSource, *, content_type: str = OCTET_STREAM,
                   metadata: Mapping[str, str] | None = None, run_id: str | None = None,
                   step: str | None = None) -> ArtifactRef:
        """Stream ``source`` to a fresh object while hashing it, then commit the record."""
        key = self._valid(key)
        run_id, step = infer_run(key, run_id, step)
        obj = uuid4().hex
        path = self._object_path(key, obj)
        try:
            checksum, size = self._upload(path, source)
        except OSError as exc:
            raise ArtifactError(f"cannot write artifact {key!r} to {self.url}: {exc}") from None
        record = new_record(key, checksum, size, content_type=content_type, metadata=metadata,
                            run_id=run_id, step=step, object=obj)
        previous = self._read_record(key)
        self._write_record(key, record)
        if previous is not None and previous.get("object") != obj:
            self._remove(self._object_path(key, previous.get("object")))
        return self._ref(record)

    def _upload(self, path: str, source: ByteSource) -> tuple[str, int]:
        out = self.fs.open(path, "wb")
        try:
            checksum, size = copy_hashed(source, out, DEFAULT_CHUNK_SIZE)
        except BaseException:
            with suppress(Exception):
                if self.backend.needs_bucket:  # S3/GCS: abort the upload, commit nothing
                    out.discard()
                    out.closed = True  # else the file object's __del__ would flush it
                else:
                    out.close()
            self._remove(path)
            raise
        out.close()
        return checksum, size

    def _write_record(self, key: str, record: Mapping[str, Any]) -> None:
        """The commit point: one atomic write where the backend has one, else temp + rename."""
        data = json.dumps(record, sort_keys=True).encode()
        path = self._record_path(key)
        try:
            if self.backend.atomic_put:
                self.fs.pipe_file(path, data)
                return
            tmp = f"{self._tmp}/{uuid4().hex}.json"
            self.fs.pipe_file(tmp, data)
            try:
                self.fs.mv(tmp, path)
            finally:
                self._remove(tmp)
        except OSError as exc:
            raise ArtifactError(f"cannot write the record of artifact {key!r} to "
                                f"{self.url}: {exc}") from None

    # ------------------------------------------------------------------ reading
    def get(self, target: ArtifactLocator) -> bytes:
        """The artifact's bytes in one request, verified against the recorded SHA-256."""
        key, record = self._resolve(target)
        data = self._read_object(key, record)
        check_checksum(key, record["checksum"], hashlib.sha256(data).hexdigest())
        return data

    def _lookup(self, key: str) -> Record | None:
        return self._read_record(self._valid(key))

    def _chunk_source(self, key: str, record: Mapping[str, Any]) -> Callable[[], IO[bytes]]:
        raw = self._open_object(key, record)  # a missing object fails here, not at next()
        return lambda: raw

    def _has_object(self, key: str, record: Mapping[str, Any]) -> bool:
        return bool(self.fs.exists(self._object_path(key, record["object"])))

    def _records_under(self, prefix: str | None) -> Iterator[Record]:
        return self._records(prefix)

    def _open_object(self, key: str, record: Mapping[str, Any]) -> IO[bytes]:
        if self.backend.name == "memory":  # memory files are shared objects: read a copy
            return io.BytesIO(self._read_object(key, record))
        try:
            handle: IO[bytes] = self.fs.open(self._object_path(key, record["object"]), "rb")
        except FileNotFoundError:
            raise self._missing(key, record) from None
        return handle

    def _read_object(self, key: str, record: Mapping[str, Any]) -> bytes:
        try:
            data: bytes = self.fs.cat_file(self._object_path(key, record["object"]),
                                           **self._read_options(record["size_bytes"]))
        except FileNotFoundError:
            raise self._missing(key, record) from None
        return data

    def _missing(self, key: str, record: Mapping[str, Any]) -> ArtifactNotFoundError:
        """Why an indexed object is gone: overwritten since the record was read, or lost."""
        current = self._read_record(key)
        if current is None:
            return ArtifactNotFoundError(key, "it was deleted while being read")
        if current.get("object") != record.get("object"):
            return ArtifactNotFoundError(key, "it was overwritten while being read; read it "
                                              "again for the new content")
        return ArtifactNotFoundError(key, f"its data object "
                                          f"{self._object_path(key, record['object'])} is missing")

    # ------------------------------------------------------------------ deleting
    def delete(self, target: ArtifactLocator) -> bool:
        """Remove the key and its bytes; a ref whose key now holds other content deletes nothing."""
        try:
            key, record = self._resolve(target)
        except ArtifactNotFoundError:
            return False
        return self._drop(record)

    def collect_garbage(self, stale_seconds: float = STALE_OBJECT_SECONDS) -> int:
        """Remove objects no record names (left by crashed or racing writers) once older than
        ``stale_seconds``, and stale temp records; returns how many objects were removed."""
        cutoff = time.time() - stale_seconds
        wanted = {self._object_path(r["key"], r["object"]) for r in self._records(None)}
        removed = 0
        for path in self._find(self._objects):
            if path not in wanted and self._older_than(path, cutoff):
                self._remove(path)
                removed += 1
        for path in self._find(self._tmp):
            if self._older_than(path, cutoff):
                self._remove(path)
        return removed

    def _delete_where(self, predicate: RecordTest) -> list[str]:
        """Delete each matching key whose record, read again just before, still matches (a
        key rewritten since the listing is left alone)."""
        due = [record["key"] for record in self._records(None) if predicate(record)]
        return sorted(key for key in due if self._drop_key(key, predicate))

    def _drop_key(self, key: str, still: RecordTest) -> bool:
        """Delete ``key`` if its current record still satisfies ``still``."""
        record = self._read_record(key)
        return record is not None and bool(still(record)) and self._drop(record)

    def _drop(self, record: Mapping[str, Any]) -> bool:
        key = record["key"]
        self._remove(self._record_path(key))
        self._remove(self._object_path(key, record["object"]))
        return True

    # ------------------------------------------------------------------ index
    def _valid(self, key: str) -> str:
        """``validate_key``, plus: no folder may end in the record suffix, so a key's record
        file and another key's folder can never collide on a real file system."""
        key = validate_key(key)
        if any(part.endswith(RECORD_SUFFIX) for part in key.split("/")[:-1]):
            raise InvalidArtifactKeyError(key, f"folder names ending in {RECORD_SUFFIX!r} are "
                                               "reserved by URL artifact stores")
        return key

    def _record_path(self, key: str) -> str:
        return f"{self._index}/{key}{RECORD_SUFFIX}"

    def _object_path(self, key: str, obj: Any) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{self._objects}/{digest[:2]}/{digest[2:]}/{obj}"

    def _read_record(self, key: str) -> dict[str, Any] | None:
        try:
            data = self.fs.cat_file(self._record_path(key), **self._read_options(0))
        except FileNotFoundError:
            return None
        return self._parse(self._record_path(key), data)

    def _records(self, prefix: str | None) -> Iterator[dict[str, Any]]:
        """Every record under ``prefix``, fetched in concurrent batches where fsspec can."""
        folder = self._index
        parent = prefix.rsplit("/", 1)[0] if prefix and "/" in prefix else ""
        with suppress(InvalidArtifactKeyError):  # an odd prefix: filter a full listing
            folder = f"{self._index}/{validate_key(parent)}" if parent else folder
        paths = [path for path in self._find(folder) if path.endswith(RECORD_SUFFIX)]
        if prefix:
            start = len(self._index) + 1
            paths = [p for p in paths if p[start:-len(RECORD_SUFFIX)].startswith(prefix)]
        for path, data in self._cat_many(paths):
            yield self._parse(path, data)

    def _find(self, folder: str) -> list[str]:
        self.fs.invalidate_cache(folder)
        try:
            found: list[str] = [self._strip(p) for p in self.fs.find(folder)]
        except FileNotFoundError:
            return []
        return found

    def _strip(self, path: str) -> str:
        """A listed path in this store's spelling (memory paths start with '/', S3's not)."""
        if self.backend.name == "memory" and not path.startswith("/"):
            return "/" + path
        return path

    def _cat_many(self, paths: list[str]) -> Iterator[tuple[str, bytes]]:
        """(path, bytes) of each path still there; one request per record, batched."""
        for start in range(0, len(paths), _BATCH):
            batch = paths[start:start + _BATCH]
            if isinstance(self.fs, AsyncFileSystem):
                results = sync(self.fs.loop, _gather, self.fs, batch, self._read_options(0))
            else:
                results = [_cat_or_none(self.fs, path) for path in batch]
            for path, data in zip(batch, results, strict=True):
                if isinstance(data, bytes):
                    yield path, data
                elif isinstance(data, BaseException) and not isinstance(data, FileNotFoundError):
                    raise data

    def _read_options(self, size: int) -> dict[str, Any]:
        """s3fs asks for an object's size (a HEAD) before every GET, to split big ones into
        concurrent ranges; records and small objects skip that round trip."""
        if self.backend.name == "s3" and size < getattr(self.fs, "default_block_size", 0):
            return {"max_concurrency": 1}
        return {}

    def _older_than(self, path: str, cutoff: float) -> bool:
        try:
            modified = self.fs.modified(path)
        except FileNotFoundError:  # removed meanwhile: nothing to collect
            return False
        except NotImplementedError:  # a filesystem that keeps no modification times (fsspec's
            return False  # base raises this): never guess an orphan's age, keep it
        moment: float = modified.timestamp() if isinstance(modified, datetime) else modified
        return moment < cutoff

    def _remove(self, path: str) -> None:
        with suppress(FileNotFoundError):
            self.fs.rm_file(path)

    @staticmethod
    def _parse(path: str, data: bytes) -> dict[str, Any]:
        try:
            record = json.loads(data)
            if not isinstance(record, dict) or not {"key", "checksum", "object"} <= record.keys():
                raise ValueError("not an artifact record")
        except ValueError as exc:
            raise ArtifactError(f"artifact record {path} is unreadable ({exc}); delete it to "
                                "drop that key, then run collect_garbage()") from None
        return record


async def _gather(fs: Any, paths: list[str], options: Mapping[str, Any]) -> list[Any]:
    return await asyncio.gather(*(fs._cat_file(path, **options) for path in paths),
                                return_exceptions=True)


def _cat_or_none(fs: fsspec.AbstractFileSystem, path: str) -> bytes | None:
    try:
        data: bytes = fs.cat_file(path)
    except FileNotFoundError:
        return None
    return data
