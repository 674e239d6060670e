"""The run form's Dask scheduler check answers quickly: a well-formed address whose port
nobody listens on is refused by a short TCP connect, not after a Dask client's 10 s timeout."""

from __future__ import annotations

import socket
import time

import pytest

from engine import Step, Workflow
from spine_tui.services.executors import (
    CONNECT_SECONDS,
    ExecutorChoiceError,
    open_executor,
    reach_scheduler,
)


def _one() -> dict[str, int]:
    return {"one": 1}


def closed_port() -> int:
    """A port of 127.0.0.1 that was just free (bound, then released), so nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_scheduler_is_refused_within_the_short_check() -> None:
    address = f"tcp://127.0.0.1:{closed_port()}"
    wf = Workflow("reach.form", [Step.from_function("one", _one)])
    started = time.monotonic()
    with pytest.raises(ExecutorChoiceError) as caught:
        open_executor(wf, "dask", address)
    took = time.monotonic() - started
    assert took < CONNECT_SECONDS + 0.5, f"the form waited {took:.1f}s"
    message = str(caught.value)
    assert f"cannot reach the Dask scheduler at {address} within {CONNECT_SECONDS:g}s" in message
    assert "dask scheduler" in message


def test_a_listening_scheduler_port_passes_the_check() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        reach_scheduler(f"tcp://127.0.0.1:{server.getsockname()[1]}")  # returns: it answers
