"""``ProcessTree``: one job's processes, started in a session of their own with rlimits
applied, their output read line by line by a supervisor thread that also enforces the
timeout and kills the whole process group (SIGTERM, then SIGKILL after a grace) on timeout,
on cancel, and when the main process exits leaving children behind — as a container stops.

The supervisor waits on the pipes and a pidfd (Linux) in one ``select``, so nothing polls;
without pidfds it checks the process every 50 ms. It works from any thread and does not
depend on an event loop, so a job outlives the coroutine that submitted it.
"""

from __future__ import annotations

import contextlib
import os
import resource
import selectors
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .status import JobLogLine

#: a line longer than this is cut into pieces of this size
MAX_PARTIAL = 1 << 20
#: lines kept per job; older ones are dropped (the count says how many)
MAX_LINES = 200_000
_POLL = 0.05


@dataclass(frozen=True, slots=True)
class Limits:
    """What the kernel enforces on every process of a job: address space (``RLIMIT_AS``),
    CPU seconds (``RLIMIT_CPU``) and the CPUs it may run on (affinity)."""

    memory_bytes: int | None = None
    cpu_seconds: int | None = None
    cpus: tuple[int, ...] | None = None

    def preexec(self) -> Callable[[], None] | None:
        """The function the child runs between fork and exec, or None when there is nothing
        to apply (then the fast spawn path stays available)."""
        if self.memory_bytes is None and self.cpu_seconds is None and not self.cpus:
            return None
        memory, cpu, cpus = self.memory_bytes, self.cpu_seconds, self.cpus

        def apply() -> None:  # runs in the child: no locks, no imports, nothing but syscalls
            if memory is not None:
                resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            if cpu is not None:  # SIGXCPU at the soft limit, SIGKILL a second later
                resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            if cpus:
                os.sched_setaffinity(0, cpus)

        return apply


@dataclass(frozen=True, slots=True)
class Exit:
    """How a job's main process ended: its return code (negative: the signal), whether the
    supervisor killed it and why (``timeout``/``cancelled``), and its CPU time."""

    returncode: int
    killed_for: str | None
    cpu_seconds: float


def _open_pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfds (old kernel, not Linux): poll instead
        return None


