"""API keys on requests: ``Authorization: Bearer KEY``, checked against the store's hashes.

With no key defined the server is open, which ``serve`` allows only on a loopback host; once
one key exists, every request needs a key (401 without one, 403 when its scope does not cover
the call). Scopes nest: ``read`` (GET), ``run`` (start and control runs), ``admin`` (change
workflows, versions and schedules). The webhook endpoint is signed with its trigger's secret
instead, and ``/health`` is open so a load balancer can probe it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from engine.store import ApiKeyRecord

from .problems import ApiProblem
from .state import ServerState

Scope = Literal["read", "run", "admin"]
bearer = HTTPBearer(auto_error=False, description="an API key from `spine-engine apikey create`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def requires(scope: Scope) -> Callable[..., Awaitable[ApiKeyRecord | None]]:
    """A dependency that lets a request through when its key covers ``scope``. It runs on the
    event loop, not a worker thread: "are keys defined" is cached and a key is one primary-key
    read (tens of µs), cheaper than the thread hop a sync dependency costs every request."""

    async def check(request: Request, credentials: Credentials) -> ApiKeyRecord | None:
        state: ServerState = request.app.state.spine
        if credentials is None:
            if not state.keys_defined():
                return None
            raise ApiProblem(401, "this server requires an API key: send `Authorization: "
                                  "Bearer KEY` (create one with `spine-engine apikey create`)",
                             headers={"WWW-Authenticate": "Bearer"})
        record = state.keys.verify(credentials.credentials)
        if record is None:
            raise ApiProblem(401, "the API key is unknown, malformed or revoked",
                             headers={"WWW-Authenticate": "Bearer"})
        if not record.allows(scope):
            raise ApiProblem(403, f"API key {record.name!r} has scope {record.scope!r}; this "
                                  f"call needs {scope!r} (or a wider scope)")
        return record

    return check


READ = Depends(requires("read"))
RUN = Depends(requires("run"))
ADMIN = Depends(requires("admin"))
