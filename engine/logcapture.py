"""Per-step capture of ``print`` output and ``logging`` records as ``LogLine`` events.

``sys.stdout``/``sys.stderr`` are swapped (while any capturing run is active) for routers
that look up the calling thread's current step: lines written by a step's thread become
events and are still passed through to the real stream; other threads are untouched.
A root ``logging`` handler does the same for log records. The ``spine.run`` logger is set
to INFO so ``ctx``-style run logging is kept even when the root logger says WARNING.
Known secret values (``engine.secrets.masking``) are replaced by ``[REDACTED]`` in every
captured line, and in what a step's thread passes through to the real stream.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

from .events import Event, LogLine
from .secrets.masking import mask

RUN_LOGGER = "spine.run"
MAX_LINE = 8192

_local = threading.local()
_install_lock = threading.Lock()
_installs = 0
_originals: tuple[TextIO, TextIO] | None = None
_handler: logging.Handler | None = None


class _Target:
    __slots__ = ("emit", "run_id", "workflow", "step", "partial")

    def __init__(self, emit: Callable[[Event], None], run_id: str, workflow: str,
                 step: str) -> None:
        self.emit, self.run_id, self.workflow, self.step = emit, run_id, workflow, step
        self.partial: dict[str, str] = {}

    def line(self, stream: str, level: str, message: str) -> None:
        message = mask(message)
        if len(message) > MAX_LINE:
            message = message[:MAX_LINE] + f"… [{len(message) - MAX_LINE} more characters]"
        self.emit(LogLine(run_id=self.run_id, workflow=self.workflow, at=datetime.now(UTC),
                          step=self.step, stream=stream, level=level, message=message))

    def write(self, stream: str, text: str) -> None:
        pending = self.partial.get(stream, "") + text
        *lines, rest = pending.split("\n")
        self.partial[stream] = rest
        level = "ERROR" if stream == "stderr" else "INFO"
        for line in lines:
            self.line(stream, level, line.rstrip("\r"))

    def flush_partial(self) -> None:
        for stream, rest in self.partial.items():
            if rest:
                self.line(stream, "ERROR" if stream == "stderr" else "INFO", rest)
        self.partial.clear()


class _StreamRouter(io.TextIOBase):
    """Stands in for stdout/stderr: copies a step thread's lines into events."""

    def __init__(self, name: str, original: TextIO) -> None:
        self._name = name
        self._original = original

    def write(self, text: str) -> int:
        target: _Target | None = getattr(_local, "target", None)
        if target is not None:
            target.write(self._name, text)
            self._original.write(mask(text))
            return len(text)
        return self._original.write(text)

    def flush(self) -> None:
        self._original.flush()

    def isatty(self) -> bool:
        return self._original.isatty()

    def fileno(self) -> int:
        return self._original.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._original, "encoding", "utf-8")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class _LogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        target: _Target | None = getattr(_local, "target", None)
        if target is None:
            return
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
        except Exception:  # a bad log call must not fail the step
            message = str(record.msg)
        target.line("log", record.levelname, f"{record.name}: {message}")


def _install() -> None:
    global _installs, _originals, _handler
    with _install_lock:
        _installs += 1
        if _installs > 1:
            return
        _originals = (sys.stdout, sys.stderr)
        sys.stdout = _StreamRouter("stdout", sys.stdout)  # type: ignore[assignment]
        sys.stderr = _StreamRouter("stderr", sys.stderr)  # type: ignore[assignment]
        _handler = _LogHandler(level=logging.NOTSET)
        logging.getLogger().addHandler(_handler)
        run_logger = logging.getLogger(RUN_LOGGER)
        if run_logger.level == logging.NOTSET:
            run_logger.setLevel(logging.INFO)


def _uninstall() -> None:
    global _installs, _originals, _handler
    with _install_lock:
        _installs -= 1
        if _installs > 0:
            return
        if _originals is not None:
            # only restore if nobody replaced our routers in the meantime
            if isinstance(sys.stdout, _StreamRouter):
                sys.stdout = _originals[0]
            if isinstance(sys.stderr, _StreamRouter):
                sys.stderr = _originals[1]
        if _handler is not None:
            logging.getLogger().removeHandler(_handler)
        _originals = _handler = None


@contextmanager
def capturing_run() -> Iterator[None]:
    """Keep the routers installed for the duration of a run."""
    _install()
    try:
        yield
    finally:
        _uninstall()


@contextmanager
def capture_step(emit: Callable[[Event], None], run_id: str, workflow: str,
                 step: str) -> Iterator[None]:
    """Route this thread's prints and log records to ``emit`` while the step runs."""
    previous = getattr(_local, "target", None)
    target = _Target(emit, run_id, workflow, step)
    _local.target = target
    try:
        yield
    finally:
        target.flush_partial()
        _local.target = previous