def live_members(pgid: int) -> list[int]:
    """Pids of the process group's members that are still alive (zombies are dead: they
    only wait for their parent, or init, to collect them)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return []
    try:
        entries = os.listdir("/proc")
    except OSError:  # no /proc to tell zombies apart: the group still exists
        return [pgid]
    alive = []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            alive.append(int(entry))
    return alive


class ProcessTree:
    """A job's process group: ``start`` it, read its lines, ``kill`` it, ``wait`` for it."""

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: str,
                 limits: Limits = Limits(), timeout: float | None = None, grace: float = 5.0,
                 on_change: Callable[[], None] | None = None,
                 on_finish: Callable[[ProcessTree], None] | None = None) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self.limits = limits
        self.timeout = timeout
        self.grace = grace
        self._on_change = on_change
        self._on_finish = on_finish
        self._lock = threading.Lock()
        self._lines: list[JobLogLine] = []
        self._dropped = 0
        self._stderr_tail: deque[str] = deque(maxlen=20)
        self._partial = {"stdout": b"", "stderr": b""}
        self._finished = threading.Event()
        self._kill_reason: str | None = None
        self._killed_for: str | None = None
        self._returncode: int | None = None
        self._cpu = 0.0
        self.pid = 0
        self.started_at = 0.0
        self.finished_at: float | None = None
        self.exit: Exit | None = None

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        """Spawn the main process (raises ``OSError``/``SubprocessError`` if it cannot).

        The supervisor thread starts first and waits for the process: a thread started just
        after a fork waits for a CPU the new child is busy with (≈ 2-5 ms on two cores).
        """
        spawned = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        threading.Thread(target=self._supervise_when, args=(spawned,), name="spine-job",
                         daemon=True).start()
        try:
            self._proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=self.env, cwd=self.cwd, start_new_session=True,
                preexec_fn=self.limits.preexec(), close_fds=True)
        except BaseException:
            for fd in (self._wake_r, self._wake_w):
                os.close(fd)
            spawned.set()  # without a process: the supervisor returns at once
            raise
        self.pid = self._proc.pid
        self.started_at = time.time()
        self._deadline = None if self.timeout is None else time.monotonic() + self.timeout
        spawned.set()

    def _supervise_when(self, spawned: threading.Event) -> None:
        spawned.wait()
        if self.pid:
            self._supervise()

    def kill(self, reason: str = "cancelled") -> None:
        """Ask the supervisor to kill the whole tree (returns at once; ``wait`` to see it go)."""
        if self._finished.is_set() or self._kill_reason is not None:
            return
        self._kill_reason = reason
        with contextlib.suppress(OSError):  # the supervisor is already closing down
            os.write(self._wake_w, b"k")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the tree is gone and its output read; False if ``timeout`` passed."""
        return self._finished.wait(timeout)

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    # ------------------------------------------------------------------ output
    def read(self, index: int) -> tuple[list[JobLogLine], int]:
        """Lines from absolute position ``index`` on, and the position after them."""
        with self._lock:
            start = max(index, self._dropped)
            lines = self._lines[start - self._dropped:]
            return lines, self._dropped + len(self._lines)

    @property
    def stderr_tail(self) -> list[str]:
        with self._lock:
            return list(self._stderr_tail)

    def _feed(self, stream: str, chunk: bytes, final: bool = False) -> None:
        pending = self._partial[stream] + chunk
        pieces = pending.split(b"\n")
        rest = pieces.pop()
        lines = [JobLogLine(stream, p.decode("utf-8", "replace") + "\n") for p in pieces]
        if rest and (final or len(rest) >= MAX_PARTIAL):
            lines.append(JobLogLine(stream, rest.decode("utf-8", "replace")))
            rest = b""
        self._partial[stream] = rest
        if not lines:
            return
        with self._lock:
            self._lines.extend(lines)
            if stream == "stderr":
                self._stderr_tail.extend(line.text.rstrip("\n") for line in lines)
            if len(self._lines) > MAX_LINES:
                drop = len(self._lines) - MAX_LINES // 2
                del self._lines[:drop]
                self._dropped += drop
        if self._on_change is not None:
            self._on_change()

    # ------------------------------------------------------------------ supervision
    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def _reap(self, block: bool) -> bool:
        try:
            pid, status, usage = os.wait4(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere: keep what Popen knows
            self._returncode = self._proc.returncode if self._proc.returncode is not None else -1
            return True
        if pid == 0:
            return False
        self._returncode = os.waitstatus_to_exitcode(status)
        self._proc.returncode = self._returncode
        self._cpu = usage.ru_utime + usage.ru_stime
        return True

    def _supervise(self) -> None:
        proc = self._proc
        assert proc.stdout is not None and proc.stderr is not None
        selector = selectors.DefaultSelector()
        open_streams = 0
        for pipe, name in ((proc.stdout, "stdout"), (proc.stderr, "stderr")):
            os.set_blocking(pipe.fileno(), False)
            selector.register(pipe.fileno(), selectors.EVENT_READ, name)
            open_streams += 1
        selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        pidfd = _open_pidfd(self.pid)
        if pidfd is not None:
            selector.register(pidfd, selectors.EVENT_READ, "exit")
        exited = False
        kill_at: float | None = None
        drain_until: float | None = None
        try:
            while True:
                now = time.monotonic()
                if not exited and self._killed_for is None:
                    reason = self._kill_reason
                    if reason is None and self._deadline is not None and now >= self._deadline:
                        reason = "timeout"
                    if reason is not None:
                        self._killed_for = reason
                        self._signal_group(signal.SIGTERM)
                        kill_at = now + self.grace
                if kill_at is not None and now >= kill_at:
                    self._signal_group(signal.SIGKILL)
                    kill_at = None
                if not exited and pidfd is None and self._reap(block=False):
                    exited, kill_at, drain_until = True, *self._after_exit(now, kill_at)
                if exited and (open_streams == 0 or (drain_until is not None
                                                     and now >= drain_until)):
                    break
                wake_at = [t for t in (kill_at, drain_until) if t is not None]
                if not exited and self._killed_for is None and self._deadline is not None:
                    wake_at.append(self._deadline)
                wait = max(0.0, min(wake_at) - now) if wake_at else None
                if not exited and pidfd is None:
                    wait = _POLL if wait is None else min(wait, _POLL)
                for key, _ in selector.select(wait):
                    if key.data == "wake":
                        with contextlib.suppress(BlockingIOError):
                            os.read(self._wake_r, 64)
                    elif key.data == "exit":
                        selector.unregister(key.fd)
                        os.close(key.fd)
                        pidfd = None
                        self._reap(block=True)
                        exited = True
                        kill_at, drain_until = self._after_exit(time.monotonic(), kill_at)
                    else:
                        chunk = _read(key.fd)
                        if chunk:
                            self._feed(key.data, chunk)
                        elif chunk is not None:
                            selector.unregister(key.fd)
                            open_streams -= 1
        finally:
            selector.close()
            if pidfd is not None:
                os.close(pidfd)
            self._finish()

    def _after_exit(self, now: float, kill_at: float | None) -> tuple[float | None, float]:
        """The main process is gone: stop what it left in its group (a container stops when
        its main process does); read the pipes until they close or the grace is over."""
        if live_members(self.pid):
            if kill_at is None:
                self._signal_group(signal.SIGTERM)
                kill_at = now + self.grace
            return kill_at, now + self.grace + 1.0
        return kill_at, now + 0.5

    def _finish(self) -> None:
        if live_members(self.pid):
            self._signal_group(signal.SIGKILL)
            give_up = time.monotonic() + 2.0
            while live_members(self.pid) and time.monotonic() < give_up:
                time.sleep(0.01)
        if self._returncode is None:  # the supervisor itself failed: do not leave a process
            self._signal_group(signal.SIGKILL)
            self._reap(block=True)
        for stream in ("stdout", "stderr"):
            self._feed(stream, b"", final=True)
        for pipe in (self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                pipe.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.exit = Exit(self._returncode if self._returncode is not None else -1,
                         self._killed_for, self._cpu)
        self.finished_at = time.time()
        self._finished.set()
        if self._on_change is not None:
            self._on_change()
        if self._on_finish is not None:
            self._on_finish(self)


def _read(fd: int) -> bytes | None:
    """The next chunk of a pipe: bytes, ``b""`` at its end, None when nothing is there yet."""
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return None
    except OSError:
        return b""
