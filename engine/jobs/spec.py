"""What a job is: ``ContainerJobSpec`` (spec §12) with its ``ResourceRequirements`` and
``SidecarSpec``s — plain frozen data any adapter (local processes, Docker) translates.

CPU and memory follow Kubernetes quantities (``"2"``, ``"500m"``, ``"512Mi"``, ``"4Gi"``),
parsed when the object is built so a typo fails at once with the field's name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import JobSpecError

_MEMORY = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E)?\s*$")
_BINARY = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}
_DECIMAL = {"k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_CPU = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<milli>m)?\s*$")


def parse_memory(value: str | int | float | None, where: str) -> int | None:
    """Bytes for a memory quantity (``"512Mi"``, ``"4Gi"``, ``"1G"``, ``1048576``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise JobSpecError(f"{where}: {value!r} is not a memory quantity; use e.g. '512Mi'")
    if isinstance(value, int | float):
        number, unit = float(value), None
    else:
        match = _MEMORY.match(str(value))
        if match is None:
            raise JobSpecError(f"{where}: {value!r} is not a memory quantity; use bytes or a "
                               "suffix such as '512Mi', '4Gi' (1024-based) or '1G' (1000-based)")
        number, unit = float(match["n"]), match["unit"]
    scale = _BINARY.get(unit or "") or _DECIMAL.get(unit or "") or 1
    size = int(number * scale)
    if size <= 0:
        raise JobSpecError(f"{where}: {value!r} must be more than zero bytes")
    return size


def parse_cpu(value: str | int | float | None, where: str) -> float | None:
    """Cores for a CPU quantity (``"2"``, ``"0.5"``, ``"500m"``, ``1.5``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise JobSpecError(f"{where}: {value!r} is not a CPU quantity; use e.g. '2' or '500m'")
    if isinstance(value, int | float):
        cores = float(value)
    else:
        match = _CPU.match(str(value))
        if match is None:
            raise JobSpecError(f"{where}: {value!r} is not a CPU quantity; use cores ('2', "
                               "'0.5') or millicores ('500m')")
        cores = float(match["n"]) / (1000 if match["milli"] else 1)
    if cores <= 0 or not math.isfinite(cores):
        raise JobSpecError(f"{where}: {value!r} must be more than zero cores")
    return cores


def format_bytes(size: int) -> str:
    """``size`` in the largest binary unit that keeps it readable (``64 MiB``)."""
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.4g} {unit}"
    return f"{size} B"


@dataclass(frozen=True)
class ResourceRequirements:
    """CPU, memory and GPU a job asks for (spec §12c).

    ``cpu``/``cpu_request``/``cpu_limit`` are **cores**, as in Kubernetes and Docker's
    ``--cpus``: the local adapter pins the job's processes to ``ceil(limit)`` CPUs
    (``sched_setaffinity``), Docker gives a CFS quota of that many cores. ``cpu_seconds`` is
    CPU **time**: each process of a local job may use that many seconds of CPU before the
    kernel stops it (``RLIMIT_CPU``; Docker: the ``cpu`` ulimit). ``memory_limit`` caps each
    local process's address space (``RLIMIT_AS``; Docker: the container's cgroup limit).
    ``cpu``/``memory`` alone are shorthand for request = limit. A request is what the job
    needs to run at all: an adapter refuses one the machine does not have.
    """

    cpu: str | float | None = None
    memory: str | int | None = None
    cpu_request: str | float | None = None
    cpu_limit: str | float | None = None
    memory_request: str | int | None = None
    memory_limit: str | int | None = None
    cpu_seconds: float | None = None
    gpu_count: int = 0
    gpu_type: str | None = None

    def __post_init__(self) -> None:
        for name in ("cpu", "cpu_request", "cpu_limit"):
            parse_cpu(getattr(self, name), f"resources.{name}")
        for name in ("memory", "memory_request", "memory_limit"):
            parse_memory(getattr(self, name), f"resources.{name}")
        request, limit = self.cpu_request_cores, self.cpu_limit_cores
        if request is not None and limit is not None and request > limit:
            raise JobSpecError(f"resources: cpu_request {self.cpu_request!r} is more than "
                               f"cpu_limit {self.cpu_limit!r}")
        low, high = self.memory_request_bytes, self.memory_limit_bytes
        if low is not None and high is not None and low > high:
            raise JobSpecError(f"resources: memory_request {self.memory_request!r} is more "
                               f"than memory_limit {self.memory_limit!r}")
        if self.cpu_seconds is not None and (isinstance(self.cpu_seconds, bool)
                                             or not self.cpu_seconds > 0):
            raise JobSpecError(f"resources.cpu_seconds: {self.cpu_seconds!r} must be a number "
                               "of seconds above zero")
        if isinstance(self.gpu_count, bool) or not isinstance(self.gpu_count, int) \
                or self.gpu_count < 0:
            raise JobSpecError(f"resources.gpu_count: {self.gpu_count!r} must be an integer >= 0")

    @property
    def cpu_request_cores(self) -> float | None:
        return parse_cpu(self.cpu_request if self.cpu_request is not None else self.cpu, "cpu")

    @property
    def cpu_limit_cores(self) -> float | None:
        return parse_cpu(self.cpu_limit if self.cpu_limit is not None else self.cpu, "cpu")

    @property
    def memory_request_bytes(self) -> int | None:
        value = self.memory_request if self.memory_request is not None else self.memory
        return parse_memory(value, "memory")

    @property
    def memory_limit_bytes(self) -> int | None:
        value = self.memory_limit if self.memory_limit is not None else self.memory
        return parse_memory(value, "memory")

    @property
    def cpu_seconds_limit(self) -> int | None:
        """``cpu_seconds`` rounded up to whole seconds (what ``RLIMIT_CPU`` counts)."""
        return None if self.cpu_seconds is None else max(1, math.ceil(self.cpu_seconds))

    @classmethod
    def from_value(cls, value: ResourceRequirements | Mapping[str, Any] | None,
                   ) -> ResourceRequirements:
        """Accept the object itself or its fields as a dict (YAML, step config)."""
        if value is None:
            return cls()
        if isinstance(value, ResourceRequirements):
            return value
        if not isinstance(value, Mapping):
            raise JobSpecError(f"resources: expected a mapping of cpu/memory fields, got "
                               f"{type(value).__name__}")
        unknown = sorted(set(value) - set(cls.__dataclass_fields__))
        if unknown:
            raise JobSpecError(f"resources: unknown field(s) {', '.join(unknown)}; known: "
                               f"{', '.join(cls.__dataclass_fields__)}")
        return cls(**value)


@dataclass(frozen=True)
class SidecarSpec:
    """A helper process or container that starts before its job and stops after it (§12a).

    With ``ports`` the job waits (``wait_for_sidecars``) until the first port answers: an
    HTTP GET of ``health_check`` returning 2xx/3xx, or a TCP connect without one. The job
    finds it at ``SPINE_SIDECAR_<NAME>_URL`` (``http://127.0.0.1:<port>``).
    """

    name: str
    image: str = ""
    command: Sequence[str] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    ports: Sequence[int] = ()
    health_check: str | None = None
    startup_timeout_seconds: float = 30.0

    @classmethod
    def from_value(cls, value: SidecarSpec | Mapping[str, Any]) -> SidecarSpec:
        """Accept the object itself or its fields as a dict (step config)."""
        if isinstance(value, SidecarSpec):
            return value
        if not isinstance(value, Mapping) or "name" not in value:
            raise JobSpecError(f"sidecars: each sidecar needs at least a name, got {value!r}")
        return cls(**value)


@dataclass(frozen=True)
class ContainerJobSpec:
    """One job: which image and command, its environment, working directory, timeout and
    resources (spec §12).

    The local adapter ignores ``image`` unless it was given ``images`` patterns; ``runtime``
    (``"local"``, ``"docker"``) pins the job to one adapter, else the router chooses.
    ``timeout_seconds=None`` means the adapter's default (one hour locally). Only ``env``
    reaches the process, plus a minimal ``PATH``/``HOME``/``LANG``: never the engine's own
    environment (its secrets).
    """

    name: str
    image: str
    command: Sequence[str] = ()
    args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    timeout_seconds: float | None = None
    resources: ResourceRequirements = field(default_factory=ResourceRequirements)
    labels: Mapping[str, str] = field(default_factory=dict)
    sidecars: Sequence[SidecarSpec] = ()
    wait_for_sidecars: bool = True
    runtime: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.command, str):
            raise JobSpecError(f"job {self.name!r}: command must be a list of arguments, "
                               f"not the string {self.command!r}; e.g. ['python', '-c', '...']")
        object.__setattr__(self, "command", tuple(self.command or ()))
        object.__setattr__(self, "args", tuple(self.args or ()))
        object.__setattr__(self, "env", dict(self.env or {}))
        object.__setattr__(self, "labels", dict(self.labels or {}))
        object.__setattr__(self, "resources", ResourceRequirements.from_value(self.resources))
        object.__setattr__(self, "sidecars",
                           tuple(SidecarSpec.from_value(s) for s in self.sidecars or ()))

    @property
    def argv(self) -> list[str]:
        """The command and its args as one argument vector."""
        return [str(part) for part in (*self.command, *self.args)]
