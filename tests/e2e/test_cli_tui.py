"""The ``spine-tui`` console script: honest --help, clear errors for bad paths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "spine-tui"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_help_explains_paths_and_that_db_is_not_used_yet() -> None:
    result = run("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "usage: spine-tui" in text
    assert "workflow files (.py, .yaml) or folders" in text
    assert "--db PATH" in text
    assert "does not read or write it yet" in text


def test_a_missing_path_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    result = run(str(tmp_path / "nope"))
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_version_flag() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("spine-tui ")
