"""``create_app``: the FastAPI application over one ``ServerState``.

Every route is mounted here with an explicit ``operation_id`` (the SDK declares one method per
operation, and a test keeps the two in step); bodies over ``max_body_bytes`` are refused with
413 before they are read into memory.
"""

from __future__ import annotations

from fastapi import FastAPI

from spine_tui import __version__

from . import problems
from .body_limit import BodyLimit
from .routes import health, logs, metrics, runs, schedules, triggers, workflows
from .state import ServerState

DESCRIPTION = """The HTTP API of spine workflows: run workflows, follow and control their
runs, manage definitions, versions and schedules. Errors are RFC 9457 problem details
(`application/problem+json`). Once an API key exists, send it as `Authorization: Bearer KEY`.
"""


def create_app(state: ServerState) -> FastAPI:
    """The API for ``state`` (its store, catalog, runner, schedules and triggers)."""
    app = FastAPI(title="spine", version=__version__, description=DESCRIPTION,
                  responses=problems.DOCUMENTED)
    app.state.spine = state
    problems.install(app)
    for module in (health, workflows, runs, logs, schedules, triggers, metrics):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, limit=state.config.max_body_bytes)
    return app
