"""``--metrics-port``: a long-running command (``run``, ``schedules run``) answers Prometheus
at ``http://127.0.0.1:PORT/metrics`` while it works — the store's run metrics plus the
metrics its own steps record, which no other process can see."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

import engine  # prometheus-client loads on first use, not with every command
from engine.store import RunStore

from ._io import CliError, Streams


def add_metrics_port_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics-port", type=_port, default=None, metavar="PORT",
        help="serve Prometheus metrics at http://127.0.0.1:PORT/metrics while the command "
             "runs (0 picks a free port, printed on stderr)")


@contextlib.contextmanager
def metrics_endpoint(args: argparse.Namespace, store: RunStore, io: Streams) -> Iterator[None]:
    """Serve ``/metrics`` for the block when ``--metrics-port`` was given."""
    port = getattr(args, "metrics_port", None)
    if port is None:
        yield
        return
    try:
        server = engine.serve_metrics(store.db, port)
    except OSError as exc:
        raise CliError(f"--metrics-port {port}: cannot listen on 127.0.0.1:{port} "
                       f"({exc.strerror or exc})",
                       hint="pick a free port, or 0 to let the system choose one") from None
    io.err_console.print(f"metrics at {server.url}", style="dim", soft_wrap=True)
    try:
        yield
    finally:
        server.close()


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (0-65535)")
    return value
