"""Start a real ``spine-engine serve`` on 127.0.0.1 (a subprocess on a free port) for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

RESOURCES = Path(__file__).resolve().parent.parent / "resources" / "api"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """A running server: its URL, process, store file and home folder."""

    url: str
    process: subprocess.Popen[str]
    db: Path
    home: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> tuple[int, str]:
        """Send ``sig`` and wait; returns the exit status and everything it printed."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        out, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, out


def start_server(tmp_path: Path, *args: str, paths: tuple[str, ...] = (str(RESOURCES),),
                 env: dict[str, str] | None = None) -> Served:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    db = tmp_path / "spine.db"
    port = free_port()
    environment = {**os.environ, "SPINE_HOME": str(home), "SPINE_DB": str(db),
                   "PYTHONUNBUFFERED": "1", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "spine_tui.engine_cli", "serve", *paths, "--port", str(port),
         "--log-level", "warning", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment,
        start_new_session=True)
    served = Served(f"http://127.0.0.1:{port}", process, db, home)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited {process.returncode}: {process.stdout.read()}")
        try:
            if httpx.get(f"{served.url}/health", timeout=1).status_code == 200:
                return served
        except httpx.TransportError:
            time.sleep(0.05)
    served.stop(signal.SIGKILL)
    raise AssertionError("serve did not answer /health within 60 s")
