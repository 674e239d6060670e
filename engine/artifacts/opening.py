"""``open_artifact_store``: the one place a URL, a folder or a config entry becomes an artifact
store, and ``artifact_location``: which one a run uses (``--artifacts`` > ``$SPINE_ARTIFACTS``
> the profile's ``artifacts:`` in ``spine.yaml`` > the local folder beside the run store).

A profile names its store as a URL, or as a mapping when it needs options::

    profiles:
      prod:
        artifacts:
          url: s3://spine-artifacts/prod
          storage_options:              # passed to s3fs; secret: references resolve at open
            key: secret:env:ARTIFACTS_KEY_ID
            secret: secret:env:ARTIFACTS_SECRET
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .backends import ArtifactBackendError, parse_store_url, scheme_of
from .base import BaseArtifactStore
from .local import LocalArtifactStore

ARTIFACTS_ENV = "SPINE_ARTIFACTS"
#: What names a store: a URL or folder, or a mapping ``{url, storage_options, name}``.
ArtifactLocation = str | os.PathLike[str] | Mapping[str, Any]
_MAPPING_KEYS = ("url", "storage_options", "name")


def open_artifact_store(location: ArtifactLocation | BaseArtifactStore | None = None, *,
                        default_root: str | os.PathLike[str] | None = None,
                        storage_options: Mapping[str, Any] | None = None,
                        name: str | None = None, check: bool = True) -> BaseArtifactStore:
    """The artifact store ``location`` names.

    ``None`` is ``$SPINE_ARTIFACTS``, else a ``LocalArtifactStore`` at ``default_root`` (else
    ``$SPINE_HOME/artifacts``). A folder path or a ``file://`` URL is a ``LocalArtifactStore``
    (fsynced, lock-coordinated, content-deduplicated: the strongest guarantees a file system
    gives); ``s3://``, ``gs://`` and ``memory://`` are ``FsspecArtifactStore``s, checked to
    answer (``check=False`` skips the round trip). Raises ``ArtifactBackendError`` with the fix.
    """
    if isinstance(location, BaseArtifactStore):
        return location
    if location is None:
        location = os.environ.get(ARTIFACTS_ENV) or None
    if location is None:
        return LocalArtifactStore(default_root, name=name or "local")
    if isinstance(location, Mapping):
        url, options, name = _from_mapping(location, storage_options, name)
        return open_artifact_store(url, default_root=default_root, storage_options=options,
                                   name=name, check=check)
    if isinstance(location, os.PathLike):
        return LocalArtifactStore(location, name=name or "local")
    if not isinstance(location, str) or not location.strip():
        raise ArtifactBackendError(f"artifact store location {location!r} is empty or not "
                                   "text; give a URL (s3://BUCKET/PREFIX) or a folder path")
    location = location.strip()
    scheme = scheme_of(location)
    if scheme is None:
        return LocalArtifactStore(Path(location), name=name or "local")
    parsed = parse_store_url(location)
    if parsed.backend.name == "file":
        return LocalArtifactStore(parsed.root, name=name or "local")
    from . import fsspec_store  # deliberate lazy load: fsspec costs ~70 ms

    store = fsspec_store.FsspecArtifactStore(location, storage_options=storage_options, name=name)
    if check:
        store.check()
    return store


def _from_mapping(entry: Mapping[str, Any], options: Mapping[str, Any] | None,
                  name: str | None) -> tuple[str, dict[str, Any], str | None]:
    unknown = sorted(set(entry) - set(_MAPPING_KEYS))
    if unknown:
        raise ArtifactBackendError(f"unknown artifact store setting(s) {', '.join(unknown)}; "
                                   f"an 'artifacts:' mapping holds {', '.join(_MAPPING_KEYS)}")
    url = entry.get("url")
    if not isinstance(url, str) or not url:
        raise ArtifactBackendError("an 'artifacts:' mapping needs url: (e.g. "
                                   "s3://BUCKET/PREFIX or a folder path)")
    given = entry.get("storage_options") or {}
    if not isinstance(given, Mapping):
        raise ArtifactBackendError("'storage_options' of 'artifacts:' must be a mapping")
    return url, {**given, **(options or {})}, name or entry.get("name")


def artifact_location(explicit: ArtifactLocation | None = None, *, profile: str | None = None,
                      config_path: str | os.PathLike[str] | None = None
                      ) -> ArtifactLocation | None:
    """Which store a run should use: ``explicit`` (``--artifacts``), else ``$SPINE_ARTIFACTS``,
    else the profile's ``artifacts:`` (secret references resolved), else None (the default
    local store). The config file is read only when one exists; a broken one raises
    ``ConfigError`` naming its line."""
    if explicit:
        return explicit
    env = os.environ.get(ARTIFACTS_ENV)
    if env:
        return env
    from .. import config  # deliberate lazy load: pydantic-settings costs ~90 ms

    if config_path is None and config.find_config_file() is None:
        return None
    value: ArtifactLocation | None = config.SpineConfig.load(profile, path=config_path).get("artifacts")
    return value or None
