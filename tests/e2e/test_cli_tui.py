"""The ``spine-tui`` console script: honest --help, clear errors for bad paths and stores."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "spine-tui"


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPINE_")}
    env["SPINE_HOME"] = str(home)
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          env=env)


def test_help_explains_paths_and_the_run_store(tmp_path: Path) -> None:
    result = run("--help", home=tmp_path)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "usage: spine-tui" in text
    assert "workflow files (.py, .yaml) or folders" in text
    assert "--db PATH" in text
    assert "the same file spine-engine uses" in text
    assert "spine.db" in text


def test_a_missing_path_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    result = run(str(tmp_path / "nope"), home=tmp_path)
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_db_file_is_refused_before_the_app_starts(tmp_path: Path) -> None:
    bad = tmp_path / "notes.db"
    bad.write_text("not a database")
    result = run("--db", str(bad), str(tmp_path), home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("spine-tui: ")
    assert str(bad) in result.stderr and "not a SQLite database" in result.stderr
    assert "Traceback" not in result.stderr
    assert bad.read_text() == "not a database"


def test_a_bad_setting_names_the_variable(tmp_path: Path) -> None:
    env_home = tmp_path
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPINE_")}
    env.update(SPINE_HOME=str(env_home), SPINE_REFRESH_SECONDS="soon")
    result = subprocess.run([str(SCRIPT), str(tmp_path)], capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 2
    assert "SPINE_REFRESH_SECONDS" in result.stderr and "Traceback" not in result.stderr


def test_version_flag(tmp_path: Path) -> None:
    result = run("--version", home=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("spine-tui ")
