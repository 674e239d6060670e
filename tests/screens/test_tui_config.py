"""Settings come from SPINE_* variables, CLI flags override them, make_app applies them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from spine_tui.app import make_app
from spine_tui.config import SETTINGS, Settings


def test_settings_read_spine_environment_variables(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_PATHS", f"a{os.pathsep}b")
    monkeypatch.setenv("SPINE_DB", str(tmp_path / "r.db"))
    monkeypatch.setenv("SPINE_THEME", "nord")
    monkeypatch.setenv("SPINE_CURSOR_BLINK", "off")
    monkeypatch.setenv("SPINE_WATCH", "0")
    monkeypatch.setenv("SPINE_REFRESH_SECONDS", "2.5")
    settings = Settings()
    assert settings.paths == (Path("a"), Path("b"))
    assert settings.db == tmp_path / "r.db"
    assert settings.db_path == tmp_path / "r.db"
    assert settings.theme == "nord"
    assert settings.cursor_blink is False
    assert settings.watch is False
    assert settings.refresh_seconds == 2.5


def test_flags_override_the_environment_and_none_means_unset(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_DB", "env.db")
    settings = Settings.from_env(db=tmp_path / "flag.db", theme=None)
    assert settings.db == tmp_path / "flag.db"
    assert settings.theme == "textual-dark"


def test_the_default_store_is_the_one_spine_engine_uses(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    from engine.store.paths import resolve_db_path

    monkeypatch.delenv("SPINE_DB")
    monkeypatch.setenv("SPINE_HOME", str(tmp_path))
    assert Settings().db_path == tmp_path / "spine.db" == resolve_db_path(None)


def test_a_bad_value_is_a_validation_error_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_REFRESH_SECONDS", "soon")
    with pytest.raises(ValidationError, match="refresh_seconds"):
        Settings()


def test_make_app_applies_paths_and_db_and_publishes_the_settings(tmp_path: Path) -> None:
    app = make_app([tmp_path], db=tmp_path / "runs.db", settings=Settings(cursor_blink=False))
    assert app.settings.paths == (tmp_path,)
    assert app.settings.db_path == tmp_path / "runs.db"
    assert app.settings.cursor_blink is False
    assert SETTINGS.get() is app.settings


def test_an_unknown_theme_falls_back_instead_of_crashing() -> None:
    app = make_app(settings=Settings(theme="no-such-theme"))
    assert app.theme == "textual-dark"
