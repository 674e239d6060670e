"""A small server-sent events parser (WHATWG HTML §9.2), written here rather than depended on.

Lines end at CR, LF or CRLF only. httpx's ``iter_lines`` also splits at U+2028, U+0085 and
the like (``str.splitlines``), which a log message may hold unescaped inside its JSON, so
the stream is split here from raw bytes and each line decoded as UTF-8 on its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass

__all__ = ["EventDecoder", "LineSplitter", "ServerSentEvent", "aiter_events", "iter_events"]


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched event: its type (``message`` unless named), data and last id."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class LineSplitter:
    """Splits a byte stream into lines at CR, LF or CRLF, even when a CRLF spans two chunks."""

    def __init__(self) -> None:
        self._buffer = b""
        self._first = True

    def feed(self, chunk: bytes) -> list[str]:
        """The lines completed by ``chunk`` (a trailing CR waits for a possible LF)."""
        data = self._buffer + chunk
        lines: list[str] = []
        start = 0
        while True:
            cr, lf = data.find(b"\r", start), data.find(b"\n", start)
            if cr == -1 and lf == -1:
                break
            if cr != -1 and (lf == -1 or cr < lf):
                if cr + 1 == len(data):  # a CR at the end: the LF may come next
                    break
                end, start_next = cr, cr + (2 if data[cr + 1:cr + 2] == b"\n" else 1)
            else:
                end, start_next = lf, lf + 1
            lines.append(self._decode(data[start:end]))
            start = start_next
        self._buffer = data[start:]
        return lines

    def flush(self) -> list[str]:
        """The last line, if the stream ended without a line break."""
        rest, self._buffer = self._buffer, b""
        if rest.endswith(b"\r"):
            rest = rest[:-1]
        return [self._decode(rest)] if rest else []

    def _decode(self, raw: bytes) -> str:
        if self._first:
            self._first = False
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # a byte order mark starts no field
        return raw.decode("utf-8", errors="replace")


class EventDecoder:
    """Turns lines into events: ``field: value`` lines accumulate, a blank line dispatches."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        """The event this line completes, or ``None`` while one is still being built."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):  # a comment, e.g. ``: keepalive``
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._last_id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        event, data = self._event or "message", self._data
        self._event, self._data = "", []
        if not data:  # an event with no data is dropped, as browsers do
            return None
        return ServerSentEvent(event=event, data="\n".join(data), id=self._last_id,
                               retry=self._retry)


def iter_events(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """The events of a byte stream, as they complete; an unfinished last event is dropped."""
    splitter, decoder = LineSplitter(), EventDecoder()
    for chunk in chunks:
        for line in splitter.feed(chunk):
            if (event := decoder.feed(line)) is not None:
                yield event
    # an event still open at the end of the stream is never dispatched (no blank line)


async def aiter_events(chunks: AsyncIterable[bytes]) -> AsyncIterator[ServerSentEvent]:
    """``iter_events`` over an async byte stream."""
    splitter, decoder = LineSplitter(), EventDecoder()
    async for chunk in chunks:
        for line in splitter.feed(chunk):
            if (event := decoder.feed(line)) is not None:
                yield event
    # an event still open at the end of the stream is never dispatched (no blank line)
