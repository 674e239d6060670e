"""The runtime adapter contract every job runtime fulfils (local processes, Docker), and a
base class holding what they share, so the router and ``JobEngine`` treat them alike."""

from __future__ import annotations

import asyncio
import inspect
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any, Protocol, runtime_checkable

from .errors import JobSpecError, UnsupportedSpecError
from .spec import ContainerJobSpec
from .status import JobLogLine, JobStatus, RuntimeCapabilities


@runtime_checkable
class RuntimeAdapter(Protocol):
    """Submits ``ContainerJobSpec``s to one runtime and follows them by job id."""

    @property
    def runtime_name(self) -> str:
        """A short name for messages and ``spec.runtime`` pins (``local``, ``docker``)."""

    @property
    def capabilities(self) -> RuntimeCapabilities:
        """What this runtime can give a job."""

    async def submit(self, spec: ContainerJobSpec) -> str:
        """Start the job (checked first, so bad input fails here); return its id at once."""

    async def status(self, job_id: str) -> JobStatus:
        """The job's state now, without waiting."""

    def logs(self, job_id: str, *, follow: bool = True) -> AsyncIterator[str]:
        """The job's output lines, each with its newline; ``follow`` waits for the rest."""

    async def cancel(self, job_id: str) -> bool:
        """Stop the job and everything it started; True if it was still running."""

    async def cleanup(self, job_id: str) -> None:
        """Stop what still runs and release what the job held (scratch folders, containers)."""


class BaseRuntimeAdapter(ABC):
    """Shared behaviour: availability (always, unless a runtime says otherwise), ``logs`` as
    the text of ``log_records``, and ``wait`` by polling ``status``."""

    runtime_name = "base"

    @property
    @abstractmethod
    def capabilities(self) -> RuntimeCapabilities:
        """What this runtime can give a job."""

    async def unavailable_reason(self) -> str | None:
        """Why the runtime cannot take jobs right now, or None when it can."""
        return None

    async def available(self) -> bool:
        """Whether the runtime takes jobs now (the router skips it otherwise)."""
        return await self.unavailable_reason() is None

    def check(self, spec: ContainerJobSpec) -> list[JobSpecError]:
        """What stops this adapter from running ``spec`` here (empty: it can)."""
        return []

    @abstractmethod
    async def submit(self, spec: ContainerJobSpec) -> str:
        """Start the job (checked first, so bad input fails here); return its id at once."""

    @abstractmethod
    async def status(self, job_id: str) -> JobStatus:
        """The job's state now, without waiting."""

    @abstractmethod
    def log_records(self, job_id: str, *, follow: bool = True) -> AsyncIterator[JobLogLine]:
        """Every line the job wrote so far and, with ``follow``, the rest until it ends."""

    async def logs(self, job_id: str, *, follow: bool = True) -> AsyncIterator[str]:
        """The job's output lines (stdout and stderr as they came), each with its newline,
        so ``"".join(lines)`` is the output as written."""
        async for record in self.log_records(job_id, follow=follow):
            yield record.text

    async def wait(self, job_id: str, timeout: float | None = None) -> JobStatus:
        """The job's status once it is final, or as it is when ``timeout`` passes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.02
        while True:
            status = await self.status(job_id)
            if status.done:
                return status
            if deadline is not None and time.monotonic() >= deadline:
                return status
            pause = delay if deadline is None else min(delay, max(0.0, deadline - time.monotonic()))
            await asyncio.sleep(pause)
            delay = min(delay * 2, 0.5)

    @abstractmethod
    async def cancel(self, job_id: str) -> bool:
        """Stop the job and everything it started; True if it was still running."""

    @abstractmethod
    async def cleanup(self, job_id: str) -> None:
        """Stop what still runs and release what the job held (scratch folders, containers)."""

    async def read_file(self, job_id: str, path: str) -> bytes:
        """The bytes of a file the job wrote (``path`` relative to its working directory); an
        adapter that cannot reach its jobs' files says so (the built-in ones all can)."""
        raise UnsupportedSpecError(
            f"the {self.runtime_name} adapter cannot read files its jobs write ({path!r} of job "
            f"{job_id}); print the output as the job's last stdout line (a JSON object) instead "
            "of declaring an output file")


async def unavailable_reason(adapter: Any) -> str | None:
    """Ask any adapter whether it can take jobs: ``unavailable_reason()`` when it has one,
    else its ``available()`` (sync or async); a raising check counts as unavailable."""
    try:
        probe = getattr(adapter, "unavailable_reason", None)
        if probe is not None:
            reason = probe()
            return await reason if inspect.isawaitable(reason) else reason
        answer = adapter.available() if hasattr(adapter, "available") else True
        if inspect.isawaitable(answer):
            answer = await answer
        return None if answer else "reports itself unavailable"
    except Exception as exc:  # an adapter whose check breaks cannot take jobs either
        return f"availability check failed: {type(exc).__name__}: {exc}"


def adapter_name(adapter: Any) -> str:
    """The adapter's runtime name (``local``, ``docker``), else its class name."""
    return str(getattr(adapter, "runtime_name", None) or type(adapter).__name__)
