"""``JobEngine``: the one facade for jobs (spec §12) — validate, route to an adapter with
failover, follow by job id, and ``run`` a job to its end with its lines relayed as they
come; ``JobLedger`` remembers which adapter runs each job and how each ended."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .adapter import adapter_name
from .errors import UnknownJobError
from .local import LocalProcessAdapter
from .router import RuntimeAdapterRouter
from .spec import ContainerJobSpec
from .status import JobLogLine, JobState, JobStatus

#: lines a ``JobResult`` keeps (the last ones); ``on_line`` sees every line
RESULT_LINES = 10_000
_CANCEL_POLL = 0.05


@dataclass(frozen=True, slots=True)
class JobRecord:
    """What the ledger knows of one job."""

    job_id: str
    name: str
    runtime: str
    submitted_at: datetime
    state: JobState = JobState.RUNNING
    exit_code: int | None = None
    message: str | None = None


class JobLedger:
    """The jobs an engine submitted, newest last, bounded to ``max_jobs``."""

    def __init__(self, max_jobs: int = 10_000) -> None:
        self.max_jobs = max_jobs
        self._lock = threading.Lock()
        self._records: dict[str, JobRecord] = {}
        self._owners: dict[str, Any] = {}

    def submitted(self, job_id: str, spec: ContainerJobSpec, adapter: Any) -> None:
        """Note a new job and the adapter that runs it."""
        with self._lock:
            self._records[job_id] = JobRecord(job_id, spec.name, adapter_name(adapter),
                                              datetime.now(UTC))
            self._owners[job_id] = adapter
            while len(self._records) > self.max_jobs:
                oldest = next(iter(self._records))
                del self._records[oldest]
                self._owners.pop(oldest, None)

    def observed(self, status: JobStatus) -> None:
        """Note the latest state seen of a job."""
        with self._lock:
            record = self._records.get(status.job_id)
            if record is not None:
                self._records[status.job_id] = JobRecord(
                    record.job_id, record.name, record.runtime, record.submitted_at,
                    status.state, status.exit_code, status.message)

    def released(self, job_id: str) -> None:
        """The job was cleaned up: keep its record, forget its adapter."""
        with self._lock:
            self._owners.pop(job_id, None)

    def owner(self, job_id: str) -> Any:
        """The adapter running ``job_id`` (until it is cleaned up)."""
        try:
            return self._owners[job_id]
        except KeyError:
            raise UnknownJobError(job_id) from None

    def get(self, job_id: str) -> JobRecord:
        try:
            return self._records[job_id]
        except KeyError:
            raise UnknownJobError(job_id) from None

    def list(self) -> list[JobRecord]:
        with self._lock:
            return list(self._records.values())


@dataclass(frozen=True, slots=True)
class JobResult:
    """A finished job: where it ran, its final status, its last lines, and the declared
    output file's bytes (``file_error`` says why there are none)."""

    job_id: str
    runtime: str
    status: JobStatus
    lines: tuple[JobLogLine, ...]
    file: bytes | None = None
    file_error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status.succeeded

    @property
    def stdout(self) -> str:
        return "".join(line.text for line in self.lines if line.stream == "stdout")

    @property
    def stderr(self) -> str:
        return "".join(line.text for line in self.lines if line.stream == "stderr")

    def json_output(self) -> Any:
        """The last stdout line that is a JSON object or array, or None."""
        for line in reversed(self.lines):
            text = line.text.strip()
            if line.stream != "stdout" or not text or text[0] not in "{[":
                continue
            try:
                return json.loads(text)
            except ValueError:
                continue
        return None


