"""``serve_metrics``: ``/metrics`` over HTTP for a long-running command that is not ``serve``
(``spine-engine run --metrics-port``, ``schedules run --metrics-port``), through
prometheus-client's own server thread, so Prometheus can scrape a run while it is going."""

from __future__ import annotations

from dataclasses import dataclass
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, start_http_server

from ..store.db import Database
from .exposition import Together
from .stored import StoreMetrics


@dataclass(frozen=True, slots=True)
class MetricsServer:
    """A running ``/metrics`` endpoint; ``close()`` stops it (a daemon thread otherwise)."""

    server: WSGIServer
    thread: Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    @property
    def url(self) -> str:
        host = str(self.server.server_address[0])
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def serve_metrics(db: Database, port: int, host: str = "127.0.0.1") -> MetricsServer:
    """Serve the store's metrics and this process's registry (step metrics, Python and
    process metrics) at ``http://host:port/metrics``; ``port=0`` picks a free port. Each
    scrape reads the store on the server's thread (its own connection). Loopback by default:
    the endpoint has no authentication, unlike ``serve``'s."""
    server, thread = start_http_server(port, addr=host,
                                       registry=Together(StoreMetrics(db), REGISTRY))
    return MetricsServer(server, thread)
