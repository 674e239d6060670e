"""Artifact store: large step data lives outside the run context, which holds only refs.

Steps write DataFrames, files and big JSON to an ``ArtifactStore`` and return the
``ArtifactRef`` it hands back; later steps (in any thread or process) read it through the ref.
``LocalArtifactStore`` keeps the bytes on disk, content-addressed by SHA-256.
"""

from __future__ import annotations

from .aio import AsyncArtifactStore
from .base import BaseArtifactStore
from .local import LocalArtifactStore, default_artifact_root
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

__all__ = [
    "ArtifactChecksumError",
    "ArtifactError",
    "ArtifactInfo",
    "ArtifactNotFoundError",
    "ArtifactRef",
    "ArtifactRetention",
    "ArtifactStore",
    "AsyncArtifactStore",
    "BaseArtifactStore",
    "InvalidArtifactKeyError",
    "LocalArtifactStore",
    "default_artifact_root",
    "delete_run_artifacts",
    "parse_retention",
    "validate_key",
]