class JobEngine:
    """Submit, follow, cancel and clean up jobs on whichever adapter the router picks.

    Without a router, jobs run on a ``LocalProcessAdapter`` (never on Docker by surprise).
    """

    def __init__(self, router: RuntimeAdapterRouter | None = None,
                 ledger: JobLedger | None = None) -> None:
        if router is None:
            router = RuntimeAdapterRouter()
            router.register(LocalProcessAdapter())
        self.router = router
        self.ledger = ledger if ledger is not None else JobLedger()

    def __repr__(self) -> str:
        return f"JobEngine({self.router!r})"

    async def submit(self, spec: ContainerJobSpec) -> str:
        """Validate ``spec``, hand it to the first adapter that takes it, return the job id."""
        adapter, job_id = await self.router.submit(spec)
        self.ledger.submitted(job_id, spec, adapter)
        return job_id

    def adapter_of(self, job_id: str) -> Any:
        """The adapter running ``job_id``."""
        return self.ledger.owner(job_id)

    async def status(self, job_id: str) -> JobStatus:
        """The job's state now, as its adapter reports it (and noted in the ledger)."""
        status: JobStatus = await self.adapter_of(job_id).status(job_id)
        self.ledger.observed(status)
        return status

    async def wait(self, job_id: str, timeout: float | None = None) -> JobStatus:
        """The job's final status, or its status when ``timeout`` passes."""
        adapter = self.adapter_of(job_id)
        wait = getattr(adapter, "wait", None)
        if wait is not None:
            status: JobStatus = await wait(job_id, timeout)
        else:  # a minimal adapter: poll its status
            status = await self._poll(adapter, job_id, timeout)
        self.ledger.observed(status)
        return status

    @staticmethod
    async def _poll(adapter: Any, job_id: str, timeout: float | None) -> JobStatus:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            status: JobStatus = await adapter.status(job_id)
            if status.done or (deadline is not None and loop.time() >= deadline):
                return status
            await asyncio.sleep(0.05)

    async def log_records(self, job_id: str, *, follow: bool = True,
                          ) -> AsyncIterator[JobLogLine]:
        """The job's lines with their streams; ``follow`` waits for the rest."""
        adapter = self.adapter_of(job_id)
        records = getattr(adapter, "log_records", None)
        if records is not None:
            async for record in records(job_id, follow=follow):
                yield record
        else:
            async for text in adapter.logs(job_id, follow=follow):
                yield JobLogLine("stdout", text)

    async def logs(self, job_id: str, *, follow: bool = True) -> AsyncIterator[str]:
        """The job's lines, each with its newline."""
        async for record in self.log_records(job_id, follow=follow):
            yield record.text

    async def cancel(self, job_id: str) -> bool:
        """Stop the job and everything it started; True if it was still running."""
        return bool(await self.adapter_of(job_id).cancel(job_id))

    async def cleanup(self, job_id: str) -> None:
        """Release the job on its adapter; the ledger keeps its record."""
        await self.adapter_of(job_id).cleanup(job_id)
        self.ledger.released(job_id)

    async def read_file(self, job_id: str, path: str) -> bytes:
        """A file the job wrote (before cleanup), relative to its working directory."""
        data: bytes = await self.adapter_of(job_id).read_file(job_id, path)
        return data

    async def run(self, spec: ContainerJobSpec, *,
                  on_line: Callable[[JobLogLine], None] | None = None,
                  cancel: threading.Event | Iterable[threading.Event | None] | None = None,
                  output_file: str | None = None) -> JobResult:
        """Submit ``spec``, relay each line to ``on_line`` as it comes, wait for the end,
        read ``output_file`` if the job succeeded, and always clean up. Setting ``cancel``
        (a run's cancel event, or any of several: the run's and the step's stop) cancels the
        job through its adapter, which kills its whole process tree."""
        events = ([cancel] if isinstance(cancel, threading.Event)
                  else [e for e in cancel or () if e is not None])
        job_id = await self.submit(spec)
        runtime = adapter_name(self.adapter_of(job_id))
        watcher = (asyncio.create_task(self._cancel_on(job_id, events)) if events else None)
        try:
            lines: deque[JobLogLine] = deque(maxlen=RESULT_LINES)
            async for record in self.log_records(job_id):
                lines.append(record)
                if on_line is not None:
                    on_line(record)
            status = await self.wait(job_id)
            data, problem = None, None
            if output_file and status.succeeded:
                try:
                    data = await self.read_file(job_id, output_file)
                except OSError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
            return JobResult(job_id, runtime, status, tuple(lines), data, problem)
        finally:
            if watcher is not None:
                watcher.cancel()
            await self.cleanup(job_id)

    async def _cancel_on(self, job_id: str, events: list[threading.Event]) -> None:
        while not any(event.is_set() for event in events):
            await asyncio.sleep(_CANCEL_POLL)
        await self.cancel(job_id)
