"""``spine-tui --web``: serve the workbench to browsers through textual-serve, so a team can
look at it without a terminal session; each browser tab runs its own ``spine-tui`` process."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import shlex
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from aiohttp import web

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8566


def port_number(text: str) -> int:
    """Parse ``--port`` so a port outside 1-65535 is a usage error, not a bind traceback."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port


def app_command(paths: Sequence[str], db: Path, theme: str | None) -> str:
    """The shell command textual-serve runs for each browser session: this same CLI without
    ``--web``, with the already checked paths and store, so every tab sees the same catalog
    and records runs in the same store as the server was started with."""
    argv = [sys.executable, "-m", "spine_tui.cli", "--db", str(db.resolve())]
    if theme is not None:
        argv += ["--theme", theme]
    argv += [str(Path(p).resolve()) for p in paths]
    return shlex.join(argv)


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host``: anything else exposes the workbench,
    and textual-serve has no authentication."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_for(host: str, port: int) -> str:
    """The address to open in a browser, with an IPv6 host in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def same_origin(origin: str | None, host: str) -> bool:
    """Whether a websocket handshake comes from our own page: browsers send any site's
    ``Origin``, so without this check every web page the user opens could drive the workbench
    on localhost (clients that send no ``Origin`` are not browsers, and pass)."""
    return origin is None or urlsplit(origin).netloc.lower() == host.lower()


def check_address(host: str, port: int) -> str:
    """Why ``host:port`` cannot be listened on (empty when it can): probed before serving, so
    a busy port or unknown host is a one-line error and the URL is printed only when it works."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
            probe.bind(address)
    except OSError as exc:
        return f"cannot serve on {host}:{port}: {exc.strerror or exc}"
    return ""


def serve(command: str, host: str, port: int) -> int:
    """Serve ``command`` on ``host:port`` until Ctrl+C; returns the exit code (2 when the
    address cannot be listened on, e.g. a port already in use)."""
    problem = check_address(host, port)
    if problem:
        print(f"spine-tui: {problem}", file=sys.stderr)
        return 2
    from aiohttp.web import HTTPForbidden  # loaded only when --web is asked for
    from textual_serve.server import Server

    class WorkbenchServer(Server):
        """textual-serve's server, quiet at startup, serving pages that point back at the
        address the browser used (so a wildcard ``--host`` such as 0.0.0.0 works), and ending
        open sessions on Ctrl+C instead of waiting for their tabs to close."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.sessions: set[asyncio.Task[Any]] = set()

        async def on_startup(self, app: web.Application) -> None:
            """Print nothing: ``serve`` already printed the URL to open."""

        async def on_shutdown(self, app: web.Application) -> None:
            """Stop every session's app, which textual-serve does when a session is cancelled."""
            for session in self.sessions:
                session.cancel()
            await asyncio.gather(*self.sessions, return_exceptions=True)

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            """Run one browser session's app, remembered while it runs so shutdown can end it;
            a handshake from another site's page is refused."""
            if not same_origin(request.headers.get("Origin"), request.host):
                raise HTTPForbidden(text="spine-tui: websocket from another site refused")
            session = asyncio.current_task()
            assert session is not None  # aiohttp runs each request in a task
            self.sessions.add(session)
            try:
                return await super().handle_websocket(request)
            finally:
                self.sessions.discard(session)

        async def handle_index(self, request: web.Request) -> Any:
            """The page, with its websocket and static URLs on the host the browser asked
            for (textual-serve would use the bind address)."""
            # read back without an await in between, so concurrent requests cannot mix it up
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

    if not is_loopback(host):
        print(f"spine-tui: warning: serving on {host}, which is not loopback: anyone who can "
              "reach this port can browse workflows and run them (there is no login)",
              file=sys.stderr)
    print(f"spine-tui: serving the workbench on {url_for(host, port)} "
          "(open it in a browser; Ctrl+C stops)", flush=True)
    try:
        WorkbenchServer(command, host=host, port=port, title="spine-tui").serve()
    except OSError as exc:  # taken between the probe and the bind
        print(f"spine-tui: cannot serve on {host}:{port}: {exc}", file=sys.stderr)
        return 2
    return 0
