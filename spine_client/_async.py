"""``AsyncSpineClient``: the asyncio client over ``httpx.AsyncClient``, mirroring ``_sync``.

The same call builders are bound with an awaiting ``endpoint``; the multi-request helpers
are ``_sync``'s, line for line, with ``await``/``async for`` (their logic is in ``_flows``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, overload

import httpx

from spine_client import _calls as calls
from spine_client._base import (
    client_headers,
    covered_operations,
    method_signature,
    stream_timeout,
)
from spine_client._core import CHECKSUM_HEADER, Call, operation, raise_for_status
from spine_client._flows import DownloadSink, LogFollow, RunResult, Waiter
from spine_client._sse import aiter_events
from spine_client.models import LogEntry, RunStatusResponse, RunSummary

__all__ = ["AsyncSpineClient"]

P = ParamSpec("P")
T = TypeVar("T")


class _Sender(Protocol):
    def _send(self, call: Call[T]) -> Awaitable[T]: ...


class endpoint(Generic[P, T]):
    """Binds a call builder as a coroutine method that sends its call and returns the parsed
    response."""

    def __init__(self, build: Callable[P, Call[T]]) -> None:
        self.build = build
        self.__spine_operations__ = getattr(build, "__spine_operations__", ())
        self.__doc__ = build.__doc__
        self.signature = method_signature(build)
        self.qualname = build.__name__

    def __set_name__(self, kind: type, name: str) -> None:
        self.qualname = f"{kind.__name__}.{name}"

    @overload
    def __get__(self, owner: None, kind: type) -> endpoint[P, T]: ...
    @overload
    def __get__(self, owner: _Sender, kind: type) -> Callable[P, Awaitable[T]]: ...

    def __get__(self, owner: _Sender | None,
                kind: type) -> endpoint[P, T] | Callable[P, Awaitable[T]]:
        if owner is None:
            return self
        build = self.build

        @functools.wraps(build)
        async def send(*args: P.args, **kwargs: P.kwargs) -> T:
            return await owner._send(build(*args, **kwargs))

        send.__qualname__, send.__name__ = self.qualname, self.qualname.rpartition(".")[2]
        send.__signature__ = self.signature  # type: ignore[attr-defined]
        return send


class _Namespace:
    """A group of methods (``client.runs``) sending through its client."""

    def __init__(self, client: AsyncSpineClient) -> None:
        self._client = client

    async def _send(self, call: Call[T]) -> T:
        return await self._client._send(call)


class AsyncWorkflows(_Namespace):
    """Workflow definitions: list, create from YAML, version, roll back, run, schedule."""

    list = endpoint(calls.workflows_list)
    create = endpoint(calls.workflows_create)
    get = endpoint(calls.workflows_get)
    update = endpoint(calls.workflows_update)
    delete = endpoint(calls.workflows_delete)
    yaml = endpoint(calls.workflows_yaml)
    versions = endpoint(calls.workflows_versions)
    version = endpoint(calls.workflows_version)
    rollback = endpoint(calls.workflows_rollback)
    run = endpoint(calls.workflows_run)
    runs = endpoint(calls.workflows_runs)
    schedule = endpoint(calls.workflows_schedule)
    unschedule = endpoint(calls.workflows_unschedule)


class AsyncRuns(_Namespace):
    """Runs: find, inspect, control, wait for, and read or follow their logs."""

    list = endpoint(calls.runs_list)
    get = endpoint(calls.runs_get)
    outputs = endpoint(calls.runs_outputs)
    pause = endpoint(calls.runs_pause)
    resume = endpoint(calls.runs_resume)
    cancel = endpoint(calls.runs_cancel)
    retry = endpoint(calls.runs_retry)
    steps = endpoint(calls.runs_steps)
    step = endpoint(calls.runs_step)
    replay_step = endpoint(calls.runs_step_replay)
    log_page = endpoint(calls.runs_log_page)

    @operation("runs_list")
    async def iter_all(self, *, workflow: str | None = None, status: str | None = None,
                       since: calls.Since = None, until: calls.Since = None,
                       page_size: int = 100) -> AsyncIterator[RunSummary]:
        """Every matching run, newest first, fetching pages as the iteration goes."""
        offset: int | None = 0
        while offset is not None:
            page = await self.list(workflow=workflow, status=status, since=since,
                                   until=until, limit=page_size, offset=offset)
            for item in page.items:
                yield item
            offset = page.next_offset

    @operation("runs_get")
    async def wait(self, run_id: str, timeout: float = 300,
                   poll: float = 0.25) -> RunStatusResponse:
        """Poll the run until it ended; after ``timeout`` seconds raise ``RunWaitTimeout``
        (a ``TimeoutError``) naming the run and its last status."""
        waiter = Waiter(run_id, timeout, poll)
        while not waiter.ended(run := await self.get(run_id)):
            await asyncio.sleep(waiter.pause())
        return run

    @operation("runs_logs", "runs_logs_stream", "runs_step_logs", "runs_step_logs_stream")
    async def logs(self, run_id: str, step: str | None = None,
                   follow: bool = False) -> AsyncIterator[LogEntry]:
        """The run's (or one step's) log lines so far; with ``follow``, also every new line
        as it is written, until the run ended (requests start when iteration does)."""
        if not follow:
            after = 0
            while (page := await self.log_page(run_id, step=step, after_seq=after)).items:
                for item in page.items:
                    yield item
                if page.next_seq <= after:
                    return
                after = page.next_seq
            return
        state = LogFollow(run_id, step)
        while True:
            path = calls.log_path(run_id, step, stream=True)
            async with self._client._stream(path, state.params(),
                                            "text/event-stream") as response:
                # a connection broken off mid-stream is reconnected after the last line
                with contextlib.suppress(httpx.RemoteProtocolError, httpx.ReadError):
                    async for event in aiter_events(response.aiter_bytes()):
                        if (entry := state.handle(event)) is not None:
                            yield entry
                        if state.ended:
                            return
            await asyncio.sleep(state.closed_early())


class AsyncArtifacts(_Namespace):
    """The files a run's steps stored: list them, download them verified."""

    list = endpoint(calls.runs_artifacts)

    @overload
    async def download(self, run_id: str, key: str, path: None = None) -> bytes: ...
    @overload
    async def download(self, run_id: str, key: str, path: str | os.PathLike[str]) -> Path: ...

    @operation("runs_artifact_download")
    async def download(self, run_id: str, key: str,
                       path: str | os.PathLike[str] | None = None) -> bytes | Path:
        """The artifact's bytes, or the file they were streamed to (into a directory: under
        the key's last part); ``ChecksumMismatchError`` if their SHA-256 is not the server's."""
        async with self._client._stream(calls.artifact_path(run_id, key), {},
                                        "*/*") as response:
            sink = DownloadSink(key, response.headers.get(CHECKSUM_HEADER), path)
            try:
                async for chunk in response.aiter_bytes():
                    sink.write(chunk)
            except BaseException:
                sink.abort()
                raise
            return sink.finish()


