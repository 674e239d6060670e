"""A tiny Vault-style secrets API on 127.0.0.1 for the F2 sample and its tests: answers
``GET /v1/secret/data/<name>`` with HashiCorp Vault's KV v2 shape when the
``X-Vault-Token`` header matches, 403 when it does not, 404 for unknown names."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/v1/secret/data/"

#: what the demo server holds when ``python -m sample_workflows.f2_vault_credentials`` starts it
DEMO_SECRETS = {
    "db_username": "sec_pipeline_svc",
    "db_password": "rotated-credential-2026-02",
    "api_key_bloomberg": "BBG-demo-0000-0000",
}
DEMO_TOKEN = "demo-vault-token"


@contextmanager
def serve_vault(secrets: Mapping[str, str], token: str) -> Iterator[str]:
    """Serve ``secrets`` on a free port of 127.0.0.1 in a thread; yields the base URL."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server API)
            requests.append(self.path)
            if self.headers.get("X-Vault-Token") != token:
                self._send(403, {"errors": ["permission denied"]})
            elif not self.path.startswith(PREFIX) or self.path[len(PREFIX):] not in secrets:
                self._send(404, {"errors": []})
            else:
                value = secrets[self.path[len(PREFIX):]]
                self._send(200, {"data": {"data": {"value": value}, "metadata": {"version": 1}}})

        def _send(self, status: int, body: object) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the sample's output is the workflow's report."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.requests = requests  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="demo-vault", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
