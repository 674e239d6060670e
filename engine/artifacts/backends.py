"""Which URLs name an fsspec artifact store, what each backend guarantees, and its defaults.

| URL | package | commit point (the key's index record) | cross-process / cross-machine |
|---|---|---|---|
| ``s3://BUCKET/PREFIX`` | s3fs | one PUT: readers see the old record or the new one, never part | yes (S3 is read-after-write consistent) |
| ``gs://BUCKET/PREFIX`` | gcsfs | one upload, visible only once finalised | yes (strongly consistent) |
| ``memory://NAME`` | fsspec | one dict assignment of a whole buffer | this process only |
| ``file:///PATH`` | fsspec | written under ``tmp/``, then renamed (atomic on one file system; not fsynced) | machines sharing the file system |

Object bytes never need an atomic write on any backend: each write goes to a fresh, unique
object name that nothing reads until the index record naming it is committed.

S3 credentials come from where boto looks (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_PROFILE``, instance roles) or from ``storage_options`` (``key``, ``secret``: in
``spine.yaml`` as ``secret:`` references). A non-AWS endpoint (MinIO, moto, Ceph) is
``$SPINE_S3_ENDPOINT_URL``, or fsspec's own ``FSSPEC_S3_ENDPOINT_URL``, or
``storage_options={"endpoint_url": ...}``; the explicit option wins over ``SPINE_``, which
wins over fsspec's config.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .refs import ArtifactError

S3_ENDPOINT_ENV = "SPINE_S3_ENDPOINT_URL"
_HINT = ("use s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, memory://NAME, file:///PATH or a "
         "folder path")


class ArtifactBackendError(ArtifactError):
    """An artifact store URL cannot be used: unknown scheme, no bucket, a missing package,
    or a backend that does not answer; the message says which and how to fix it."""


@dataclass(frozen=True, slots=True)
class Backend:
    """One supported fsspec protocol and what a single whole-object write guarantees."""

    name: str
    package: str | None
    atomic_put: bool
    needs_bucket: bool
    shared: str


BACKENDS: dict[str, Backend] = {
    "s3": Backend("s3", "s3fs", atomic_put=True, needs_bucket=True,
                  shared="every machine that can reach the bucket"),
    "gs": Backend("gs", "gcsfs", atomic_put=True, needs_bucket=True,
                  shared="every machine that can reach the bucket"),
    "memory": Backend("memory", None, atomic_put=True, needs_bucket=False,
                      shared="this process only"),
    "file": Backend("file", None, atomic_put=False, needs_bucket=False,
                    shared="machines that mount the same file system"),
}
#: other spellings fsspec accepts for the same backends
ALIASES = {"s3a": "s3", "gcs": "gs", "local": "file"}


@dataclass(frozen=True, slots=True)
class StoreURL:
    """A parsed artifact store URL: the backend, the root path inside it, and the canonical
    URL (no credentials: URLs here never carry any)."""

    backend: Backend
    root: str

    @property
    def url(self) -> str:
        if self.backend.name == "file":
            return f"file://{self.root}"
        return f"{self.backend.name}://{self.root.lstrip('/')}"


def scheme_of(location: str) -> str | None:
    """The URL scheme of ``location`` (``s3`` for ``s3://b/p``), None for a plain path."""
    head, sep, _ = location.partition("://")
    if not sep or not head or "/" in head or "\\" in head:
        return None
    return head.lower()


def backend_for(scheme: str) -> Backend:
    """The backend of a URL scheme, or an error listing the supported ones."""
    backend = BACKENDS.get(ALIASES.get(scheme, scheme))
    if backend is None:
        raise ArtifactBackendError(f"unsupported artifact store URL scheme {scheme + '://'!r}; "
                                   + _HINT)
    return backend


def parse_store_url(url: str) -> StoreURL:
    """Split ``url`` into backend and root; a bucket URL without its bucket is refused."""
    scheme = scheme_of(url)
    if scheme is None:
        raise ArtifactBackendError(f"{url!r} is not an artifact store URL; " + _HINT)
    backend = backend_for(scheme)
    path = url.split("://", 1)[1]
    if "@" in path.split("/", 1)[0]:
        raise ArtifactBackendError(
            f"artifact store URLs carry no credentials ({backend.name}://USER@... given); "
            "pass them through the environment or storage_options (secret: references in "
            "spine.yaml)")
    if "?" in path or "#" in path:
        raise ArtifactBackendError(f"artifact store URL {_safe(url)!r} has a query or "
                                   "fragment; options go in storage_options, not the URL")
    root = path.rstrip("/")
    if backend.needs_bucket and not root:
        raise ArtifactBackendError(f"artifact store URL {_safe(url)!r} names no bucket; use "
                                   f"{backend.name}://BUCKET/PREFIX")
    if backend.name == "file":
        root = os.path.abspath(os.path.expanduser(root or "."))
    elif backend.name == "memory":
        root = "/" + root.lstrip("/")
    return StoreURL(backend, root)


def _safe(url: str) -> str:
    """``url`` with any query dropped, so a token pasted into one never reaches a message."""
    return url.split("?", 1)[0].split("#", 1)[0]


def default_options(backend: Backend) -> dict[str, Any]:
    """Options every store of ``backend`` needs: no listing cache on object stores (another
    process's writes must show at once), parent folders made on demand for files, and the
    S3 endpoint from ``$SPINE_S3_ENDPOINT_URL``."""
    if backend.name == "file":
        return {"auto_mkdir": True}
    if backend.name == "s3":
        options: dict[str, Any] = {"use_listings_cache": False}
        endpoint = os.environ.get(S3_ENDPOINT_ENV)
        if endpoint:
            options["endpoint_url"] = endpoint
        return options
    if backend.name == "gs":
        return {"use_listings_cache": False}
    return {}


def filesystem_class(backend: Backend) -> type[Any]:
    """The fsspec class for ``backend``; a missing package is named, with how to install it."""
    import fsspec  # deliberate lazy load: fsspec costs ~70 ms and only URL stores need it

    try:
        cls: type[Any] = fsspec.get_filesystem_class(backend.name)
    except ImportError:
        raise ArtifactBackendError(
            f"{backend.name}:// artifact stores need the {backend.package} package, which is "
            f"not installed; run `pip install {backend.package}`") from None
    return cls


def merged_options(backend: Backend, explicit: Mapping[str, Any] | None) -> dict[str, Any]:
    """Backend defaults with the caller's ``storage_options`` laid over them."""
    options = default_options(backend)
    for name, value in (explicit or {}).items():
        if name == "client_kwargs" and isinstance(value, Mapping):
            options["client_kwargs"] = {**options.get("client_kwargs", {}), **value}
        else:
            options[name] = value
    if "endpoint_url" in options and "endpoint_url" in options.get("client_kwargs", {}):
        options.pop("endpoint_url")  # the explicit client_kwargs endpoint wins
    return options
