"""A sidecar for tests: an HTTP server on $PORT answering /health with 200 and / with its name."""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        body = json.dumps({"sidecar": os.environ.get("SPINE_SIDECAR_NAME"),
                           "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return  # keep the job's log to what the test asserts


HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
