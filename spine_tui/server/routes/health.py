"""``GET /health``: is the server up, and what is it serving (open: no key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from engine import LIVE_STATUSES
from spine_client.models import HealthResponse
from spine_tui import __version__

from ..state import ServerState

router = APIRouter(tags=["health"])


@router.get("/health", operation_id="health")
def health(request: Request) -> HealthResponse:
    state: ServerState = request.app.state.spine
    catalog = state.catalog.current()
    marks = ",".join("?" * len(LIVE_STATUSES))
    live = state.store.db.scalar(f"SELECT count(*) FROM runs WHERE status IN ({marks})",
                                 [s.value for s in LIVE_STATUSES])
    schedules = state.store.db.scalar("SELECT count(*) FROM schedules WHERE enabled = 1")
    triggers = len(state.triggers.triggers) if state.triggers is not None else 0
    return HealthResponse(version=__version__, store=str(state.config.db_path),
                          workflows=len(catalog), load_errors=len(catalog.errors),
                          live_runs=int(live or 0), schedules=int(schedules or 0),
                          triggers=triggers, auth=state.keys_defined(),
                          triggers_ready=state.triggers is not None and state.triggers.ready)
