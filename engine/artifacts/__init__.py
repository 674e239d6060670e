"""Artifact store: large step data lives outside the run context, which holds only refs.

Steps write DataFrames, files and big JSON to an ``ArtifactStore`` and return the
``ArtifactRef`` it hands back; later steps (in any thread or process) read it through the ref.
``LocalArtifactStore`` keeps the bytes on disk, content-addressed by SHA-256;
``FsspecArtifactStore`` keeps them at an ``s3://``, ``gs://`` or ``memory://`` URL, so every
worker can reach them. ``open_artifact_store`` maps a URL or folder to the right one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .aio import AsyncArtifactStore
from .backends import ArtifactBackendError
from .base import BaseArtifactStore
from .local import LocalArtifactStore, default_artifact_root
from .opening import ARTIFACTS_ENV, ArtifactLocation, artifact_location, open_artifact_store
from .protocol import ArtifactStore
from .refs import (
    ArtifactChecksumError,
    ArtifactError,
    ArtifactInfo,
    ArtifactNotFoundError,
    ArtifactRef,
    InvalidArtifactKeyError,
    validate_key,
)
from .retention import ArtifactRetention, delete_run_artifacts, parse_retention

if TYPE_CHECKING:
    from .fsspec_store import FsspecArtifactStore

__all__ = [
    "ARTIFACTS_ENV",
    "ArtifactBackendError",
    "ArtifactChecksumError",
    "ArtifactError",
    "ArtifactInfo",
    "ArtifactLocation",
    "ArtifactNotFoundError",
    "ArtifactRef",
    "ArtifactRetention",
    "ArtifactStore",
    "AsyncArtifactStore",
    "BaseArtifactStore",
    "FsspecArtifactStore",
    "InvalidArtifactKeyError",
    "LocalArtifactStore",
    "artifact_location",
    "default_artifact_root",
    "delete_run_artifacts",
    "open_artifact_store",
    "parse_retention",
    "validate_key",
]


def __getattr__(name: str) -> Any:
    """``FsspecArtifactStore`` loads fsspec (~70 ms): imported on first use, not with the engine."""
    if name == "FsspecArtifactStore":
        from . import fsspec_store  # deliberate lazy load: fsspec costs ~70 ms

        return fsspec_store.FsspecArtifactStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
