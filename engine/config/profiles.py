"""Where profiles come from: the ``spine.yaml`` file (``profiles:`` map plus shared
``defaults:``), which profile is chosen, and the ``.env`` files a profile asks for.

Layout of the file (found at ``path=``, else ``$SPINE_CONFIG``, else ``./spine.yaml`` or
``./spine.yml``)::

    default_profile: dev          # else $SPINE_PROFILE, else "dev"
    defaults:                     # merged under every profile
      log_level: INFO
    profiles:
      dev:  {database_url: "sqlite:///dev.db", dotenv: .env}
      prod: {database_url: "secret:env:DATABASE_URL", secrets_dir: /run/secrets}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from dotenv import load_dotenv

from ..errors import WorkflowError

CONFIG_ENV = "SPINE_CONFIG"
PROFILE_ENV = "SPINE_PROFILE"
FILE_NAMES = ("spine.yaml", "spine.yml")
DEFAULT_PROFILE = "dev"
TOP_LEVEL_KEYS = ("default_profile", "defaults", "profiles")
#: the usual long and short spellings answer for each other when only one is defined
ALIASES = {"production": "prod", "prod": "production", "development": "dev",
           "dev": "development", "stage": "staging", "staging": "stage"}


class ConfigError(WorkflowError):
    """The config file or a profile is wrong; says where (``file:line``) and how to fix it."""

    def __init__(self, message: str, path: Path | None = None, line: int | None = None) -> None:
        self.reason = message
        self.path = path
        self.line = line
        where = f"{path}:{line}: " if path and line else f"{path}: " if path else ""
        super().__init__(where + message)


@dataclass(frozen=True, slots=True)
class ProfileSource:
    """One profile as the file states it: its merged data, and where each key sits."""

    profile: str
    path: Path | None
    data: dict[str, Any]
    available: tuple[str, ...] = ()
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)

    def line_of(self, key: tuple[str, ...]) -> int | None:
        """The file line of a key of this profile (or of ``defaults``), if known."""
        return self.lines.get(("profiles", self.profile, *key)) or \
            self.lines.get(("defaults", *key))


def find_config_file(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to read: ``path``, else ``$SPINE_CONFIG``, else ``./spine.yaml``."""
    explicit = path or os.environ.get(CONFIG_ENV)
    if explicit:
        chosen = Path(explicit).expanduser()
        if not chosen.is_file():
            origin = "" if path else f" (from ${CONFIG_ENV})"
            raise ConfigError(f"config file {str(chosen)!r}{origin} does not exist; create it "
                              "or point at another file")
        return chosen
    for name in FILE_NAMES:
        candidate = Path(name)
        if candidate.is_file():
            return candidate.resolve()
    return None


def read_profile(profile: str | None = None,
                 path: str | os.PathLike[str] | None = None) -> ProfileSource:
    """The chosen profile's data: ``profile``, else ``$SPINE_PROFILE``, else the file's
    ``default_profile``, else ``dev``; ``defaults`` merged underneath."""
    file = find_config_file(path)
    if file is None:
        name = profile or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
        return ProfileSource(name, None, {})
    document, lines = _load(file)
    profiles = document.get("profiles") or {}
    wanted = profile or os.environ.get(PROFILE_ENV) or document.get("default_profile") \
        or DEFAULT_PROFILE
    available = tuple(str(p) for p in profiles)
    name = _pick(str(wanted), available, file, lines)
    defaults = document.get("defaults") or {}
    data = deep_merge(defaults, profiles.get(name) or {})
    return ProfileSource(name, file, data, available, lines)


def _pick(wanted: str, available: tuple[str, ...], file: Path,
          lines: dict[tuple[str, ...], int]) -> str:
    if wanted in available:
        return wanted
    alias = ALIASES.get(wanted)
    if alias in available:
        return alias  # type: ignore[return-value]
    if not available and wanted == DEFAULT_PROFILE:
        return wanted  # a file with only defaults
    names = ", ".join(available) or "none"
    raise ConfigError(f"unknown profile {wanted!r} (profiles: {names}); add it under "
                      "'profiles:' or pick another with --profile / $SPINE_PROFILE", file,
                      lines.get(("profiles",)))


def _load(file: Path) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the config file: {exc.strerror or exc}", file) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(f"invalid YAML: {exc.problem or 'syntax error'}; check indentation, "
                          "quotes and brackets", file, mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file) from None
    lines: dict[tuple[str, ...], int] = {}
    if node is not None:
        _collect_lines(node, (), lines)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError("the config file must be a mapping with 'profiles:' (and optionally "
                          "'defaults:' and 'default_profile:')", file, 1)
    for key, value in document.items():
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(f"unknown top-level key {key!r}; the file holds "
                              f"{', '.join(TOP_LEVEL_KEYS)} (settings go inside a profile or "
                              "'defaults:')", file, lines.get((str(key),)))
        if key in ("defaults", "profiles") and value is not None and not isinstance(value, dict):
            raise ConfigError(f"{key!r} must be a mapping", file, lines.get((key,)))
    for name, body in (document.get("profiles") or {}).items():
        if body is not None and not isinstance(body, dict):
            raise ConfigError(f"profile {name!r} must be a mapping of settings", file,
                              lines.get(("profiles", str(name))))
    return document, lines


def _collect_lines(node: yaml.Node, path: tuple[str, ...],
                   lines: dict[tuple[str, ...], int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*path, str(key_node.value))
            lines[key] = key_node.start_mark.line + 1
            _collect_lines(value_node, key, lines)


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``top`` laid over it; nested mappings merge, anything else is replaced."""
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_dotenv_files(files: list[str] | str | None,
                      config_file: Path | None) -> tuple[Path, ...]:
    """Load the ``.env`` files a profile names (relative to the config file's folder) into the
    environment with python-dotenv's rules; variables already set win, as in dotenv."""
    if not files:
        return ()
    names = [files] if isinstance(files, str) else list(files)
    base = config_file.parent if config_file is not None else None
    loaded = []
    for name in names:
        path = Path(name).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_file():
            raise ConfigError(f"the profile's dotenv file {str(path)!r} does not exist; "
                              "create it or remove it from 'dotenv:'", config_file)
        load_dotenv(path, override=False)
        loaded.append(path)
    return tuple(loaded)
