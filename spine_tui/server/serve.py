"""Run the service: uvicorn for the API, plus the schedule loop and the trigger router, until
SIGTERM or Ctrl-C; then stop gracefully.

Shutdown order: take no new work (new runs answer 503; schedules and triggers stop firing),
let uvicorn finish the requests in flight, then ask each run this process started to stop at
its next step boundary (every finished step is already checkpointed) and wait up to the grace
period. A run stopped that way is recorded as cancelled by the shutdown and continues with
``spine-engine resume RUN_ID`` (or ``POST /runs/RUN_ID/resume``) from its last completed step;
a run still going when the grace period ends is recorded as interrupted when its process is
gone, and resumes the same way. Nothing stored is lost.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn

from .app import create_app
from .state import ServerConfig, ServerState, open_state

log = logging.getLogger("spine.serve")
LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})


class NotLoopbackError(ValueError):
    """``serve`` without any API key was asked to listen beyond this machine."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback
                       for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def check_exposure(state: ServerState) -> None:
    """Refuse to serve an open API (no key defined) on a host others can reach."""
    if not is_loopback(state.config.host) and not state.keys.any_active():
        raise NotLoopbackError(
            f"refusing to listen on {state.config.host}: no API key exists, so anyone who can "
            "reach that address could run and change workflows. Create one with `spine-engine "
            "apikey create NAME --scope admin`, or listen on 127.0.0.1")


class _Server(uvicorn.Server):
    """uvicorn's server, telling the state to take no new work as soon as a signal arrives."""

    def __init__(self, config: uvicorn.Config, state: ServerState) -> None:
        super().__init__(config)
        self.spine = state

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.spine.accepting:
            log.info("stopping: no new runs; waiting for requests and runs in flight")
            self.spine.stop_background()
        super().handle_exit(sig, frame)
        # uvicorn raises the signal again once it has stopped, which would kill this process
        # before the runs are drained: the drain and exit 0 are the handling of that signal
        self._captured_signals.clear()


def serve(config: ServerConfig, *, log_level: str = "info",
          on_ready: Callable[[ServerState], None] | None = None) -> list[str]:
    """Serve until stopped; returns the ids of runs the shutdown stopped (to resume)."""
    state = open_state(config)
    try:
        check_exposure(state)
        state.start_background()
        app = create_app(state)
        uv_config = uvicorn.Config(app, host=config.host, port=config.port,
                                   log_level=log_level, timeout_graceful_shutdown=5,
                                   access_log=log_level == "debug")
        server = _Server(uv_config, state)
        if on_ready is not None:
            on_ready(state)
        server.run()
        return state.drain()
    finally:
        state.close()
