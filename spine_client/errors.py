"""Typed errors of the SDK, so callers catch ``NotFoundError`` instead of parsing status codes.

Every error the API answers is an RFC 9457 problem; ``SpineAPIError`` carries it whole
(``.problem``) and its ``str()`` says the status, title and detail. A body that is not a
problem (a proxy's HTML page, a framework's ``{"detail": ...}``) still maps by status, with
the best detail that can be read from it. Transport failures (refused connection, read
timeout) stay httpx's own exceptions, as in httpx.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx
from pydantic import ValidationError

from spine_client.models import Problem

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ChecksumMismatchError",
    "ConflictError",
    "LogStreamError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RunWaitTimeout",
    "ServerError",
    "SpineAPIError",
    "SpineError",
    "UnprocessableEntityError",
    "error_for_response",
]


class SpineError(Exception):
    """Base of every error this SDK raises itself, so one ``except`` catches them all."""


class SpineAPIError(SpineError):
    """The API answered with an error status; ``problem`` is its RFC 9457 body."""

    def __init__(self, status: int, problem: Problem) -> None:
        self.status = status
        self.problem = problem
        super().__init__(_describe(status, problem))

    @property
    def title(self) -> str:
        """The problem's short, status-level summary (e.g. ``Not Found``)."""
        return self.problem.title

    @property
    def detail(self) -> str | None:
        """What went wrong for this request, and usually how to fix it."""
        return self.problem.detail

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Per-field problems (``loc``, ``msg``) of a 400 or 422, else empty."""
        return self.problem.errors or []


class BadRequestError(SpineAPIError):
    """400: the request could not be read (e.g. a body that is not JSON)."""


class AuthenticationError(SpineAPIError):
    """401: no API key, or one the server does not know (or a bad webhook signature)."""


class PermissionDeniedError(SpineAPIError):
    """403: the API key's scope does not allow this operation."""


class NotFoundError(SpineAPIError):
    """404: no such workflow, run, step, artifact, schedule or trigger."""


class ConflictError(SpineAPIError):
    """409: the request clashes with the current state (e.g. pausing a finished run)."""


class PayloadTooLargeError(SpineAPIError):
    """413: the request body is larger than the server accepts."""


class UnprocessableEntityError(SpineAPIError):
    """422: the request was read but is invalid; ``errors`` lists the fields."""


class ServerError(SpineAPIError):
    """5xx: the server failed (its log has the traceback); retrying may help."""


class ChecksumMismatchError(SpineError):
    """A downloaded artifact's SHA-256 differs from the one the server announced."""

    def __init__(self, key: str, expected: str | None, actual: str) -> None:
        self.key, self.expected, self.actual = key, expected, actual
        if expected is None:
            message = (f"artifact {key!r}: the response has no X-Checksum-SHA256 header, "
                       "so its bytes cannot be verified")
        else:
            message = (f"artifact {key!r} is corrupt: SHA-256 {actual} does not match "
                       f"the server's {expected}")
        super().__init__(message)


class LogStreamError(SpineError):
    """A log stream kept closing without its ``end`` event, so the run's end is unknown."""


class RunWaitTimeout(SpineError, TimeoutError):
    """A run did not end within the wait; it is still going on the server."""

    def __init__(self, run_id: str, status: str, timeout: float) -> None:
        self.run_id, self.status, self.timeout = run_id, status, timeout
        super().__init__(f"run {run_id} did not end within {timeout:g}s "
                         f"(last status: {status})")


_BY_STATUS: dict[int, type[SpineAPIError]] = {
    400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError,
    404: NotFoundError, 409: ConflictError, 413: PayloadTooLargeError,
    422: UnprocessableEntityError,
}


def error_for_response(response: httpx.Response) -> SpineAPIError:
    """The typed error for an error response (its body must already be read)."""
    status = response.status_code
    problem = problem_of(response)
    kind = ServerError if status >= 500 else _BY_STATUS.get(status, SpineAPIError)
    return kind(status, problem)


def problem_of(response: httpx.Response) -> Problem:
    """The response's problem body, or one made up from its status and body text."""
    with contextlib.suppress(ValidationError):  # not a problem body: made up below
        return Problem.model_validate_json(response.content)
    title = response.reason_phrase or "Error"
    detail: str | None = response.text.strip()[:500] or None
    errors: list[dict[str, Any]] | None = None
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict):
        found = body.get("detail", body.get("message"))
        if isinstance(found, str):
            detail = found
        elif isinstance(found, list):  # FastAPI's default validation error
            errors = [e for e in found if isinstance(e, dict)]
            detail = "; ".join(str(e.get("msg", e)) for e in errors) or detail
        if isinstance(body.get("title"), str):
            title = body["title"]
    return Problem(title=title, status=response.status_code, detail=detail, errors=errors)


def _describe(status: int, problem: Problem) -> str:
    text = f"{status} {problem.title}"
    if problem.detail:
        text += f": {problem.detail}"
    if problem.instance:
        text += f" ({problem.instance})"
    return text
