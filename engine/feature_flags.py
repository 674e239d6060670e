"""``FeatureFlags``: named on/off switches with defaults, env overrides and scoped overrides.

Resolution order: an active ``override`` block, then ``FeatureFlags.set``, then the
environment variable ``SPINE_FEATURE_<NAME>`` (1/true/yes/on or 0/false/no/off), then the
registered default.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


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
        return flag.default

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
