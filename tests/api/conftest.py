"""A real ``spine-engine serve`` on 127.0.0.1 (a subprocess on a free port) over a fresh store,
and the same app in-process for the many small request/response checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_server import RESOURCES, Served, start_server
from fastapi.testclient import TestClient

from spine_tui.server.app import create_app
from spine_tui.server.state import ServerConfig, ServerState, open_state


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = start_server(tmp_path)
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerState]:
    (tmp_path / "home").mkdir(exist_ok=True)
    monkeypatch.setenv("SPINE_HOME", str(tmp_path / "home"))
    server_state = open_state(ServerConfig.create([RESOURCES], db=tmp_path / "spine.db",
                                                  watch=False))
    server_state.start_background()
    yield server_state
    server_state.drain(grace=10)
    server_state.close()


@pytest.fixture
def client(state: ServerState) -> Iterator[TestClient]:
    with TestClient(create_app(state), raise_server_exceptions=False) as test_client:
        yield test_client
