"""``GET /metrics``: Prometheus metrics of the run store (runs, steps, errors, alerts from every
process on it) and of this server's process (metrics its runs' steps recorded with
``counter``/``gauge``/``histogram``, Python and process metrics), in text format 0.0.4.

Like every read, it needs a ``read`` key once API keys exist; Prometheus sends one with
``authorization: {type: Bearer, credentials_file: ...}`` in its scrape config. It is left out
of the OpenAPI document (``include_in_schema=False``): a scrape endpoint is not part of the
API that the SDK mirrors.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from engine import METRICS_CONTENT_TYPE, metrics_text

from ..auth import READ
from ..state import ServerState

router = APIRouter(tags=["metrics"])


@router.get("/metrics", operation_id="metrics", dependencies=[READ], include_in_schema=False)
def metrics(request: Request) -> Response:
    state: ServerState = request.app.state.spine
    return Response(metrics_text(state.store, process=True), media_type=METRICS_CONTENT_TYPE)
