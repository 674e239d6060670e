"""``FeatureFlags``: named on/off switches with defaults, env overrides and scoped overrides.

Resolution order: an active ``override`` block, then ``FeatureFlags.set``, then the
environment variable ``SPINE_FEATURE_<NAME>`` (1/true/yes/on or 0/false/no/off), then the
value saved with ``FeatureFlags.persist`` (``spine-engine flags set``) in the flags file
(``$SPINE_FLAGS_FILE``, else ``$SPINE_HOME/flags.json``, read by every process), then the
registered default.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .store.paths import spine_home

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
FLAGS_FILE_ENV = "SPINE_FLAGS_FILE"


@dataclass(frozen=True, slots=True)
class FeatureFlag:
    name: str
    default: bool
    description: str = ""


class FeatureFlags:
    """Process-wide flag registry (class-level, like the spec's ``FeatureFlags.register``)."""

    _lock = threading.RLock()
    _flags: dict[str, FeatureFlag] = {}
    _values: dict[str, bool] = {}
    _overrides: dict[str, list[bool]] = {}

    @classmethod
    def register(cls, name: str, default: bool = False, description: str = "") -> FeatureFlag:
        with cls._lock:
            flag = FeatureFlag(name, bool(default), description)
            cls._flags[name] = flag
            return flag

    @classmethod
    def is_enabled(cls, name: str) -> bool:
        with cls._lock:
            flag = cls._flags.get(name)
            if flag is None:
                known = ", ".join(sorted(cls._flags)) or "none"
                raise KeyError(f"unknown feature flag {name!r} (registered: {known}); "
                               "call FeatureFlags.register(name, default=...) first")
            stack = cls._overrides.get(name)
            if stack:
                return stack[-1]
            if name in cls._values:
                return cls._values[name]
        env = os.environ.get(cls.env_var(name))
        if env is not None:
            value = env.strip().lower()
            if value in _TRUE:
                return True
            if value in _FALSE:
                return False
            raise ValueError(f"{cls.env_var(name)}={env!r} is not a boolean; use 1/0 or true/false")
        saved = cls.persisted().get(name)
        return flag.default if saved is None else saved

    @classmethod
    def source(cls, name: str) -> str:
        """Which layer decides ``name`` now: override, set, env, file or default."""
        cls._require(name)
        with cls._lock:
            if cls._overrides.get(name):
                return "override"
            if name in cls._values:
                return "set"
        if os.environ.get(cls.env_var(name)) is not None:
            return "env"
        return "file" if name in cls.persisted() else "default"

    @classmethod
    def flags(cls) -> list[FeatureFlag]:
        """The registered flags, by name."""
        with cls._lock:
            return [cls._flags[name] for name in sorted(cls._flags)]

    @staticmethod
    def flags_file() -> Path:
        """Where persisted values live: ``$SPINE_FLAGS_FILE``, else ``$SPINE_HOME/flags.json``."""
        env = os.environ.get(FLAGS_FILE_ENV)
        return Path(env).expanduser() if env else spine_home() / "flags.json"

    @classmethod
    def persisted(cls) -> dict[str, bool]:
        """The values saved in the flags file (re-read only when the file changes)."""
        return _read_flags_file(cls.flags_file())

    @classmethod
    def persist(cls, name: str, enabled: bool | None) -> Path:
        """Save ``name``'s value in the flags file for every process (None removes it);
        returns the file. Unregistered names are allowed: flags register when their
        workflow module loads, which need not be in this process."""
        path = cls.flags_file()
        with cls._lock:
            values = dict(_read_flags_file(path))
            if enabled is None:
                values.pop(name, None)
            else:
                values[name] = bool(enabled)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"flags": dict(sorted(values.items()))}, indent=2) + "\n",
                           encoding="utf-8")
            os.replace(tmp, path)
        return path

    @classmethod
    def set(cls, name: str, enabled: bool) -> None:
        cls._require(name)
        with cls._lock:
            cls._values[name] = bool(enabled)

    @classmethod
    def reset(cls, name: str | None = None) -> None:
        """Forget values set with ``set`` (for one flag, or all)."""
        with cls._lock:
            if name is None:
                cls._values.clear()
            else:
                cls._values.pop(name, None)

    @classmethod
    @contextmanager
    def override(cls, name: str, enabled: bool) -> Iterator[None]:
        cls._require(name)
        with cls._lock:
            cls._overrides.setdefault(name, []).append(bool(enabled))
        try:
            yield
        finally:
            with cls._lock:
                cls._overrides[name].pop()

    @classmethod
    def all(cls) -> dict[str, bool]:
        return {name: cls.is_enabled(name) for name in sorted(cls._flags)}

    @staticmethod
    def env_var(name: str) -> str:
        return "SPINE_FEATURE_" + "".join(c if c.isalnum() else "_" for c in name).upper()

    @classmethod
    def _require(cls, name: str) -> None:
        if name not in cls._flags:
            cls.is_enabled(name)  # raises the helpful KeyError


_file_cache: dict[str, tuple[tuple[int, int], dict[str, bool]]] = {}


def _read_flags_file(path: Path) -> dict[str, bool]:
    """The ``{"flags": {name: bool}}`` file's values; a missing file is empty, a broken one an
    error that names it."""
    try:
        stat = path.stat()
    except OSError:
        return {}
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _file_cache.get(str(path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"feature flags file {str(path)!r} is unreadable ({exc}); fix it or "
                         "delete it") from None
    flags = data.get("flags") if isinstance(data, dict) else None
    if not isinstance(flags, dict) or not all(isinstance(v, bool) for v in flags.values()):
        raise ValueError(f"feature flags file {str(path)!r} must hold "
                         '{"flags": {"name": true|false}}; fix it or delete it')
    _file_cache[str(path)] = (stamp, flags)
    return flags
