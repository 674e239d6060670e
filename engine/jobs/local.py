"""``LocalProcessAdapter``: runs ``ContainerJobSpec``s as local process trees — no Docker
needed (spec §12, A1, M3, F3).

Each job gets its own session and process group, an environment holding only its spec's
``env`` plus a minimal ``PATH``/``HOME``/``LANG`` (never the engine's secrets), a working
directory (``working_dir``, else a fresh scratch folder removed at cleanup), and the kernel
limits its ``resources`` ask for. A timeout, a cancel or cleanup kills the whole tree
(SIGTERM, then SIGKILL after ``kill_grace_seconds``); so does the main process's exit, as a
container stops with its main process. A process that starts its own session escapes the
group, as it would escape ``docker stop`` in a container without an init. ``python`` and
``python3`` resolve on the job's ``PATH`` (the engine interpreter's folder first), falling
back to the engine's own interpreter.
"""

from __future__ import annotations

import asyncio
import fnmatch
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .adapter import BaseRuntimeAdapter
from .errors import (
    JobSpecError,
    JobStartError,
    UnknownJobError,
    UnsupportedSpecError,
)
from .local_checks import job_path, limits_for, resolve_program, resource_problems, spec_env
from .notify import ChangeSignal
from .outcome import describe_exit
from .process import ProcessTree
from .sidecars import LocalSidecars
from .spec import ContainerJobSpec
from .status import FailureReason, JobLogLine, JobState, JobStatus, RuntimeCapabilities
from .validator import SpecValidator, raise_first


def _when(stamp: float | None) -> datetime | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, UTC)


@dataclass
class _LocalJob:
    """One submitted job: its spec, process tree, sidecars and working directory."""

    job_id: str
    spec: ContainerJobSpec
    tree: ProcessTree
    changed: ChangeSignal
    cwd: str
    scratch: bool
    timeout: float
    sidecars: LocalSidecars | None = None
    outcome: tuple[JobState, FailureReason | None, str | None] | None = field(default=None)