class AsyncSchedules(_Namespace):
    """Cron schedules: create, pause, resume, fire now, delete."""

    list = endpoint(calls.schedules_list)
    create = endpoint(calls.schedules_create)
    get = endpoint(calls.schedules_get)
    delete = endpoint(calls.schedules_delete)
    pause = endpoint(calls.schedules_pause)
    resume = endpoint(calls.schedules_resume)
    fire = endpoint(calls.schedules_fire)


class AsyncTriggers(_Namespace):
    """Event triggers (webhook, file, poll) the server listens to."""

    list = endpoint(calls.triggers_list)


class AsyncWebhooks(_Namespace):
    """Signed webhook deliveries, as a sender would make them."""

    send = endpoint(calls.webhooks_send)


class AsyncSpineClient:
    """The asyncio client of ``spine-engine serve``: ``SpineClient``'s surface, awaited.

    Use it as an async context manager (or await ``close()``) so its connections are released.
    ``transport`` replaces httpx's (e.g. ``httpx.MockTransport`` or a WSGI/ASGI one in tests).
    """

    workflows: AsyncWorkflows
    runs: AsyncRuns
    artifacts: AsyncArtifacts
    schedules: AsyncSchedules
    triggers: AsyncTriggers
    webhooks: AsyncWebhooks

    health = endpoint(calls.health)

    def __init__(self, base_url: str = "http://localhost:8000", api_key: str | None = None, *,
                 timeout: float | None = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url
        self._timeout = timeout
        self._http = httpx.AsyncClient(base_url=base_url, headers=client_headers(api_key),
                                       timeout=timeout, transport=transport)
        self.workflows = AsyncWorkflows(self)
        self.runs = AsyncRuns(self)
        self.artifacts = AsyncArtifacts(self)
        self.schedules = AsyncSchedules(self)
        self.triggers = AsyncTriggers(self)
        self.webhooks = AsyncWebhooks(self)

    @classmethod
    def operations(cls) -> dict[str, list[str]]:
        """Each API operation id with the methods that cover it (``runs.get``)."""
        return covered_operations(cls, _Namespace)

    @operation("workflows_run")
    async def run_workflow(self, name: str, params: dict[str, Any] | None = None,
                           wait: bool = False, timeout: float = 300,
                           partition: dict[str, Any] | None = None, *,
                           poll: float = 0.25) -> RunResult:
        """Start a run of ``name``; with ``wait``, return once it ended, with its outputs
        (``RunWaitTimeout``, a ``TimeoutError``, if it did not end within ``timeout``)."""
        accepted = await self.workflows.run(name, params, partition=partition)
        if not wait:
            return RunResult.accepted(accepted)
        run = await self.runs.wait(accepted.run_id, timeout=timeout, poll=poll)
        return RunResult.ended_with(run, await self.runs.outputs(run.run_id))

    async def _send(self, call: Call[T]) -> T:
        response = await self._http.request(call.method, call.path, params=call.params,
                                            json=call.json, content=call.content,
                                            headers=call.headers)
        raise_for_status(response)
        return call.parse(response)

    @asynccontextmanager
    async def _stream(self, path: str, params: dict[str, Any],
                      accept: str) -> AsyncIterator[httpx.Response]:
        """A streamed GET whose error statuses raise before the body is read."""
        async with self._http.stream("GET", path, params=params, headers={"Accept": accept},
                                     timeout=stream_timeout(self._timeout)) as response:
            if response.is_error:
                await response.aread()
                raise_for_status(response)
            yield response

    async def close(self) -> None:
        """Release the client's connections."""
        await self._http.aclose()

    aclose = close
    """httpx's name for ``close``."""

    async def __aenter__(self) -> AsyncSpineClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None,
                        error: BaseException | None, traceback: TracebackType | None) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"
