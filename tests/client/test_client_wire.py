"""The SDK's reading of the wire, over real bytes: error bodies, SSE framing, signatures.

Responses are built as ``httpx.Response`` objects from literal bytes; where a client method
is exercised, ``httpx.MockTransport`` only hands those bytes over (the server's behaviour
is tested end to end in ``tests/api``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import httpx
import pytest

from spine_client import (
    AsyncSpineClient,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ServerError,
    SpineAPIError,
    SpineClient,
    SpineError,
    UnprocessableEntityError,
    sign_webhook,
    verify_webhook,
)
from spine_client import _calls as calls
from spine_client._sse import EventDecoder, LineSplitter, ServerSentEvent, iter_events
from spine_client.errors import error_for_response

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: object) -> httpx.Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "instance": "/runs/r-1", **extra}
    return httpx.Response(status, content=json.dumps(body).encode(),
                          headers={"Content-Type": PROBLEM})


@pytest.mark.parametrize(("status", "kind"), [
    (400, BadRequestError), (401, AuthenticationError), (403, PermissionDeniedError),
    (404, NotFoundError), (409, ConflictError), (413, PayloadTooLargeError),
    (422, UnprocessableEntityError), (500, ServerError), (503, ServerError),
])
def test_each_error_status_maps_to_its_exception(status: int, kind: type) -> None:
    error = error_for_response(problem(status, "Some Title", "what went wrong"))
    assert type(error) is kind and isinstance(error, SpineAPIError | SpineError)
    assert error.status == status and error.problem.instance == "/runs/r-1"
    assert str(error) == f"{status} Some Title: what went wrong (/runs/r-1)"


def test_a_422_problem_keeps_its_field_errors() -> None:
    errors = [{"loc": ["body", "cron"], "msg": "bad cron field"}]
    error = error_for_response(problem(422, "Unprocessable Content", "body.cron: bad cron",
                                       errors=errors))
    assert isinstance(error, UnprocessableEntityError)
    assert error.errors == errors and error.detail == "body.cron: bad cron"


def test_a_status_without_its_own_class_is_the_base_error() -> None:
    error = error_for_response(problem(405, "Method Not Allowed", "use POST"))
    assert type(error) is SpineAPIError and error.title == "Method Not Allowed"


def test_a_body_that_is_not_a_problem_still_maps_by_status() -> None:
    html = httpx.Response(502, content=b"<html>bad gateway</html>",
                          headers={"Content-Type": "text/html"})
    error = error_for_response(html)
    assert isinstance(error, ServerError)
    assert error.problem.title == "Bad Gateway" and error.detail == "<html>bad gateway</html>"

    framework = error_for_response(httpx.Response(404, json={"detail": "Not Found"}))
    assert isinstance(framework, NotFoundError) and str(framework) == "404 Not Found: Not Found"

    validation = error_for_response(httpx.Response(422, json={"detail": [
        {"loc": ["query", "limit"], "msg": "Input should be less than 501"}]}))
    assert isinstance(validation, UnprocessableEntityError)
    assert validation.errors[0]["loc"] == ["query", "limit"]
    assert validation.detail == "Input should be less than 501"

    empty = error_for_response(httpx.Response(409, content=b""))
    assert isinstance(empty, ConflictError) and str(empty) == "409 Conflict"


def test_both_clients_raise_the_typed_error_of_a_response() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer key-1"
        return problem(404, "Not Found", f"no run {request.url.path.rsplit('/', 1)[-1]!r}")

    with SpineClient("http://spine", api_key="key-1",
                     transport=httpx.MockTransport(answer)) as client, \
            pytest.raises(NotFoundError, match="no run 'r-9'"):
        client.runs.get("r-9")

    async def main() -> None:
        async with AsyncSpineClient("http://spine", api_key="key-1",
                                    transport=httpx.MockTransport(answer)) as client:
            with pytest.raises(NotFoundError, match="no run 'r-9'"):
                await client.runs.get("r-9")

    asyncio.run(main())


# ---------------------------------------------------------------------- SSE framing
STREAM = (
    b": keepalive\n\n"
    b"event: log\ndata: {\"seq\": 1}\n\n"
    b"event: log\r\ndata: first\r\ndata: second\r\nid: 7\r\n\r\n"
    b"event: log\rdata:no-space\r\r"
    b"retry: 1500\n: a comment inside\ndata: x\n\n"
    b"event: ignored-without-data\n\n"
    b"event: end\ndata: {\"status\": \"completed\"}\n\n"
    b"event: log\ndata: cut off before its blank line"
)
EXPECTED = [
    ServerSentEvent("log", '{"seq": 1}'),
    ServerSentEvent("log", "first\nsecond", id="7"),
    ServerSentEvent("log", "no-space", id="7"),
    ServerSentEvent("message", "x", id="7", retry=1500),
    ServerSentEvent("end", '{"status": "completed"}', id="7", retry=1500),
]


def test_sse_framing_in_one_chunk() -> None:
    assert list(iter_events([STREAM])) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 16])
def test_sse_framing_does_not_depend_on_chunk_boundaries(size: int) -> None:
    chunks = [STREAM[i:i + size] for i in range(0, len(STREAM), size)]
    assert list(iter_events(chunks)) == EXPECTED


def test_sse_lines_split_only_at_cr_and_lf() -> None:
    """U+2028, U+0085 and form feeds are data (httpx's iter_lines would split at them)."""
    message = "a\u2028b\u0085c\x0cd é"
    data = json.dumps({"message": message}, ensure_ascii=False).encode()
    events = list(iter_events([b"\xef\xbb\xbfevent: log\ndata: " + data + b"\n\n"]))
    assert [json.loads(e.data)["message"] for e in events] == [message]
    assert events[0].event == "log"  # the byte order mark did not become part of the name


def test_line_splitter_holds_a_trailing_cr_for_a_possible_lf() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"one\r") == []
    assert splitter.feed(b"\ntwo\r") == ["one"]
    assert splitter.feed(b"three") == ["two"]
    assert splitter.flush() == ["three"]


