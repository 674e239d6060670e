"""A local job's sidecars (spec §12a): helper processes started before the job, checked
until ready (an HTTP health path or an open port), and stopped, whole tree, after it."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Iterable, Sequence

from .errors import SidecarError
from .local_checks import base_env, job_path, resolve_program
from .process import ProcessTree
from .spec import SidecarSpec

_PROBE_EVERY = 0.05


def sidecar_url_var(name: str) -> str:
    """The variable a job reads its sidecar's address from: ``SPINE_SIDECAR_<NAME>_URL``."""
    return f"SPINE_SIDECAR_{re.sub(r'[^A-Z0-9]', '_', name.upper())}_URL"


async def probe(port: int, path: str | None, timeout: float = 1.0) -> bool:
    """Whether 127.0.0.1:``port`` answers: a TCP connect, or GET ``path`` with a 2xx/3xx."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port),
                                                timeout)
    except (OSError, TimeoutError):
        return False
    try:
        if path is None:
            return True
        writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n"
                     "Connection: close\r\n\r\n".encode("ascii"))
        await writer.drain()
        status = (await asyncio.wait_for(reader.readline(), timeout)).split()
        return len(status) >= 2 and status[1][:1] in (b"2", b"3")
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


class LocalSidecars:
    """The sidecar processes of one job."""

    def __init__(self, job: str, sidecars: Sequence[SidecarSpec], cwd: str,
                 pass_env: Iterable[str] = (), grace: float = 5.0) -> None:
        self.job = job
        self.specs = list(sidecars)
        self.cwd = cwd
        self.pass_env = tuple(pass_env)
        self.grace = grace
        self.trees: dict[str, ProcessTree] = {}

    def env_for_job(self) -> dict[str, str]:
        """Where the job finds each sidecar that listens on a port."""
        return {sidecar_url_var(s.name): f"http://127.0.0.1:{s.ports[0]}"
                for s in self.specs if s.ports}

    async def start(self, wait: bool = True) -> None:
        """Start every sidecar, then (with ``wait``) return once all are ready; on any
        failure the ones started are stopped and ``SidecarError`` says which and why."""
        try:
            for sidecar in self.specs:
                env = {**base_env(self.pass_env), "SPINE_SIDECAR_NAME": sidecar.name,
                       **({"PORT": str(sidecar.ports[0])} if sidecar.ports else {}),
                       **sidecar.env}
                argv = [str(part) for part in sidecar.command or ()]
                argv[0] = resolve_program(argv[0], env.get("PATH", job_path()), None, self.job,
                                          f"sidecar {sidecar.name!r} command[0]")
                tree = ProcessTree(argv, env=env, cwd=self.cwd, grace=self.grace)
                try:
                    tree.start()
                except (OSError, ValueError) as exc:
                    raise SidecarError(f"job {self.job!r}: sidecar {sidecar.name!r} could not "
                                       f"start: {exc}") from exc
                self.trees[sidecar.name] = tree
            if wait:
                await asyncio.gather(*(self._ready(s) for s in self.specs))
        except BaseException:
            self.stop()
            raise

    async def _ready(self, sidecar: SidecarSpec) -> None:
        tree = self.trees[sidecar.name]
        deadline = time.monotonic() + sidecar.startup_timeout_seconds
        target = (f"GET http://127.0.0.1:{sidecar.ports[0]}{sidecar.health_check}"
                  if sidecar.health_check else
                  f"port {sidecar.ports[0]}" if sidecar.ports else "")
        while True:
            if tree.finished:
                tail = "; ".join(tree.stderr_tail[-3:])
                code = tree.exit.returncode if tree.exit else "?"
                raise SidecarError(f"job {self.job!r}: sidecar {sidecar.name!r} exited with "
                                   f"code {code} before it was ready" + (f": {tail}" if tail else ""))
            if not sidecar.ports or await probe(sidecar.ports[0], sidecar.health_check):
                return
            if time.monotonic() >= deadline:
                raise SidecarError(
                    f"job {self.job!r}: sidecar {sidecar.name!r} was not ready after "
                    f"{sidecar.startup_timeout_seconds:g}s ({target} did not answer); the job "
                    "did not run")
            await asyncio.sleep(_PROBE_EVERY)

    def stop(self) -> None:
        """Kill every sidecar's process tree (returns at once)."""
        for tree in self.trees.values():
            tree.kill("stopped")

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Block until every sidecar is gone."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for tree in self.trees.values():
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not tree.wait(left):
                return False
        return True
