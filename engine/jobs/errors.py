"""Errors of process and container jobs, one class per mistake, each with the step error
category it maps to so a job step fails with the right one."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import WorkflowError
from ..policies import ErrorCategory


class JobError(WorkflowError):
    """Base class of every error the job layer raises on purpose."""

    category: str = ErrorCategory.INTERNAL.value


class JobSpecError(JobError):
    """A job spec is wrong (a field's value, a missing command); raised before anything runs."""

    category = ErrorCategory.CONFIGURATION.value


class CommandNotFoundError(JobSpecError):
    """The job's command names a program that does not exist where the job would run."""


class ResourceLimitError(JobSpecError):
    """The job asks for CPU, memory or rlimits this machine cannot give."""


class UnsupportedSpecError(JobSpecError):
    """The adapter cannot run this kind of job (GPUs locally, sidecars on Docker, an image
    outside the adapter's ``images`` patterns)."""


class NoAdapterError(JobError):
    """No registered adapter is available and able to run the spec; ``reasons`` says why
    for each one, by runtime name."""

    category = ErrorCategory.DEPENDENCY.value

    def __init__(self, job: str, reasons: Mapping[str, str]) -> None:
        self.job = job
        self.reasons = dict(reasons)
        detail = "; ".join(f"{name}: {why}" for name, why in self.reasons.items())
        super().__init__(f"no runtime adapter can run job {job!r}: "
                         f"{detail or 'no adapter is registered'}")


class RuntimeUnavailableError(JobError):
    """The adapter's runtime (a Docker engine) does not answer; the router tries the next."""

    category = ErrorCategory.DEPENDENCY.value


class ImageUnavailableError(JobError):
    """The runtime cannot get the job's image (not found, pull refused); the router tries the
    next adapter, which may not need the image at all."""

    category = ErrorCategory.DEPENDENCY.value


class JobStartError(JobError):
    """The job was accepted but its process or container could not be started."""


class SidecarError(JobError):
    """A sidecar did not start or did not become ready in time, so its job never ran."""

    category = ErrorCategory.DEPENDENCY.value


class UnknownJobError(JobError, KeyError):
    """No job with this id (never submitted here, or already cleaned up)."""

    category = ErrorCategory.VALIDATION.value

    def __init__(self, job_id: str, runtime: str = "") -> None:
        self.job_id = job_id
        where = f" on the {runtime} adapter" if runtime else ""
        super().__init__(f"no job {job_id!r}{where} (never submitted here, or cleaned up)")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])