def test_event_decoder_fields() -> None:
    decoder = EventDecoder()
    for line in ["data", "data:  two spaces", "id: a\0b", "retry: soon", "unknown: x"]:
        assert decoder.feed(line) is None
    assert decoder.feed("") == ServerSentEvent("message", "\n two spaces")


# ---------------------------------------------------------------------- webhooks
def test_sign_webhook_matches_a_known_hmac_sha256_vector() -> None:
    body = b"The quick brown fox jumps over the lazy dog"
    assert sign_webhook(body, "key") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    assert sign_webhook(body, b"key") == sign_webhook(body, "key")


def test_verify_webhook() -> None:
    body = b'{"ref": "main"}'
    good = sign_webhook(body, "s3cret")
    assert verify_webhook(body, "s3cret", good)
    assert not verify_webhook(body, "other", good)
    assert not verify_webhook(body + b" ", "s3cret", good)
    assert not verify_webhook(body, "s3cret", None)


def test_webhooks_send_signs_exactly_the_bytes_it_sends() -> None:
    call = calls.webhooks_send("git push", {"ref": "main", "n": [1, 2]}, "s3cret")
    assert call.path == "/webhooks/trigger/git%20push" and call.content is not None
    assert json.loads(call.content) == {"ref": "main", "n": [1, 2]}
    digest = hmac.new(b"s3cret", call.content, hashlib.sha256).hexdigest()
    assert call.headers["X-Spine-Signature"] == f"sha256={digest}"
    raw = calls.webhooks_send("hook", b'{"raw": true}', "k")
    assert raw.content == b'{"raw": true}'
    assert "X-Spine-Signature" not in calls.webhooks_send("hook", {}, None).headers