class LocalProcessAdapter(BaseRuntimeAdapter):
    """Runs jobs as local processes; ``image`` is ignored unless ``images`` (glob patterns)
    limits which images this adapter stands in for.

    ``pass_env`` names engine variables to hand through on purpose (a proxy, say);
    ``work_dir`` is where scratch folders go (the system temp folder by default).
    """

    runtime_name = "local"

    def __init__(self, *, images: Sequence[str] | None = None, pass_env: Iterable[str] = (),
                 work_dir: str | Path | None = None, default_timeout_seconds: float = 3600,
                 max_timeout_seconds: float = 86_400, kill_grace_seconds: float = 5.0,
                 validator: SpecValidator | None = None) -> None:
        self.images = None if images is None else tuple(images)
        self.pass_env = tuple(pass_env)
        self.work_dir = None if work_dir is None else str(work_dir)
        self.default_timeout_seconds = default_timeout_seconds
        self.max_timeout_seconds = max_timeout_seconds
        self.kill_grace_seconds = kill_grace_seconds
        self.validator = validator or SpecValidator()
        self._jobs: dict[str, _LocalJob] = {}

    def __repr__(self) -> str:
        return f"LocalProcessAdapter(jobs={len(self._jobs)})"

    @property
    def capabilities(self) -> RuntimeCapabilities:
        return RuntimeCapabilities(supports_gpu=False, supports_volumes=False,
                                   supports_sidecars=True, supports_resource_limits=True,
                                   supports_log_streaming=True, runs_images=False,
                                   max_timeout_seconds=self.max_timeout_seconds)

    # ------------------------------------------------------------------ checks
    def check(self, spec: ContainerJobSpec) -> list[JobSpecError]:
        """Everything that stops ``spec`` from running here, found without running it."""
        problems = self.validator.validate(spec)
        if problems:
            return problems
        job = f"job {spec.name!r}"
        if spec.runtime not in (None, self.runtime_name):
            problems.append(UnsupportedSpecError(
                f"{job}: asks for runtime {spec.runtime!r}, this adapter is 'local'"))
        if self.images is not None and not any(fnmatch.fnmatchcase(spec.image, pattern)
                                               for pattern in self.images):
            problems.append(UnsupportedSpecError(
                f"{job}: image {spec.image!r} is not one this local adapter stands in for "
                f"({', '.join(self.images) or 'none'})"))
        timeout = self._timeout(spec)
        if timeout > self.max_timeout_seconds:
            problems.append(JobSpecError(
                f"{job}: timeout_seconds {timeout:g} is above this adapter's maximum of "
                f"{self.max_timeout_seconds:g}s"))
        if spec.working_dir is not None and not Path(spec.working_dir).is_dir():
            problems.append(JobSpecError(
                f"{job}: working_dir {spec.working_dir!r} is not an existing directory"))
        path = spec.env.get("PATH", job_path())
        try:
            resolve_program(str(spec.command[0]), path, spec.working_dir, spec.name)
        except JobSpecError as exc:
            problems.append(exc)
        problems += resource_problems(spec.name, spec.resources)
        for sidecar in spec.sidecars:
            if not sidecar.command:
                problems.append(UnsupportedSpecError(
                    f"{job}: sidecar {sidecar.name!r} has no command; the local adapter runs "
                    "sidecars as processes, so give the command that starts it"))
                continue
            try:
                resolve_program(str(sidecar.command[0]), sidecar.env.get("PATH", path), None,
                                spec.name, f"sidecar {sidecar.name!r} command[0]")
            except JobSpecError as exc:
                problems.append(exc)
        return problems

    def _timeout(self, spec: ContainerJobSpec) -> float:
        return float(spec.timeout_seconds or self.default_timeout_seconds)

    # ------------------------------------------------------------------ lifecycle
    async def submit(self, spec: ContainerJobSpec) -> str:
        """Check ``spec``, start its sidecars (waiting until ready), then its process; the
        job id comes back as soon as the process runs."""
        raise_first(self.check(spec))
        job_id = f"local-{uuid.uuid4().hex[:12]}"
        scratch = spec.working_dir is None
        cwd = (tempfile.mkdtemp(prefix=f"spine-job-{job_id[6:]}-", dir=self.work_dir)
               if scratch else str(Path(spec.working_dir or ".").resolve()))
        sidecars = (LocalSidecars(spec.name, spec.sidecars, cwd, self.pass_env,
                                  self.kill_grace_seconds) if spec.sidecars else None)
        argv = spec.argv
        try:
            if sidecars is not None:
                await sidecars.start(wait=spec.wait_for_sidecars)
            extra = {"SPINE_JOB_ID": job_id, "SPINE_JOB_NAME": spec.name,
                     "SPINE_RUNTIME": self.runtime_name, "SPINE_JOB_DIR": cwd,
                     **(sidecars.env_for_job() if sidecars is not None else {})}
            env = spec_env(spec, extra, self.pass_env)
            argv[0] = resolve_program(argv[0], env["PATH"], spec.working_dir, spec.name)
            changed = ChangeSignal()
            timeout = self._timeout(spec)
            tree = ProcessTree(argv, env=env, cwd=cwd, limits=limits_for(spec.resources),
                               timeout=timeout, grace=self.kill_grace_seconds,
                               on_change=changed.notify,
                               on_finish=None if sidecars is None else lambda _: sidecars.stop())
            tree.start()
        except (OSError, subprocess.SubprocessError) as exc:
            self._discard(cwd, scratch, sidecars)
            raise JobStartError(f"job {spec.name!r}: could not start {argv[0]!r}: {exc}") from exc
        except BaseException:
            self._discard(cwd, scratch, sidecars)
            raise
        self._jobs[job_id] = _LocalJob(job_id, spec, tree, changed, cwd, scratch, timeout,
                                       sidecars)
        return job_id

    @staticmethod
    def _discard(cwd: str, scratch: bool, sidecars: LocalSidecars | None) -> None:
        if sidecars is not None:
            sidecars.stop()
        if scratch:
            shutil.rmtree(cwd, ignore_errors=True)

    def _job(self, job_id: str) -> _LocalJob:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise UnknownJobError(job_id, self.runtime_name) from None

    async def status(self, job_id: str) -> JobStatus:
        job = self._job(job_id)
        tree = job.tree
        if not tree.finished or tree.exit is None:
            return JobStatus(job_id, JobState.RUNNING, self.runtime_name,
                             started_at=_when(tree.started_at))
        if job.outcome is None:
            job.outcome = describe_exit(job.spec.name, tree.exit, tree.limits, job.timeout,
                                        tree.stderr_tail)
        state, reason, message = job.outcome
        return JobStatus(job_id, state, self.runtime_name, exit_code=tree.exit.returncode,
                         reason=reason, message=message, started_at=_when(tree.started_at),
                         finished_at=_when(tree.finished_at))

    async def log_records(self, job_id: str, *, follow: bool = True,
                          ) -> AsyncIterator[JobLogLine]:
        job = self._job(job_id)
        index = 0
        while True:
            version = job.changed.version
            finished = job.tree.finished
            lines, index = job.tree.read(index)
            for line in lines:
                yield line
            if finished or not follow:
                return
            await job.changed.wait_past(version)

    async def wait(self, job_id: str, timeout: float | None = None) -> JobStatus:
        await self._until_finished(self._job(job_id), timeout)
        return await self.status(job_id)

    @staticmethod
    async def _until_finished(job: _LocalJob, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not job.tree.finished:
            version = job.changed.version
            if job.tree.finished:
                break
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            try:
                await asyncio.wait_for(job.changed.wait_past(version), left)
            except TimeoutError:
                return job.tree.finished
        return True

    async def cancel(self, job_id: str) -> bool:
        """Kill the job's whole process tree; True if it was still running."""
        job = self._job(job_id)
        if job.tree.finished:
            return False
        job.tree.kill("cancelled")
        await self._until_finished(job)
        return True

    async def cleanup(self, job_id: str) -> None:
        """Kill whatever of the job still runs (sidecars too), remove its scratch folder and
        forget it; cleaning up an unknown or cleaned-up job does nothing."""
        job = self._jobs.pop(job_id, None)
        if job is None:
            return
        if not job.tree.finished:
            job.tree.kill("cancelled")
            await self._until_finished(job)
        if job.sidecars is not None:
            job.sidecars.stop()
            await asyncio.to_thread(job.sidecars.wait_stopped, self.kill_grace_seconds + 3)
        if job.scratch:
            shutil.rmtree(job.cwd, ignore_errors=True)

    async def read_file(self, job_id: str, path: str) -> bytes:
        """A file the job wrote, ``path`` relative to its working directory."""
        job = self._job(job_id)
        return (Path(job.cwd) / path).read_bytes()
