"""Environment-aware configuration (spec 14c): ``SpineConfig.load(profile=...)`` over the
profiles of ``spine.yaml``, ``SPINE_*`` overrides and ``.env`` files, secrets redacted."""

from __future__ import annotations

from .profiles import ConfigError, deep_merge, find_config_file, read_profile
from .spine_config import ProfileSettings, SpineConfig

__all__ = ["ConfigError", "ProfileSettings", "SpineConfig", "deep_merge", "find_config_file",
           "read_profile"]
