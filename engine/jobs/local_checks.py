"""What the local adapter decides before it starts a process: the job's isolated
environment, where its program is, and whether this machine can give the resources asked
for — each a specific error, raised before anything runs."""

from __future__ import annotations

import math
import os
import resource
import shutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from .errors import CommandNotFoundError, JobSpecError, ResourceLimitError, UnsupportedSpecError
from .process import Limits
from .spec import ContainerJobSpec, ResourceRequirements, format_bytes

#: program names that mean "a Python": the engine's own when PATH has none
_PYTHON_NAMES = frozenset({"python", "python3"})
#: parent variables every job gets besides its spec's env: where programs are, home, language
MINIMAL_ENV = ("HOME", "LANG")


def job_path() -> str:
    """``PATH`` for jobs: the running interpreter's folder first (so ``python`` is the engine's
    own Python, with its packages), then the engine's ``PATH`` (it holds no secrets)."""
    here = os.path.dirname(sys.executable)
    inherited = os.environ.get("PATH", os.defpath)
    return here + os.pathsep + inherited if here else inherited


def base_env(pass_env: Iterable[str] = ()) -> dict[str, str]:
    """The minimal environment under a job's own variables: ``PATH``, ``HOME``, ``LANG``,
    unbuffered Python output (so lines stream live), and any names in ``pass_env``."""
    env = {"PATH": job_path(), "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}
    for name in (*MINIMAL_ENV, *pass_env):
        value = os.environ.get(name)
        if value is not None:
            env[name] = value
    return env


def resolve_program(program: str, path: str, working_dir: str | None, job: str,
                    field: str = "command[0]") -> str:
    """The absolute path of ``program`` (looked up on ``path``, or relative to the job's
    ``working_dir``), or ``CommandNotFoundError`` saying where it looked."""
    if os.sep in program or (os.altsep and os.altsep in program):
        candidate = Path(program)
        if not candidate.is_absolute():
            if working_dir is None:
                raise CommandNotFoundError(
                    f"job {job!r}: {field} {program!r} is a relative path and the job has no "
                    "working_dir to resolve it against; give an absolute path or working_dir")
            candidate = Path(working_dir) / candidate
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
        state = "is not executable (chmod +x)" if candidate.is_file() else "does not exist"
        raise CommandNotFoundError(f"job {job!r}: {field} {str(candidate)!r} {state}")
    found = shutil.which(program, path=path)
    if found is None and program in _PYTHON_NAMES:
        return sys.executable  # no `python` on this PATH: the engine's own interpreter
    if found is None:
        raise CommandNotFoundError(
            f"job {job!r}: {field} {program!r} was not found on the job's PATH "
            f"({path}); install it, give its absolute path, or fix the spelling")
    return found


def machine_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity), in order."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # no affinity API: every CPU counts
        return list(range(os.cpu_count() or 1))


def machine_memory() -> int | None:
    """Physical memory in bytes, or None when the platform does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def resource_problems(job: str, resources: ResourceRequirements) -> list[JobSpecError]:
    """What this machine cannot give of ``resources`` (GPUs, cores, memory, rlimit ceilings)."""
    problems: list[JobSpecError] = []
    where = f"job {job!r}: resources"
    if resources.gpu_count:
        problems.append(UnsupportedSpecError(
            f"{where}.gpu_count={resources.gpu_count}: local processes get no GPUs; run "
            "this job on an adapter that supports them (capabilities.supports_gpu)"))
    cpus = len(machine_cpus())
    for label, cores in (("cpu_request", resources.cpu_request_cores),
                         ("cpu_limit", resources.cpu_limit_cores)):
        if cores is not None and cores > cpus:
            problems.append(ResourceLimitError(
                f"{where}.{label}: {cores:g} cores asked, this machine gives {cpus}"))
    memory = machine_memory()
    for label, size in (("memory_request", resources.memory_request_bytes),
                        ("memory_limit", resources.memory_limit_bytes)):
        if size is not None and memory is not None and size > memory:
            problems.append(ResourceLimitError(
                f"{where}.{label}: {format_bytes(size)} asked, this machine has "
                f"{format_bytes(memory)}"))
    checks = ((resource.RLIMIT_AS, resources.memory_limit_bytes, "memory_limit", "RLIMIT_AS"),
              (resource.RLIMIT_CPU, None if resources.cpu_seconds_limit is None
               else resources.cpu_seconds_limit + 1, "cpu_seconds", "RLIMIT_CPU"))
    for kind, wanted, label, name in checks:
        hard = resource.getrlimit(kind)[1]
        if wanted is not None and hard != resource.RLIM_INFINITY and wanted > hard:
            problems.append(ResourceLimitError(
                f"{where}.{label}: {wanted} is above this process's hard {name} of {hard}, "
                "which a job cannot raise"))
    return problems


def limits_for(resources: ResourceRequirements) -> Limits:
    """The kernel limits that enforce ``resources`` on a local job."""
    cores = resources.cpu_limit_cores
    cpus = None
    if cores is not None:
        allowed = machine_cpus()
        wanted = min(len(allowed), max(1, math.ceil(cores)))
        cpus = tuple(allowed[:wanted]) if wanted < len(allowed) else None
    return Limits(memory_bytes=resources.memory_limit_bytes,
                  cpu_seconds=resources.cpu_seconds_limit, cpus=cpus)


def spec_env(spec: ContainerJobSpec, extra: Mapping[str, str], pass_env: Iterable[str],
             ) -> dict[str, str]:
    """The job's whole environment: minimal base, then ``extra`` (job ids, sidecar URLs),
    then the spec's own ``env``, which wins."""
    return {**base_env(pass_env), **extra, **spec.env}
