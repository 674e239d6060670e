"""RFC 9457 problem details: every error the API answers is ``application/problem+json``.

Routes raise ``ApiProblem`` (or let an engine error through); the handlers here turn each into
a problem with the right status, so no request ever ends in a 500 with a traceback: anything
unexpected is logged with its traceback on the server and answered as a plain 500 problem.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from engine import (
    ArtifactError,
    DefinitionNotFoundError,
    ExpressionError,
    IllegalTransitionError,
    UnknownWorkflowError,
    WorkflowError,
)
from engine.store import StoreError, UnknownRunError
from spine_client.models import Problem

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)

TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          405: "Method Not Allowed", 406: "Not Acceptable", 409: "Conflict",
          413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content",
          500: "Internal Server Error", 503: "Service Unavailable"}


#: the problems every operation may answer, documented in the OpenAPI document (this also
#: replaces FastAPI's default 422 body with ours)
DOCUMENTED: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": TITLES[status],
             "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for status in (400, 401, 403, 404, 409, 413, 422, 503)}


class ApiProblem(Exception):
    """An error answered as a problem: ``status``, a ``detail`` saying what and how to fix."""

    def __init__(self, status: int, detail: str, *, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors, headers


def problem_response(request: Request, status: int, detail: str | None, *,
                     errors: list[dict[str, Any]] | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    body = Problem(title=TITLES.get(status, "Error"), status=status, detail=detail,
                   instance=request.url.path, errors=errors)
    return JSONResponse(jsonable_encoder(body.model_dump(exclude_none=True)), status_code=status,
                        media_type=PROBLEM_JSON, headers=headers)


def status_of(exc: Exception) -> int:
    """The HTTP status of an engine error a route let through."""
    if isinstance(exc, UnknownRunError | UnknownWorkflowError | DefinitionNotFoundError |
                  LookupError):
        return 404
    if isinstance(exc, IllegalTransitionError):
        return 409
    if isinstance(exc, ExpressionError | WorkflowError | ArtifactError | ValueError):
        return 422
    if isinstance(exc, StoreError):
        return 409
    return 500


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem."""

    @app.exception_handler(ApiProblem)
    async def _problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(request, exc.status, exc.detail, errors=exc.errors,
                                headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")}
                  for e in exc.errors()]
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return problem_response(request, 400, "the request body is not valid JSON",
                                    errors=errors)
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
        return problem_response(request, 422, where or "the request is not valid",
                                errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(request, exc.status_code, str(exc.detail),
                                headers=dict(exc.headers or {}))

    async def _engine(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(request, status_of(exc), str(exc))

    # the engine's own errors say what went wrong and how to fix it: answered as they are
    for kind in (WorkflowError, StoreError, IllegalTransitionError, ExpressionError,
                 ArtifactError, LookupError, ValueError):
        app.add_exception_handler(kind, _engine)

    @app.exception_handler(Exception)
    async def _other(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error answering %s %s", request.method, request.url.path,
                  exc_info=exc)
        return problem_response(request, 500, "unexpected server error; the server log "
                                "has the details")
