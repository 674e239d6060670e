"""What the sync and async clients share: a request described once as a ``Call``.

A call builder (in ``_calls``) turns a method's arguments into a ``Call`` — method, path,
query, body and a parser of the response — without doing any I/O. ``SpineClient`` sends it
with ``httpx.Client`` and ``AsyncSpineClient`` with ``httpx.AsyncClient``, so both clients
build the same requests and read the same responses.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

from spine_client.errors import error_for_response

__all__ = [
    "ENDED_STATUSES",
    "Call",
    "declared",
    "operation",
    "path",
    "query",
    "raise_for_status",
    "sign_webhook",
    "verify_webhook",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)

OPERATIONS_ATTR = "__spine_operations__"
SIGNATURE_HEADER = "X-Spine-Signature"
CHECKSUM_HEADER = "X-Checksum-SHA256"
ENDED_STATUSES = frozenset({"completed", "failed", "cancelled", "skipped", "interrupted"})
"""Run statuses after which nothing more happens unless someone retries or resumes."""


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP request to make and how to read its successful response."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def operation(*operation_ids: str) -> Callable[[F], F]:
    """Declares which API operations a function covers, so tests can check none is missing."""

    def mark(function: F) -> F:
        setattr(function, OPERATIONS_ATTR, tuple(operation_ids))
        return function

    return mark


def declared(member: object) -> tuple[str, ...]:
    """The operations a method or call builder declares (empty for plain helpers)."""
    found = getattr(member, OPERATIONS_ATTR, ())
    return tuple(found) if isinstance(found, tuple) else ()


# ---------------------------------------------------------------------- request pieces
def path(template: str, *segments: str | int) -> str:
    """``template`` with each ``{}`` filled by a URL-quoted path segment.

    Step names hold ``.``, ``[`` and ``]``; a segment of only dots is escaped too, or
    httpx would resolve ``..`` away.
    """
    return template.format(*(_segment(str(s)) for s in segments))


def key_path(key: str) -> str:
    """An artifact key as a path: its ``/`` kept as separators, each part quoted."""
    return "/".join(_segment(part) for part in key.split("/"))


def _segment(text: str) -> str:
    quoted = quote(text, safe="")
    return quoted.replace(".", "%2E") if set(text) == {"."} else quoted


def query(**values: Any) -> dict[str, Any]:
    """Query parameters without the ``None`` ones; datetimes as ISO 8601 (naive ones as UTC)."""
    result: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            value = value.isoformat()
        result[name] = value
    return result


# ---------------------------------------------------------------------- response parsers
def parse_model(model: type[M]) -> Callable[[httpx.Response], M]:
    """A parser of a JSON body into ``model``."""
    return lambda response: model.model_validate_json(response.content)


def parse_list(model: type[M]) -> Callable[[httpx.Response], list[M]]:
    """A parser of a JSON array of ``model``."""
    adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
    return lambda response: adapter.validate_json(response.content)


def parse_json(response: httpx.Response) -> Any:
    """The JSON body as plain data."""
    return response.json()


def parse_text(response: httpx.Response) -> str:
    """The body as text (e.g. a YAML export)."""
    return response.text


def parse_nothing(response: httpx.Response) -> None:
    """Nothing to read (``204 No Content``)."""
    return None


def raise_for_status(response: httpx.Response) -> None:
    """Raise the typed ``SpineAPIError`` of an error response (its body must be read)."""
    if response.is_error:
        raise error_for_response(response)


# ---------------------------------------------------------------------- webhooks
def sign_webhook(body: bytes, secret: str | bytes) -> str:
    """The ``X-Spine-Signature`` value of ``body``: ``sha256=`` and its hex HMAC-SHA256."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_webhook(body: bytes, secret: str | bytes, signature: str | None) -> bool:
    """Whether ``signature`` is the one ``sign_webhook`` gives, compared in constant time."""
    if not signature:
        return False
    return hmac.compare_digest(sign_webhook(body, secret), signature.strip())
