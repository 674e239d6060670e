"""``SpineClient``: the blocking client, over ``httpx.Client``.

Most methods are call builders from ``_calls`` bound with ``endpoint``; the helpers that
take several requests (``run_workflow``, ``runs.wait``, ``runs.logs``, ``runs.iter_all``,
``artifacts.download``) are written out, with their logic in ``_flows``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
from spine_client._sse import iter_events
from spine_client.models import LogEntry, RunStatusResponse, RunSummary

__all__ = ["SpineClient"]

P = ParamSpec("P")
T = TypeVar("T")


class _Sender(Protocol):
    def _send(self, call: Call[T]) -> T: ...


class endpoint(Generic[P, T]):
    """Binds a call builder as a method that sends its call and returns the parsed response."""

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
    def __get__(self, owner: _Sender, kind: type) -> Callable[P, T]: ...

    def __get__(self, owner: _Sender | None, kind: type) -> endpoint[P, T] | Callable[P, T]:
        if owner is None:
            return self
        build = self.build

        @functools.wraps(build)
        def send(*args: P.args, **kwargs: P.kwargs) -> T:
            return owner._send(build(*args, **kwargs))

        send.__qualname__, send.__name__ = self.qualname, self.qualname.rpartition(".")[2]
        send.__signature__ = self.signature  # type: ignore[attr-defined]
        return send


class _Namespace:
    """A group of methods (``client.runs``) sending through its client."""

    def __init__(self, client: SpineClient) -> None:
        self._client = client

    def _send(self, call: Call[T]) -> T:
        return self._client._send(call)


class Workflows(_Namespace):
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


class Runs(_Namespace):
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
    def iter_all(self, *, workflow: str | None = None, status: str | None = None,
                 since: calls.Since = None, until: calls.Since = None,
                 page_size: int = 100) -> Iterator[RunSummary]:
        """Every matching run, newest first, fetching pages as the iteration goes."""
        offset: int | None = 0
        while offset is not None:
            page = self.list(workflow=workflow, status=status, since=since, until=until,
                             limit=page_size, offset=offset)
            yield from page.items
            offset = page.next_offset

    @operation("runs_get")
    def wait(self, run_id: str, timeout: float = 300, poll: float = 0.25) -> RunStatusResponse:
        """Poll the run until it ended; after ``timeout`` seconds raise ``RunWaitTimeout``
        (a ``TimeoutError``) naming the run and its last status."""
        waiter = Waiter(run_id, timeout, poll)
        while not waiter.ended(run := self.get(run_id)):
            time.sleep(waiter.pause())
        return run

    @operation("runs_logs", "runs_logs_stream", "runs_step_logs", "runs_step_logs_stream")
    def logs(self, run_id: str, step: str | None = None,
             follow: bool = False) -> Iterator[LogEntry]:
        """The run's (or one step's) log lines so far; with ``follow``, also every new line
        as it is written, until the run ended (requests start when iteration does)."""
        if not follow:
            after = 0
            while (page := self.log_page(run_id, step=step, after_seq=after)).items:
                yield from page.items
                if page.next_seq <= after:
                    return
                after = page.next_seq
            return
        state = LogFollow(run_id, step)
        while True:
            path = calls.log_path(run_id, step, stream=True)
            with self._client._stream(path, state.params(), "text/event-stream") as response:
                # a connection broken off mid-stream is reconnected after the last line
                with contextlib.suppress(httpx.RemoteProtocolError, httpx.ReadError):
                    for event in iter_events(response.iter_bytes()):
                        if (entry := state.handle(event)) is not None:
                            yield entry
                        if state.ended:
                            return
            time.sleep(state.closed_early())


class Artifacts(_Namespace):
    """The files a run's steps stored: list them, download them verified."""

    list = endpoint(calls.runs_artifacts)

    @overload
    def download(self, run_id: str, key: str, path: None = None) -> bytes: ...
    @overload
    def download(self, run_id: str, key: str, path: str | os.PathLike[str]) -> Path: ...

    @operation("runs_artifact_download")
    def download(self, run_id: str, key: str,
                 path: str | os.PathLike[str] | None = None) -> bytes | Path:
        """The artifact's bytes, or the file they were streamed to (into a directory: under
        the key's last part); ``ChecksumMismatchError`` if their SHA-256 is not the server's."""
        with self._client._stream(calls.artifact_path(run_id, key), {}, "*/*") as response:
            sink = DownloadSink(key, response.headers.get(CHECKSUM_HEADER), path)
            try:
                for chunk in response.iter_bytes():
                    sink.write(chunk)
            except BaseException:
                sink.abort()
                raise
            return sink.finish()


