"""The multi-request helpers: following a log stream, verified downloads, waiting for a run.

Their state machines (``LogFollow``, ``DownloadSink``, ``Waiter``) are tested directly; the
log stream also through both clients, with ``httpx.MockTransport`` serving literal SSE
bytes, to pin the framing and reconnection (the real server is ``tests/api``'s business).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from spine_client import (
    AsyncSpineClient,
    ChecksumMismatchError,
    LogEntry,
    LogStreamError,
    RunResult,
    RunStatusResponse,
    RunWaitTimeout,
    SpineClient,
)
from spine_client._flows import DownloadSink, LogFollow, Waiter
from spine_client._sse import ServerSentEvent


def log_event(seq: int, message: str, step: str | None = "load[0]") -> bytes:
    entry = {"seq": seq, "step": step, "at": "2026-02-16T08:00:00Z", "stream": "stdout",
             "level": "INFO", "message": message}
    return b"event: log\ndata: " + json.dumps(entry).encode() + b"\n\n"


END = b'event: end\ndata: {"status": "completed"}\n\n'


class Streams:
    """Serves one prepared SSE body per connection and records each request's query."""

    def __init__(self, *bodies: bytes) -> None:
        self.bodies = list(bodies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = self.bodies.pop(0)
        chunks = [body[i:i + 5] for i in range(0, len(body), 5)]
        return httpx.Response(200, headers={"Content-Type": "text/event-stream"},
                              stream=httpx.ByteStream(b"".join(chunks)))

    @property
    def after_seqs(self) -> list[str | None]:
        return [r.url.params.get("after_seq") for r in self.requests]


def test_following_logs_yields_lines_until_the_end_event() -> None:
    streams = Streams(b": keepalive\n\n" + log_event(1, "start") + log_event(2, "a\u2028b")
                      + END + log_event(3, "never read"))
    with SpineClient("http://spine", transport=httpx.MockTransport(streams)) as client:
        lines = list(client.runs.logs("r-1", step="load[0]", follow=True))
    assert [(e.seq, e.message) for e in lines] == [(1, "start"), (2, "a\u2028b")]
    assert (streams.requests[0].url.raw_path
            == b"/runs/r-1/steps/load%5B0%5D/logs/stream?after_seq=0")
    assert streams.requests[0].headers["Accept"] == "text/event-stream"


def test_a_stream_that_closes_early_is_reconnected_after_the_last_line() -> None:
    streams = Streams(log_event(1, "one") + log_event(2, "two"),
                      log_event(2, "two again") + log_event(3, "three") + END)
    with SpineClient("http://spine", transport=httpx.MockTransport(streams)) as client:
        lines = list(client.runs.logs("r-1", follow=True))
    assert [e.message for e in lines] == ["one", "two", "three"]
    assert streams.after_seqs == ["0", "2"]


def test_a_stream_that_keeps_closing_without_lines_raises() -> None:
    streams = Streams(log_event(1, "one"), b": keepalive\n\n", b"", b"")
    with SpineClient("http://spine", transport=httpx.MockTransport(streams)) as client, \
            pytest.raises(LogStreamError, match="run r-1 closed 3 times"):
        list(client.runs.logs("r-1", follow=True))
    assert streams.after_seqs == ["0", "1", "1", "1"]


def test_the_async_client_follows_logs_the_same_way() -> None:
    streams = Streams(log_event(1, "one"), log_event(2, "two") + END)

    async def main() -> list[str]:
        async with AsyncSpineClient("http://spine",
                                    transport=httpx.MockTransport(streams)) as client:
            return [entry.message async for entry in client.runs.logs("r-1", follow=True)]

    assert asyncio.run(main()) == ["one", "two"]
    assert streams.after_seqs == ["0", "1"]


def test_log_follow_state() -> None:
    follow = LogFollow("r-1", None)
    assert follow.params() == {"after_seq": 0}
    entry = follow.handle(ServerSentEvent("log", log_event(4, "x").split(b"data: ")[1].decode()))
    assert isinstance(entry, LogEntry) and entry.at == datetime(2026, 2, 16, 8, tzinfo=UTC)
    assert follow.handle(ServerSentEvent("progress", "{}")) is None
    assert not follow.ended and follow.params() == {"after_seq": 4}
    assert follow.handle(ServerSentEvent("end", '{"status": "failed"}')) is None
    assert follow.ended and follow.final_status == "failed"


# ---------------------------------------------------------------------- downloads
DATA = b"id,value\n1,2\n" * 100
SHA = hashlib.sha256(DATA).hexdigest()


def feed(sink: DownloadSink, data: bytes) -> bytes | Path:
    for i in range(0, len(data), 64):
        sink.write(data[i:i + 64])
    return sink.finish()


def test_a_verified_download_returns_bytes_or_a_file(tmp_path: Path) -> None:
    assert feed(DownloadSink("out/data.csv", SHA.upper(), None), DATA) == DATA
    target = feed(DownloadSink("out/data.csv", SHA, tmp_path / "copy.csv"), DATA)
    assert target == tmp_path / "copy.csv" and target.read_bytes() == DATA
    into_dir = feed(DownloadSink("out/data.csv", SHA, tmp_path), DATA)
    assert into_dir == tmp_path / "data.csv" and into_dir.read_bytes() == DATA
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.csv", "data.csv"]


def test_a_corrupt_download_raises_and_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(ChecksumMismatchError, match="is corrupt") as caught:
        feed(DownloadSink("data.csv", SHA, tmp_path / "data.csv"), DATA[:-1] + b"X")
    assert caught.value.expected == SHA and caught.value.actual != SHA
    with pytest.raises(ChecksumMismatchError, match="no X-Checksum-SHA256 header"):
        feed(DownloadSink("data.csv", None, None), DATA)
    assert list(tmp_path.iterdir()) == []


def test_a_download_replaces_an_existing_file_only_once_verified(tmp_path: Path) -> None:
    target = tmp_path / "data.csv"
    target.write_bytes(b"old")
    with pytest.raises(ChecksumMismatchError):
        feed(DownloadSink("data.csv", SHA, target), b"corrupt")
    assert target.read_bytes() == b"old"
    feed(DownloadSink("data.csv", SHA, target), DATA)
    assert target.read_bytes() == DATA


# ---------------------------------------------------------------------- waiting
def status(value: str) -> RunStatusResponse:
    return RunStatusResponse(run_id="r-1", workflow_name="daily_etl", status=value,
                             progress=1.0 if value == "completed" else 0.5)


def test_the_waiter_stops_at_an_ended_status_and_times_out_naming_the_run() -> None:
    waiter = Waiter("r-1", timeout=0.05, poll=0.01)
    assert not waiter.ended(status("running"))
    assert 0 < waiter.pause() <= 0.01
    assert waiter.ended(status("failed"))
    late = Waiter("r-2", timeout=0, poll=0.25)
    late.ended(status("paused"))
    with pytest.raises(TimeoutError, match="run r-2 did not end within 0s .last status: paused"):
        late.pause()
    with pytest.raises(RunWaitTimeout):
        late.pause()
    with pytest.raises(ValueError):
        Waiter("r-3", timeout=1, poll=0)


def test_run_result_keeps_the_spec_s_shape() -> None:
    run = status("completed")
    result = RunResult.ended_with(run, {"extract": {"rows": 3}})
    assert (result.status, result.outputs) == ("completed", {"extract": {"rows": 3}})
    assert result.ok and result.ended and result.run is run and result.run_id == "r-1"
