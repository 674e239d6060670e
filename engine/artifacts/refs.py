"""Artifact references, the errors artifact stores raise, and the rules every key follows."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import WorkflowError
from ..serialization import register_json_type

#: ``to_dict()`` tags refs with this so stored outputs can be recognised as references again.
REF_TYPE = "artifact_ref"
_REF_FIELDS = ("store", "key", "size_bytes", "content_type", "created_at", "checksum")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_SEGMENT = 255
_KEY_HINT = "use a relative, '/'-separated key such as 'runs/<run_id>/<step>/data.parquet'"


class ArtifactError(WorkflowError):
    """Base class for artifact store errors."""


class ArtifactNotFoundError(ArtifactError, LookupError):
    """No artifact is stored under ``key`` (or no longer the one a reference points to)."""

    def __init__(self, key: str, detail: str = "") -> None:
        self.key = key
        self.detail = detail
        super().__init__(f"artifact {key!r} not found" + (f": {detail}" if detail else ""))


class ArtifactChecksumError(ArtifactError):
    """The stored bytes of ``key`` no longer hash to the checksum recorded when it was written."""

    def __init__(self, key: str, expected: str, actual: str) -> None:
        self.key = key
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"artifact {key!r} is corrupt: expected SHA-256 {expected}, stored bytes hash to "
            f"{actual}; re-create it by re-running the step that wrote it"
        )


class InvalidArtifactKeyError(ArtifactError, ValueError):
    """A key is not a safe relative path (absolute, ``..``, empty segments, ...)."""

    def __init__(self, key: object, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"invalid artifact key {key!r}: {reason}; {_KEY_HINT}")


def validate_key(key: object) -> str:
    """Return ``key`` if it is a safe relative path, so no key can escape the store's root
    or mean different things on different backends (S3 and local paths alike)."""
    if not isinstance(key, str):
        raise InvalidArtifactKeyError(key, f"keys are strings, got {type(key).__name__}")
    if not key:
        raise InvalidArtifactKeyError(key, "key is empty")
    if "\\" in key:
        raise InvalidArtifactKeyError(key, "use '/' as separator, not '\\'")
    if key.startswith("/") or re.match(r"[A-Za-z]:", key):
        raise InvalidArtifactKeyError(key, "absolute paths are not allowed")
    if any(ord(char) < 32 or ord(char) == 127 for char in key):
        raise InvalidArtifactKeyError(key, "control characters are not allowed")
    for segment in key.split("/"):
        if not segment:
            raise InvalidArtifactKeyError(key, "empty path segment ('//' or a trailing '/')")
        if segment in (".", ".."):
            raise InvalidArtifactKeyError(key, f"'{segment}' segments are not allowed")
        if len(segment.encode()) > _MAX_SEGMENT:
            raise InvalidArtifactKeyError(key, f"a segment is longer than {_MAX_SEGMENT} bytes")
    return key


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_datetime(value: datetime | str) -> datetime:
    """A UTC datetime from a datetime or ISO string (naive values are taken as UTC)."""
    return _utc(value if isinstance(value, datetime) else datetime.fromisoformat(value))


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    """Lightweight, JSON-serialisable pointer to one stored artifact: what steps pass around.

    A ref pins content: resolving it fails if its key has since been overwritten with other
    bytes, so a step never silently reads data it was not handed.
    """

    store: str
    key: str
    size_bytes: int
    content_type: str
    created_at: datetime
    checksum: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": REF_TYPE,
            "store": self.store,
            "key": self.key,
            "size_bytes": self.size_bytes,
            "content_type": self.content_type,
            "created_at": self.created_at.isoformat(),
            "checksum": self.checksum,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArtifactRef:
        """Rebuild a ref from ``to_dict()`` output (e.g. a step output loaded from the run store)."""
        missing = [name for name in _REF_FIELDS if name not in data]
        if missing:
            raise ValueError(f"not an artifact reference: missing {', '.join(missing)}")
        checksum = str(data["checksum"])
        if not _SHA256.fullmatch(checksum):
            raise ValueError(f"artifact reference checksum {checksum!r} is not a SHA-256 hex digest")
        return cls(
            store=str(data["store"]),
            key=validate_key(data["key"]),
            size_bytes=int(data["size_bytes"]),
            content_type=str(data["content_type"]),
            created_at=parse_datetime(data["created_at"]),
            checksum=checksum,
        )

    @staticmethod
    def is_ref_dict(value: object) -> bool:
        """True for the dict form of a ref, as found in outputs read back from JSON."""
        return isinstance(value, Mapping) and value.get("type") == REF_TYPE


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    """What the store's index knows about a key: its ref plus run, step, metadata and expiry."""

    ref: ArtifactRef
    run_id: str | None = None
    step: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    expires_at: datetime | None = None

    @property
    def key(self) -> str:
        return self.ref.key


#: What store methods accept to name an artifact: a key, a ref, or a ref's dict form.
ArtifactLocator = str | ArtifactRef | Mapping[str, Any]


def coerce_locator(target: ArtifactLocator) -> tuple[str, ArtifactRef | None]:
    """(key, ref or None) for whatever a caller used to name an artifact."""
    if isinstance(target, ArtifactRef):
        return target.key, target
    if isinstance(target, Mapping):
        ref = ArtifactRef.from_dict(target)
        return ref.key, ref
    return validate_key(target), None


register_json_type(ArtifactRef)
