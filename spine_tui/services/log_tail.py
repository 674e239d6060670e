"""The thread side of the log tail (toolong-style): sequence numbers in, lines on demand.

``SeqIndex`` holds which lines the view shows, as a range while the sequence numbers are
contiguous (no filter: O(1) memory however long the run logs) and as a compact ``array``
once a filter makes gaps. ``LogTailer`` runs in a worker thread: it polls the store for new
sequence numbers after the last one seen, loads the text of exactly the lines the view asks
for, and searches; it reports through callbacks, so it knows nothing about Textual.
"""

from __future__ import annotations

import queue
import threading
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from engine import LogRecord, RunStore
from engine.store import find_log, log_seqs, logs_by_seq


class SeqIndex:
    """The ordered sequence numbers of the lines a log view shows."""

    __slots__ = ("_array", "_count", "_first")

    def __init__(self) -> None:
        self._first = 0
        self._count = 0
        self._array: array[int] | None = None

    def __len__(self) -> int:
        return len(self._array) if self._array is not None else self._count

    def __getitem__(self, index: int) -> int:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._array[index] if self._array is not None else self._first + index

    @property
    def last(self) -> int:
        """The newest sequence number (0 when empty)."""
        return self[len(self) - 1] if len(self) else 0

    def extend(self, seqs: Sequence[int]) -> None:
        if not seqs:
            return
        if self._array is None:
            if self._count == 0:
                self._first = seqs[0]
            contiguous = (seqs[0] == self._first + self._count
                          and seqs[-1] - seqs[0] == len(seqs) - 1)
            if contiguous:
                self._count += len(seqs)
                return
            self._array = array("q", range(self._first, self._first + self._count))
        self._array.extend(seqs)

    def index_of(self, seq: int) -> int | None:
        """Position of ``seq`` in the view, or None when it is not shown."""
        if self._array is None:
            index = seq - self._first
            return index if 0 <= index < self._count else None
        index = bisect_left(self._array, seq)
        return index if index < len(self._array) and self._array[index] == seq else None

    def window(self, start: int, stop: int) -> list[int]:
        start, stop = max(0, start), min(len(self), stop)
        if self._array is None:
            return list(range(self._first + start, self._first + stop))
        return list(self._array[start:stop])

    @property
    def nbytes(self) -> int:
        return self._array.buffer_info()[1] * self._array.itemsize if self._array else 0


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Which lines a log view shows: one step (or all), at or above a level (or all)."""

    step: str | None = None
    min_level: str | None = None


@dataclass(frozen=True, slots=True)
class _Fetch:
    seqs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Find:
    generation: int
    text: str
    from_seq: int
    forward: bool


class LogTailer:
    """Follows one run's log lines in the store for a view, from any process that writes it.

    The UI thread calls ``set_filter``/``drain``/``fetch``/``find``/``pause``; the worker
    thread calls ``run``. New sequence numbers are collected under a lock and announced with
    ``on_grew`` (the view drains them when it gets to it), so a flood costs the UI one
    message per poll, not one per line.
    """

    POLL_SECONDS = 0.1
    RETRY_SECONDS = 1.0
    BATCH = 50_000

    def __init__(self, store: RunStore, run_id: str, *,
                 on_grew: Callable[[int], None],
                 on_lines: Callable[[list[LogRecord]], None],
                 on_found: Callable[[int, str, int | None], None],
                 on_error: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.run_id = run_id
        self._on_grew, self._on_lines, self._on_found = on_grew, on_lines, on_found
        self._on_error = on_error
        self._lock = threading.Lock()
        self._requests: queue.SimpleQueue[_Fetch | _Find | None] = queue.SimpleQueue()
        self._filter = LogFilter()
        self._generation = 0
        self._after = 0
        self._new = array("q")
        self._paused = False

    # ------------------------------------------------------------------ UI thread
    def set_filter(self, log_filter: LogFilter) -> int:
        """Start over with another filter; returns the generation later messages carry."""
        with self._lock:
            self._filter = log_filter
            self._generation += 1
            self._after = 0
            self._new = array("q")
            generation = self._generation
        self._requests.put(None)  # poll at once
        return generation

    def drain(self, generation: int) -> array[int]:
        """New sequence numbers since the last drain (empty if the filter changed since)."""
        with self._lock:
            if generation != self._generation:
                return array("q")
            new, self._new = self._new, array("q")
            return new

    def fetch(self, seqs: Iterable[int]) -> None:
        self._requests.put(_Fetch(tuple(seqs)))

    def find(self, generation: int, text: str, from_seq: int, forward: bool) -> None:
        self._requests.put(_Find(generation, text, from_seq, forward))

    def pause(self, paused: bool) -> None:
        with self._lock:
            self._paused = paused
        if not paused:
            self._requests.put(None)

    # ------------------------------------------------------------------ worker thread
    def run(self, cancelled: Callable[[], bool]) -> None:
        """Poll and serve requests until ``cancelled()``; a store error is reported through
        ``on_error`` (once until it recovers) and the loop tries again a second later."""
        next_poll = 0.0
        failing = False
        while not cancelled():
            timeout = max(0.0, next_poll - time.monotonic())
            try:
                request = self._requests.get(timeout=timeout)
            except queue.Empty:
                request = None
            if cancelled():
                return
            try:
                if isinstance(request, _Fetch):
                    self._serve_fetch(request)
                elif isinstance(request, _Find):
                    self._serve_find(request)
                if time.monotonic() >= next_poll or request is None:
                    self._poll()
                    next_poll = time.monotonic() + self.POLL_SECONDS
                failing = False
            except Exception as exc:  # e.g. the store file vanished: say so, keep trying
                if isinstance(request, _Fetch):
                    self._requests.put(request)
                if not failing and self._on_error is not None:
                    self._on_error(f"reading logs of run {self.run_id}: {exc}")
                failing = True
                next_poll = time.monotonic() + self.RETRY_SECONDS
                time.sleep(self.RETRY_SECONDS)

    def _poll(self) -> None:
        with self._lock:
            if self._paused:
                return
            log_filter, generation, after = self._filter, self._generation, self._after
        seqs = log_seqs(self.store, self.run_id, after, step=log_filter.step,
                        min_level=log_filter.min_level, limit=self.BATCH)
        if not seqs:
            return
        with self._lock:
            if generation != self._generation:
                return  # the filter changed while we read: the next poll starts over
            self._new.extend(seqs)
            self._after = seqs[-1]
        self._on_grew(generation)

    def _serve_fetch(self, request: _Fetch) -> None:
        wanted = list(request.seqs)
        while True:  # coalesce queued fetches into one query
            try:
                more = self._requests.get_nowait()
            except queue.Empty:
                break
            if isinstance(more, _Fetch):
                wanted.extend(more.seqs)
            elif more is not None:
                self._requests.put(more)
                break
        self._on_lines(logs_by_seq(self.store, self.run_id, sorted(set(wanted))))

    def _serve_find(self, request: _Find) -> None:
        with self._lock:
            log_filter = self._filter
        seq = find_log(self.store, self.run_id, request.text, request.from_seq,
                       forward=request.forward, step=log_filter.step,
                       min_level=log_filter.min_level)
        self._on_found(request.generation, request.text, seq)
