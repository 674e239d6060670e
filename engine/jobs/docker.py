"""``DockerAdapter``: runs jobs as containers through the Docker Engine API (spec §12d).

It is available only while an engine answers ``/_ping`` on its socket (``$DOCKER_HOST`` or
``/var/run/docker.sock``), checked at most every ``availability_ttl`` seconds; otherwise it
says why, and a ``RuntimeAdapterRouter`` moves on to the next adapter. A missing image is
pulled; one that cannot be pulled raises ``ImageUnavailableError`` (the router fails over on
that too). Memory limits are the container's cgroup limit (an OOM kill is reported as
such), cores a CFS quota, ``cpu_seconds`` the ``cpu`` ulimit, GPUs a device request.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .adapter import BaseRuntimeAdapter
from .docker_api import DockerAPI, EngineTimeoutError, FrameReader, error_text, first_file
from .errors import (
    ImageUnavailableError,
    JobSpecError,
    JobStartError,
    RuntimeUnavailableError,
    UnknownJobError,
    UnsupportedSpecError,
)
from .outcome import describe_exit
from .process import Exit, Limits
from .spec import ContainerJobSpec, format_bytes
from .status import FailureReason, JobLogLine, JobState, JobStatus, RuntimeCapabilities
from .validator import SpecValidator, raise_first

_LIVE = {"created", "running", "restarting", "paused", "removing"}


def _parse_time(text: str | None) -> datetime | None:
    if not text or text.startswith("0001-"):
        return None
    text = re.sub(r"(\.\d{6})\d*", r"\1", text.replace("Z", "+00:00"))
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


@dataclass
class _DockerJob:
    job_id: str
    container: str
    spec: ContainerJobSpec
    timeout: float
    deadline: float
    killed_for: str | None = None
    watcher: asyncio.Task[None] | None = field(default=None, repr=False)


class DockerAdapter(BaseRuntimeAdapter):
    """Jobs as Docker containers, labelled ``spine.job``/``spine.job_id`` for ``docker ps``."""

    runtime_name = "docker"

    def __init__(self, *, host: str | None = None, pull: bool = True,
                 default_timeout_seconds: float = 3600, max_timeout_seconds: float = 86_400,
                 kill_grace_seconds: float = 10.0, availability_ttl: float = 5.0,
                 validator: SpecValidator | None = None) -> None:
        self.host = host
        self.pull = pull
        self.default_timeout_seconds = default_timeout_seconds
        self.max_timeout_seconds = max_timeout_seconds
        self.kill_grace_seconds = kill_grace_seconds
        self.availability_ttl = availability_ttl
        self.validator = validator or SpecValidator()
        self._jobs: dict[str, _DockerJob] = {}
        self._checked: tuple[float, str | None] | None = None

    def __repr__(self) -> str:
        return f"DockerAdapter(host={self.host or os.environ.get('DOCKER_HOST') or 'default'})"

    @property
    def capabilities(self) -> RuntimeCapabilities:
        return RuntimeCapabilities(supports_gpu=True, supports_volumes=False,
                                   supports_sidecars=False, supports_resource_limits=True,
                                   supports_log_streaming=True, runs_images=True,
                                   max_timeout_seconds=self.max_timeout_seconds)

    def _api(self) -> DockerAPI:
        return DockerAPI(self.host)

    async def unavailable_reason(self) -> str | None:
        """None while the engine answers ``/_ping``; else what was tried and what failed."""
        now = time.monotonic()
        if self._checked is not None and now - self._checked[0] < self.availability_ttl:
            return self._checked[1]
        reason = await self._probe()
        self._checked = (time.monotonic(), reason)
        return reason

    async def _probe(self) -> str | None:
        try:
            api = self._api()
        except RuntimeUnavailableError as exc:
            return str(exc)
        if api.socket is not None and not os.path.exists(api.socket):
            return f"no Docker engine: {api.socket} does not exist (is Docker running?)"
        try:
            response = await api.request("GET", "/_ping", timeout=2.0)
        except (RuntimeUnavailableError, EngineTimeoutError) as exc:
            return f"no Docker engine answers at {api.address}: {exc}"
        if response.status_code != 200:
            return f"Docker engine at {api.address} answered /_ping with {error_text(response)}"
        return None

    # ------------------------------------------------------------------ checks
    def check(self, spec: ContainerJobSpec) -> list[JobSpecError]:
        problems = self.validator.validate(spec)
        if problems:
            return problems
        job = f"job {spec.name!r}"
        if spec.runtime not in (None, self.runtime_name):
            problems.append(UnsupportedSpecError(
                f"{job}: asks for runtime {spec.runtime!r}, this adapter is 'docker'"))
        if spec.sidecars:
            problems.append(UnsupportedSpecError(
                f"{job}: the Docker adapter does not run sidecars; run the job locally"))
        if spec.working_dir is not None and not spec.working_dir.startswith("/"):
            problems.append(JobSpecError(
                f"{job}: working_dir {spec.working_dir!r} must be an absolute path inside "
                "the container"))
        if float(spec.timeout_seconds or self.default_timeout_seconds) > self.max_timeout_seconds:
            problems.append(JobSpecError(
                f"{job}: timeout_seconds is above this adapter's maximum of "
                f"{self.max_timeout_seconds:g}s"))
        return problems

    def _body(self, spec: ContainerJobSpec, job_id: str) -> dict[str, Any]:
        res = spec.resources
        host: dict[str, Any] = {"Init": True}
        if res.memory_limit_bytes is not None:
            host["Memory"] = res.memory_limit_bytes
        if res.memory_request_bytes is not None:
            host["MemoryReservation"] = res.memory_request_bytes
        if res.cpu_limit_cores is not None:
            host["NanoCpus"] = int(res.cpu_limit_cores * 1e9)
        if res.cpu_seconds_limit is not None:
            host["Ulimits"] = [{"Name": "cpu", "Soft": res.cpu_seconds_limit,
                                "Hard": res.cpu_seconds_limit + 1}]
        if res.gpu_count:
            host["DeviceRequests"] = [{"Driver": "", "Count": res.gpu_count,
                                       "Capabilities": [["gpu"]]}]
        env = {"SPINE_JOB_ID": job_id, "SPINE_JOB_NAME": spec.name,
               "SPINE_RUNTIME": self.runtime_name, **spec.env}
        body: dict[str, Any] = {
            "Image": spec.image, "Env": [f"{k}={v}" for k, v in env.items()],
            "Labels": {**spec.labels, "spine.job": spec.name, "spine.job_id": job_id},
            "AttachStdout": True, "AttachStderr": True, "HostConfig": host}
        if spec.command:
            body["Entrypoint"] = [str(spec.command[0])]
            body["Cmd"] = [str(p) for p in (*spec.command[1:], *spec.args)]
        if spec.working_dir:
            body["WorkingDir"] = spec.working_dir
        return body

    # ------------------------------------------------------------------ lifecycle
    async def submit(self, spec: ContainerJobSpec) -> str:
        """Create and start the container (pulling its image first if needed)."""
        raise_first(self.check(spec))
        reason = await self.unavailable_reason()
        if reason is not None:
            raise RuntimeUnavailableError(reason)
        api = self._api()
        job_id = f"docker-{uuid.uuid4().hex[:12]}"
        name = f"spine-{re.sub(r'[^a-zA-Z0-9_.-]', '-', spec.name)}-{job_id[7:]}"
        body = self._body(spec, job_id)
        created = await api.request("POST", "/containers/create", params={"name": name},
                                    json=body)
        if created.status_code == 404:
            await self._pull(api, spec.image)
            created = await api.request("POST", "/containers/create", params={"name": name},
                                        json=body)
        if created.status_code >= 400:
            raise JobStartError(f"job {spec.name!r}: Docker could not create the container: "
                                f"{error_text(created)}")
        container = created.json()["Id"]
        started = await api.request("POST", f"/containers/{container}/start")
        if started.status_code >= 400:
            await api.request("DELETE", f"/containers/{container}", params={"force": "true"})
            raise JobStartError(f"job {spec.name!r}: Docker could not start the container: "
                                f"{error_text(started)}")
        timeout = float(spec.timeout_seconds or self.default_timeout_seconds)
        job = _DockerJob(job_id, container, spec, timeout, time.monotonic() + timeout)
        job.watcher = asyncio.get_running_loop().create_task(self._watch(job))
        self._jobs[job_id] = job
        return job_id

    async def _pull(self, api: DockerAPI, image: str) -> None:
        if not self.pull:
            raise ImageUnavailableError(f"image {image!r} is not on the Docker engine and "
                                        "pulling is off (DockerAdapter(pull=False))")
        if "@" in image:  # pinned by digest: no tag
            params = {"fromImage": image}
        elif ":" in image.rsplit("/", 1)[-1]:
            ref, tag = image.rsplit(":", 1)
            params = {"fromImage": ref, "tag": tag}
        else:
            params = {"fromImage": image, "tag": "latest"}
        try:
            async for chunk in api.stream("POST", "/images/create", params=params):
                for line in chunk.decode("utf-8", "replace").splitlines():
                    message = json.loads(line) if line.strip().startswith("{") else {}
                    if message.get("error"):
                        raise ImageUnavailableError(
                            f"image {image!r} could not be pulled: {message['error']}")
        except RuntimeUnavailableError as exc:
            raise ImageUnavailableError(f"image {image!r} could not be pulled: {exc}") from exc

    async def _watch(self, job: _DockerJob) -> None:
        """Wait for the container to exit; stop it when its timeout passes first."""
        api = self._api()
        try:
            await api.request("POST", f"/containers/{job.container}/wait",
                              timeout=max(0.1, job.deadline - time.monotonic()))
        except EngineTimeoutError:
            await self._stop(job, "timeout")
        except RuntimeUnavailableError:
            return  # status() reports what the engine says when it answers again

    async def _stop(self, job: _DockerJob, reason: str) -> None:
        if job.killed_for is None:
            job.killed_for = reason
        await self._api().request("POST", f"/containers/{job.container}/stop",
                                  params={"t": int(self.kill_grace_seconds)},
                                  timeout=self.kill_grace_seconds + 30)

    def _job(self, job_id: str) -> _DockerJob:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise UnknownJobError(job_id, self.runtime_name) from None

    async def status(self, job_id: str) -> JobStatus:
        job = self._job(job_id)
        response = await self._api().request("GET", f"/containers/{job.container}/json")
        if response.status_code == 404:
            return JobStatus(job_id, JobState.FAILED, self.runtime_name,
                             reason=FailureReason.LOST,
                             message=f"job {job.spec.name!r}: its container is gone")
        state = response.json().get("State", {})
        started, finished = _parse_time(state.get("StartedAt")), _parse_time(state.get("FinishedAt"))
        if state.get("Status") in _LIVE:
            if job.killed_for is None and time.monotonic() > job.deadline:
                await self._stop(job, "timeout")  # the watcher's loop is gone: enforce here
            return JobStatus(job_id, JobState.RUNNING, self.runtime_name, started_at=started)
        code = int(state.get("ExitCode", -1))
        if state.get("OOMKilled") and job.killed_for is None:
            limit = job.spec.resources.memory_limit_bytes
            size = format_bytes(limit) if limit else "the machine's memory"
            return JobStatus(job_id, JobState.FAILED, self.runtime_name, exit_code=code,
                             reason=FailureReason.MEMORY, started_at=started,
                             finished_at=finished,
                             message=f"job {job.spec.name!r} was OOM-killed at its memory "
                                     f"limit of {size} (resources.memory_limit)")
        returncode = -(code - 128) if 128 < code < 128 + 65 else code
        limits = Limits(cpu_seconds=job.spec.resources.cpu_seconds_limit)
        outcome, reason, message = describe_exit(
            job.spec.name, Exit(returncode, job.killed_for, 0.0), limits, job.timeout,
            [str(state.get("Error") or "")])
        return JobStatus(job_id, outcome, self.runtime_name, exit_code=code, reason=reason,
                         message=message, started_at=started, finished_at=finished)

    async def log_records(self, job_id: str, *, follow: bool = True,
                          ) -> AsyncIterator[JobLogLine]:
        job = self._job(job_id)
        frames = FrameReader()
        partial = {"stdout": "", "stderr": ""}
        params = {"stdout": "1", "stderr": "1", "follow": "1" if follow else "0"}
        async for chunk in self._api().stream("GET", f"/containers/{job.container}/logs",
                                              params=params):
            for stream, data in frames.feed(chunk):
                pieces = (partial[stream] + data.decode("utf-8", "replace")).split("\n")
                partial[stream] = pieces.pop()
                for piece in pieces:
                    yield JobLogLine(stream, piece + "\n")
        for stream, rest in partial.items():
            if rest:
                yield JobLogLine(stream, rest)

    async def cancel(self, job_id: str) -> bool:
        job = self._job(job_id)
        if (await self.status(job_id)).done:
            return False
        await self._stop(job, "cancelled")
        return True

    async def cleanup(self, job_id: str) -> None:
        job = self._jobs.pop(job_id, None)
        if job is None:
            return
        if job.watcher is not None:
            job.watcher.cancel()
        await self._api().request("DELETE", f"/containers/{job.container}",
                                  params={"force": "true", "v": "true"})

    async def read_file(self, job_id: str, path: str) -> bytes:
        job = self._job(job_id)
        target = path if path.startswith("/") else f"{job.spec.working_dir or ''}/{path}"
        response = await self._api().request("GET", f"/containers/{job.container}/archive",
                                             params={"path": target})
        if response.status_code == 404:
            raise FileNotFoundError(f"job {job.spec.name!r} wrote no file {target!r}")
        if response.status_code >= 400:
            raise OSError(f"job {job.spec.name!r}: reading {target!r} failed: "
                          f"{error_text(response)}")
        return first_file(response.content)
