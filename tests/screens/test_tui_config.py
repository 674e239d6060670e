"""Settings come from SPINE_* variables, CLI flags override them, make_app applies them."""

from __future__ import annotations

import os
from pathlib import Path

from spine_tui.app import make_app
from spine_tui.config import SETTINGS, Settings, default_db_path, spine_home


def test_settings_read_spine_environment_variables(tmp_path: Path) -> None:
    env = {"SPINE_PATHS": f"a{os.pathsep}b", "SPINE_DB": str(tmp_path / "r.db"),
           "SPINE_THEME": "nord", "SPINE_CURSOR_BLINK": "off"}
    settings = Settings.from_env(env)
    assert settings.paths == (Path("a"), Path("b"))
    assert settings.db == tmp_path / "r.db"
    assert settings.theme == "nord"
    assert settings.cursor_blink is False


def test_flags_override_the_environment_and_none_means_unset(tmp_path: Path) -> None:
    settings = Settings.from_env({"SPINE_DB": "env.db"}, db=tmp_path / "flag.db", theme=None)
    assert settings.db == tmp_path / "flag.db"
    assert settings.theme == "textual-dark"


def test_default_db_lives_under_spine_home(tmp_path: Path) -> None:
    env = {"SPINE_HOME": str(tmp_path)}
    assert spine_home(env) == tmp_path
    assert default_db_path(env) == tmp_path / "spine.db"


def test_make_app_applies_paths_and_db_and_publishes_the_settings(tmp_path: Path) -> None:
    app = make_app([tmp_path], db=tmp_path / "runs.db", settings=Settings(cursor_blink=False))
    assert app.settings.paths == (tmp_path,)
    assert app.settings.db == tmp_path / "runs.db"
    assert app.settings.cursor_blink is False
    assert SETTINGS.get() is app.settings


def test_an_unknown_theme_falls_back_instead_of_crashing() -> None:
    app = make_app(settings=Settings(theme="no-such-theme"))
    assert app.theme == "textual-dark"
