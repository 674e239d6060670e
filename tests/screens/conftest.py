"""Every TUI test gets its own run store and home under tmp_path (never ~/.spine), UTC
wall-clock times (snapshots show times), and no SPINE_* settings from the environment."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith("SPINE_"):
            monkeypatch.delenv(name)
    home = tmp_path / "spine-home"
    monkeypatch.setenv("SPINE_HOME", str(home))
    monkeypatch.setenv("SPINE_DB", str(home / "spine.db"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield home / "spine.db"
    monkeypatch.undo()
    time.tzset()
