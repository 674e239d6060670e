"""``ChangeSignal``: wakes coroutines on any event loop when a job changes (new output, exit),
from the thread that watches the job, without polling and without losing a wake-up."""

from __future__ import annotations

import asyncio
import threading


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class ChangeSignal:
    """A version counter plus the futures waiting for it to move past a value."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self.version = 0

    def notify(self) -> None:
        """Something changed: bump the version and wake every waiter (any thread)."""
        with self._lock:
            self.version += 1
            waiting, self._waiting = self._waiting, []
        for loop, future in waiting:
            try:
                loop.call_soon_threadsafe(_resolve, future)
            except RuntimeError:  # that waiter's loop is closed: nobody to wake
                continue

    async def wait_past(self, version: int) -> None:
        """Return once the version is no longer ``version`` (at once if it already moved)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self.version != version:
                return
            future: asyncio.Future[None] = loop.create_future()
            self._waiting.append((loop, future))
        await future
