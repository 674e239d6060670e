"""A run's log lines (and one step's): a page at a time, or followed live as server-sent events.

The stream polls the store, like ``spine-engine logs --follow`` and the workbench's log tail,
so it follows a run started by any process on this store, not only by this server. Each line
is an ``event: log`` whose data is a ``LogEntry``; once the run has ended and its last line
was sent, one ``event: end`` carries the run's status and the stream closes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from engine import LIVE_STATUSES
from engine.store import LogRecord
from spine_client.models import LogEntry, LogPage

from ..auth import READ
from ..state import ServerState
from .runs import find_run

router = APIRouter(prefix="/runs", tags=["logs"])
POLL_SECONDS = 0.2
KEEPALIVE_SECONDS = 15.0
BATCH = 500
AfterSeq = Annotated[int, Query(ge=0, le=2**62)]
Limit = Annotated[int, Query(ge=1, le=5000)]
SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}}


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.spine
    return state


@router.get("/{run_id}/logs", operation_id="runs_logs", dependencies=[READ])
def run_logs(request: Request, run_id: str, after_seq: AfterSeq = 0,
             limit: Limit = 1000) -> LogPage:
    """Log lines of the run (all its steps), after ``after_seq``."""
    return _page(_state(request), run_id, None, after_seq, limit)


@router.get("/{run_id}/steps/{step}/logs", operation_id="runs_step_logs", dependencies=[READ])
def step_logs(request: Request, run_id: str, step: str, after_seq: AfterSeq = 0,
              limit: Limit = 1000) -> LogPage:
    return _page(_state(request), run_id, step, after_seq, limit)


@router.get("/{run_id}/logs/stream", operation_id="runs_logs_stream", dependencies=[READ],
            response_class=StreamingResponse, responses=SSE)
def run_logs_stream(request: Request, run_id: str, after_seq: AfterSeq = 0
                    ) -> StreamingResponse:
    """The run's log lines as server-sent events, live until the run ends."""
    state = _state(request)
    return _stream(request, state, find_run(state, run_id).run_id, None, after_seq)


@router.get("/{run_id}/steps/{step}/logs/stream", operation_id="runs_step_logs_stream",
            dependencies=[READ], response_class=StreamingResponse, responses=SSE)
def step_logs_stream(request: Request, run_id: str, step: str, after_seq: AfterSeq = 0
                     ) -> StreamingResponse:
    state = _state(request)
    return _stream(request, state, find_run(state, run_id).run_id, step, after_seq)


def _page(state: ServerState, run_id: str, step: str | None, after_seq: int,
          limit: int) -> LogPage:
    record = find_run(state, run_id)
    lines = state.store.logs(record.run_id, step=step, after_seq=after_seq, limit=limit)
    finished = record.status not in LIVE_STATUSES
    return LogPage(items=[_entry(line) for line in lines],
                   next_seq=lines[-1].seq if lines else after_seq, finished=finished)


def _entry(line: LogRecord) -> LogEntry:
    return LogEntry(seq=line.seq, step=line.step, at=line.at, stream=line.stream,
                    level=line.level, message=line.message)


def _read(state: ServerState, run_id: str, step: str | None, after_seq: int) -> list[LogRecord]:
    return state.store.logs(run_id, step=step, after_seq=after_seq, limit=BATCH)


def _stream(request: Request, state: ServerState, run_id: str, step: str | None,
            after_seq: int) -> StreamingResponse:
    async def events() -> AsyncIterator[str]:
        seq, quiet_since = after_seq, time.monotonic()
        while True:
            # the status is read before the lines: a line written before the run ended is
            # then always sent before the end event
            status = (await to_thread.run_sync(state.store.get_run, run_id)).status
            lines = await to_thread.run_sync(_read, state, run_id, step, seq)
            for line in lines:
                seq = line.seq
                yield f"event: log\nid: {line.seq}\ndata: {_entry(line).model_dump_json()}\n\n"
            if lines:
                quiet_since = time.monotonic()
                if len(lines) == BATCH:
                    continue
            if status not in LIVE_STATUSES:
                yield f'event: end\ndata: {{"status": "{status.value}"}}\n\n'
                return
            if await request.is_disconnected():
                return
            if time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                quiet_since = time.monotonic()
                yield ": keepalive\n\n"
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
