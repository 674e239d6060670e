"""Settings of one workbench session, and the one place that knows where spine keeps files.

A frozen dataclass read from ``SPINE_*`` environment variables and overridden by CLI flags
(pydantic-settings is not a project dependency, so the variables are parsed here). The
active settings live in a context variable, as posting does, so screens can read them
without importing the app.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "SPINE_"
_FALSE = {"0", "false", "no", "off"}


def spine_home(environ: Mapping[str, str] | None = None) -> Path:
    """Folder for spine's own files: ``$SPINE_HOME``, else ``~/.spine``."""
    env = os.environ if environ is None else environ
    return Path(env.get("SPINE_HOME") or Path.home() / ".spine").expanduser()


def default_db_path(environ: Mapping[str, str] | None = None) -> Path:
    """Run-store file used when neither ``--db`` nor ``$SPINE_DB`` names one."""
    return spine_home(environ) / "spine.db"


@dataclass(frozen=True, slots=True)
class Settings:
    """Workbench settings; each field's environment variable is ``SPINE_<FIELD>``."""

    paths: tuple[Path, ...] = ()
    """Workflow files or folders to scan (``SPINE_PATHS``, os.pathsep-separated);
    empty means ``./workflows`` if it exists, else the bundled samples."""
    db: Path | None = None
    """Run-store SQLite file (``SPINE_DB``); None means ``default_db_path()``. Kept for the
    run store, which does not exist yet: nothing reads or writes it in this version."""
    theme: str = "textual-dark"
    """Textual theme name to start with (``SPINE_THEME``)."""
    cursor_blink: bool = True
    """Blink text cursors (``SPINE_CURSOR_BLINK``); tests turn it off for stable snapshots."""

    @property
    def db_path(self) -> Path:
        return self.db or default_db_path()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``SPINE_*`` variables, then ``overrides`` that are not None."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if env.get("SPINE_PATHS"):
            values["paths"] = tuple(Path(p) for p in env["SPINE_PATHS"].split(os.pathsep) if p)
        if env.get("SPINE_DB"):
            values["db"] = Path(env["SPINE_DB"]).expanduser()
        if env.get("SPINE_THEME"):
            values["theme"] = env["SPINE_THEME"]
        if env.get("SPINE_CURSOR_BLINK"):
            values["cursor_blink"] = env["SPINE_CURSOR_BLINK"].strip().lower() not in _FALSE
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_paths(self, paths: Sequence[str | Path]) -> Settings:
        return replace(self, paths=tuple(Path(p) for p in paths))


_DEFAULTS = Settings()  # frozen, so sharing it as the default is safe
SETTINGS: ContextVar[Settings] = ContextVar("spine_settings", default=_DEFAULTS)
"""The settings of the running app; ``make_app`` sets it."""
