"""A stand-in Docker Engine for tests: the few API endpoints ``DockerAdapter`` calls, served
over a real unix socket and recorded, so the adapter's HTTP, multiplexed log frames and
image pulls are exercised where no Docker engine runs. It runs no containers: every
container "exits" with ``exit_code`` after printing ``LOG``."""

from __future__ import annotations

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

#: what every container prints: (stream, text)
LOG = [("stdout", "hello from docker\n"), ("stderr", "a warning\n"),
       ("stdout", '{"n": 1}\n')]


def frame(stream: str, text: str) -> bytes:
    data = text.encode()
    return bytes([2 if stream == "stderr" else 1, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


class FakeDocker(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path, *, images: set[str], pullable: set[str],
                 exit_code: int = 0) -> None:
        self.images, self.pullable, self.exit_code = set(images), set(pullable), exit_code
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.bodies: list[dict[str, Any]] = []
        super().__init__(str(path), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class Handler(BaseHTTPRequestHandler):
    server: FakeDocker
    protocol_version = "HTTP/1.1"

    def address_string(self) -> str:
        return "unix"

    def log_message(self, format: str, *args: object) -> None:
        return

    def reply(self, status: int, body: Any = None, raw: bytes | None = None) -> None:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method: str) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.calls.append((method, url.path, query))
        parts = url.path.strip("/").split("/")
        if url.path == "/_ping":
            return self.reply(200, raw=b"OK")
        if url.path == "/containers/create":
            if body["Image"] not in self.server.images:
                return self.reply(404, {"message": f"No such image: {body['Image']}"})
            self.server.bodies.append(body)
            return self.reply(201, {"Id": "c0ffee" * 10, "Warnings": []})
        if url.path == "/images/create":
            image = f"{query['fromImage']}:{query.get('tag', 'latest')}"
            if image in self.server.pullable:
                self.server.images.add(image)
                return self.reply(200, raw=b'{"status": "Pulling"}\n{"status": "Done"}\n')
            return self.reply(200, raw=b'{"error": "pull access denied for ' +
                              query["fromImage"].encode() + b'"}\n')
        if parts[0] == "containers" and len(parts) >= 2:
            action = parts[2] if len(parts) > 2 else ""
            if method == "POST" and action == "start":
                return self.reply(204)
            if method == "POST" and action == "wait":
                return self.reply(200, {"StatusCode": self.server.exit_code})
            if method == "POST" and action == "stop":
                return self.reply(204)
            if method == "GET" and action == "json":
                return self.reply(200, {"State": {
                    "Status": "exited", "ExitCode": self.server.exit_code, "OOMKilled": False,
                    "StartedAt": "2026-02-16T16:00:00.123456789Z",
                    "FinishedAt": "2026-02-16T16:00:01.5Z"}})
            if method == "GET" and action == "logs":
                return self.reply(200, raw=b"".join(frame(s, t) for s, t in LOG))
            if method == "DELETE":
                return self.reply(204)
        return self.reply(404, {"message": f"fake engine: no route {method} {url.path}"})

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.handle_any("GET")

    def do_POST(self) -> None:  # noqa: N802
        self.handle_any("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self.handle_any("DELETE")