class Schedules(_Namespace):
    """Cron schedules: create, pause, resume, fire now, delete."""

    list = endpoint(calls.schedules_list)
    create = endpoint(calls.schedules_create)
    get = endpoint(calls.schedules_get)
    delete = endpoint(calls.schedules_delete)
    pause = endpoint(calls.schedules_pause)
    resume = endpoint(calls.schedules_resume)
    fire = endpoint(calls.schedules_fire)


class Triggers(_Namespace):
    """Event triggers (webhook, file, poll) the server listens to."""

    list = endpoint(calls.triggers_list)


class Webhooks(_Namespace):
    """Signed webhook deliveries, as a sender would make them."""

    send = endpoint(calls.webhooks_send)


class SpineClient:
    """The blocking client of ``spine-engine serve``; ``AsyncSpineClient`` has the same surface.

    Use it as a context manager (or call ``close()``) so its connections are released.
    ``transport`` replaces httpx's (e.g. ``httpx.MockTransport`` or a WSGI/ASGI one in tests).
    """

    workflows: Workflows
    runs: Runs
    artifacts: Artifacts
    schedules: Schedules
    triggers: Triggers
    webhooks: Webhooks

    health = endpoint(calls.health)

    def __init__(self, base_url: str = "http://localhost:8000", api_key: str | None = None, *,
                 timeout: float | None = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url
        self._timeout = timeout
        self._http = httpx.Client(base_url=base_url, headers=client_headers(api_key),
                                  timeout=timeout, transport=transport)
        self.workflows = Workflows(self)
        self.runs = Runs(self)
        self.artifacts = Artifacts(self)
        self.schedules = Schedules(self)
        self.triggers = Triggers(self)
        self.webhooks = Webhooks(self)

    @classmethod
    def operations(cls) -> dict[str, list[str]]:
        """Each API operation id with the methods that cover it (``runs.get``)."""
        return covered_operations(cls, _Namespace)

    @operation("workflows_run")
    def run_workflow(self, name: str, params: dict[str, Any] | None = None, wait: bool = False,
                     timeout: float = 300, partition: dict[str, Any] | None = None, *,
                     poll: float = 0.25) -> RunResult:
        """Start a run of ``name``; with ``wait``, return once it ended, with its outputs
        (``RunWaitTimeout``, a ``TimeoutError``, if it did not end within ``timeout``)."""
        accepted = self.workflows.run(name, params, partition=partition)
        if not wait:
            return RunResult.accepted(accepted)
        run = self.runs.wait(accepted.run_id, timeout=timeout, poll=poll)
        return RunResult.ended_with(run, self.runs.outputs(run.run_id))

    def _send(self, call: Call[T]) -> T:
        response = self._http.request(call.method, call.path, params=call.params,
                                      json=call.json, content=call.content,
                                      headers=call.headers)
        raise_for_status(response)
        return call.parse(response)

    @contextmanager
    def _stream(self, path: str, params: dict[str, Any],
                accept: str) -> Iterator[httpx.Response]:
        """A streamed GET whose error statuses raise before the body is read."""
        with self._http.stream("GET", path, params=params, headers={"Accept": accept},
                               timeout=stream_timeout(self._timeout)) as response:
            if response.is_error:
                response.read()
                raise_for_status(response)
            yield response

    def close(self) -> None:
        """Release the client's connections."""
        self._http.close()

    def __enter__(self) -> SpineClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"
