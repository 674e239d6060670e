"""Refuse request bodies over the limit with 413, before they are read into memory.

A pure ASGI middleware: a declared ``Content-Length`` over the limit is refused at once, and a
body sent without one (chunked) is counted as it arrives and refused once it passes the limit,
so neither way gets a large body past the server.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spine_client.models import Problem

from .problems import PROBLEM_JSON, TITLES


class BodyTooLarge(Exception):
    """Raised inside the app's ``receive`` when a chunked body passes the limit."""


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _refuse(scope, send, 400, "the Content-Length header is not a number")
                return
            if int(declared) > self.limit:
                await _refuse(scope, send, 413, f"the request body is {int(declared)} bytes; "
                                                f"the limit is {self.limit} bytes")
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if not started:
                await _refuse(scope, send, 413, f"the request body passed the limit of "
                                                f"{self.limit} bytes")


async def _refuse(scope: Scope, send: Send, status: int, detail: str) -> None:
    body: dict[str, Any] = Problem(title=TITLES[status], status=status, detail=detail,
                                   instance=scope.get("path")).model_dump(exclude_none=True)
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
