"""``LogRelay``: a remote step's captured lines reach the run's log exactly once, in order.

Workers send each line live (a queue for processes, a Dask topic for Dask) *and* all of them
with the task's outcome. Whatever arrived live is emitted at once; when the outcome comes, the
lines not yet seen are emitted before the step finishes and the task is closed, so a late live
line is dropped instead of landing after the run has ended.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

#: one captured line: (epoch seconds, stream, level, message)
Line = tuple[float, str, str, str]
Sink = Callable[[Line], None]


class LogRelay:
    """Per-task sinks for live lines, keyed by task id; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, tuple[Sink, set[int]]] = {}

    def open(self, task_id: str, sink: Sink) -> None:
        with self._lock:
            self._open[task_id] = (sink, set())

    def live(self, task_id: str, index: int, line: Line) -> None:
        """A line as the worker captured it (dropped when its task is closed or unknown)."""
        with self._lock:
            entry = self._open.get(task_id)
            if entry is None or index in entry[1]:
                return
            entry[1].add(index)
            sink = entry[0]
            # emitted under the lock: the task's close() must not overtake this line
            sink(line)

    def close(self, task_id: str, lines: Iterable[Line] = ()) -> None:
        """Emit the task's lines that did not arrive live, then stop relaying it."""
        with self._lock:
            entry = self._open.pop(task_id, None)
            if entry is None:
                return
            sink, seen = entry
            for index, line in enumerate(lines):
                if index not in seen:
                    sink(line)

    def discard(self, task_id: str) -> None:
        """Stop relaying a task whose result will not be used (cancelled, timed out)."""
        with self._lock:
            self._open.pop(task_id, None)
