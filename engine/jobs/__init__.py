"""Process and container jobs (spec §12): ``ContainerJobSpec`` run by a ``LocalProcessAdapter``
or a ``DockerAdapter``, routed with failover by a ``RuntimeAdapterRouter`` behind the
``JobEngine`` facade; ``ContainerRunnable`` makes a ``Step.pipeline`` a job and
``HotReloadAdapter`` rebuilds an adapter when its config or factory changes.

Loaded only when used (``engine`` re-exports these names lazily).
"""

from __future__ import annotations

from .adapter import BaseRuntimeAdapter, RuntimeAdapter
from .docker import DockerAdapter
from .errors import (
    CommandNotFoundError,
    ImageUnavailableError,
    JobError,
    JobSpecError,
    JobStartError,
    NoAdapterError,
    ResourceLimitError,
    RuntimeUnavailableError,
    SidecarError,
    UnknownJobError,
    UnsupportedSpecError,
)
from .hot_reload import HotReloadAdapter
from .job_engine import JobEngine, JobLedger, JobRecord, JobResult
from .local import LocalProcessAdapter
from .router import RuntimeAdapterRouter
from .runnable import _DEFAULT_IMAGE, ContainerRunnable, JobStep
from .spec import ContainerJobSpec, ResourceRequirements, SidecarSpec
from .status import FailureReason, JobLogLine, JobState, JobStatus, RuntimeCapabilities
from .validator import SpecValidator

__all__ = [
    "_DEFAULT_IMAGE",
    "BaseRuntimeAdapter",
    "CommandNotFoundError",
    "ContainerJobSpec",
    "ContainerRunnable",
    "DockerAdapter",
    "FailureReason",
    "HotReloadAdapter",
    "ImageUnavailableError",
    "JobEngine",
    "JobError",
    "JobLedger",
    "JobLogLine",
    "JobRecord",
    "JobResult",
    "JobSpecError",
    "JobStartError",
    "JobState",
    "JobStatus",
    "JobStep",
    "LocalProcessAdapter",
    "NoAdapterError",
    "ResourceLimitError",
    "ResourceRequirements",
    "RuntimeAdapter",
    "RuntimeAdapterRouter",
    "RuntimeCapabilities",
    "RuntimeUnavailableError",
    "SidecarError",
    "SidecarSpec",
    "SpecValidator",
    "UnknownJobError",
    "UnsupportedSpecError",
]
