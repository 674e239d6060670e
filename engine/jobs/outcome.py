"""Turn how a job's process ended into a state and a message that says which it was: a
timeout, the memory or CPU limit, a signal, or a non-zero exit."""

from __future__ import annotations

import re
import signal
from collections.abc import Sequence

from .process import Exit, Limits
from .spec import format_bytes
from .status import FailureReason, JobState

#: what a process printed when an allocation failed under RLIMIT_AS
_OUT_OF_MEMORY = re.compile(r"MemoryError|Cannot allocate memory|bad_alloc|out of memory|"
                            r"failed to map segment|memory allocation failed|ENOMEM",
                            re.IGNORECASE)
_CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS}


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def describe_exit(name: str, exit: Exit, limits: Limits, timeout: float | None,
                  stderr_tail: Sequence[str]) -> tuple[JobState, FailureReason | None, str | None]:
    """The job's final state, why it failed, and a message naming the cause."""
    rc = exit.returncode
    if exit.killed_for == "timeout":
        return (JobState.FAILED, FailureReason.TIMEOUT,
                f"job {name!r} exceeded its timeout of {timeout:g}s; its process tree was killed")
    if exit.killed_for is not None:
        return (JobState.CANCELLED, FailureReason.CANCELLED,
                f"job {name!r} was cancelled; its process tree was killed")
    if rc == 0:
        return JobState.SUCCEEDED, None, None
    last = next((line for line in reversed(stderr_tail) if line.strip()), "")
    memory = limits.memory_bytes
    if rc < 0:
        sig = -rc
        if limits.cpu_seconds is not None and (
                sig == signal.SIGXCPU
                or (sig == signal.SIGKILL and exit.cpu_seconds >= limits.cpu_seconds)):
            return (JobState.FAILED, FailureReason.CPU,
                    f"job {name!r} used up its CPU-time limit of {limits.cpu_seconds}s "
                    f"(resources.cpu_seconds, RLIMIT_CPU) and was killed by {_signal_name(sig)}")
        if memory is not None and _OUT_OF_MEMORY.search("\n".join(stderr_tail)):
            return (JobState.FAILED, FailureReason.MEMORY,
                    f"job {name!r} ran out of memory under its limit of {format_bytes(memory)} "
                    f"(resources.memory_limit, RLIMIT_AS) and died of {_signal_name(sig)}")
        hint = ""
        if memory is not None and sig in _CRASH_SIGNALS:
            hint = (f"; it ran with a memory limit of {format_bytes(memory)} (RLIMIT_AS), "
                    "which a failed allocation can end this way")
        elif sig == signal.SIGKILL:
            hint = "; nothing here sent it: the kernel's out-of-memory killer does"
        return (JobState.FAILED, FailureReason.SIGNAL,
                f"job {name!r} was killed by {_signal_name(sig)}{hint}")
    if memory is not None and _OUT_OF_MEMORY.search("\n".join(stderr_tail)):
        return (JobState.FAILED, FailureReason.MEMORY,
                f"job {name!r} ran out of memory under its limit of {format_bytes(memory)} "
                f"(resources.memory_limit, RLIMIT_AS): {last}")
    detail = f": {last}" if last else ""
    return JobState.FAILED, FailureReason.EXIT_CODE, f"job {name!r} exited with code {rc}{detail}"
