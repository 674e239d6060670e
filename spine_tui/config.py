"""Settings of one workbench session: one pydantic-settings class read from ``SPINE_*``.

Paths are owned by ``engine.store.paths`` (``--db``, else ``$SPINE_DB``, else
``$SPINE_HOME/spine.db``); this module only resolves them through it, so the TUI and
``spine-engine`` always open the same file. The active settings live in a context variable,
as posting does, so screens can read them without importing the app.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from engine.store import default_db_path, resolve_db_path

__all__ = ["SETTINGS", "Settings", "default_db_path"]


class Settings(BaseSettings):
    """Workbench settings; each field's environment variable is ``SPINE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="SPINE_", frozen=True, extra="ignore",
                                      env_ignore_empty=True)

    paths: Annotated[tuple[Path, ...], NoDecode] = Field(
        default=(), description="Workflow files or folders to scan and watch (SPINE_PATHS, "
        "os.pathsep-separated); empty means ./workflows if it exists, else the samples.")
    db: Path | None = Field(
        default=None, description="Run-store SQLite file (SPINE_DB); None means "
        "$SPINE_HOME/spine.db, as for spine-engine.")
    theme: str = Field(default="textual-dark",
                       description="Textual theme to start with (SPINE_THEME).")
    cursor_blink: bool = Field(
        default=True, description="Blink text cursors (SPINE_CURSOR_BLINK); tests turn it "
        "off so snapshots do not depend on timing.")
    watch: bool = Field(
        default=True, description="Reload workflow files when they change on disk "
        "(SPINE_WATCH).")
    refresh_seconds: float = Field(
        default=1.0, gt=0, description="How often the runs screen and run detail re-read "
        "the store (SPINE_REFRESH_SECONDS).")

    @field_validator("paths", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(Path(p).expanduser() for p in value.split(os.pathsep) if p)
        return value

    @field_validator("db", mode="before")
    @classmethod
    def _expand_db(cls, value: Any) -> Any:
        return Path(value).expanduser() if isinstance(value, str) and value else value

    @property
    def db_path(self) -> Path:
        """The run-store file this session reads and writes."""
        return resolve_db_path(self.db)

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Settings from ``SPINE_*`` variables, then ``overrides`` that are not None (flags)."""
        return cls(**{k: v for k, v in overrides.items() if v is not None})

    def with_paths(self, paths: Sequence[str | Path]) -> Settings:
        return self.model_copy(update={"paths": tuple(Path(p) for p in paths)})

    def with_db(self, db: str | Path | None) -> Settings:
        return self.model_copy(update={"db": Path(db) if db is not None else None})


SETTINGS: ContextVar[Settings | None] = ContextVar("spine_settings", default=None)
"""The settings of the running app; ``make_app`` sets it."""


def current_settings() -> Settings:
    """The running app's settings, or fresh ones from the environment."""
    settings = SETTINGS.get()
    return settings if settings is not None else Settings()
