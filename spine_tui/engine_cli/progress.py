"""Live run progress for ``spine-engine run``, driven only by the runner's event stream.

``LiveProgress`` is a rich renderable (redrawn by ``rich.live.Live`` for terminals);
``LineProgress`` writes one line per event for logs and CI, where redrawing is noise.
Both ignore events of other runs (e.g. sub-workflow children) and fields they do not know.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import TextIO

from rich.console import Group, RenderableType
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from engine import Event, RunFinished, RunStarted, StepFinished, StepRetrying, StepStarted

#: Status -> (icon, style) used by the live table and the final summary.
ICONS: dict[str, tuple[str, str]] = {
    "pending": ("·", "dim"), "running": ("▶", "cyan"), "retrying": ("↻", "yellow"),
    "completed": ("✓", "green"), "failed": ("✗", "red"), "skipped": ("–", "dim"),
    "cancelled": ("⊘", "yellow"), "interrupted": ("↯", "magenta"), "queued": ("…", "blue"),
    "paused": ("‖", "yellow"), "waiting": ("…", "blue"),
}


@dataclass
class StepLine:
    """What the display knows about one step so far."""

    name: str
    status: str = "pending"
    attempt: int = 0
    started: float | None = None
    duration: float | None = None
    detail: str = ""

    def elapsed(self) -> float | None:
        if self.duration is not None:
            return self.duration
        return None if self.started is None else time.monotonic() - self.started


class LiveProgress:
    """Per-step state for one run, updated by events from any thread, rendered on refresh."""

    def __init__(self, run_id: str, workflow: str, step_names: list[str]) -> None:
        self.run_id = run_id
        self.workflow = workflow
        self.lines = {name: StepLine(name) for name in step_names}
        self.run_status = "running"
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._spinner = Spinner("dots", style="cyan")

    def __call__(self, event: Event) -> None:
        if event.run_id != self.run_id:
            return
        with self._lock:
            self._apply(event)

    def restored(self, steps: Collection[str]) -> None:
        """Show steps a resumed run keeps from its earlier attempt as completed."""
        with self._lock:
            for name in steps:
                line = self.lines.setdefault(name, StepLine(name))
                line.status, line.detail = "completed", "restored"

    def _apply(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            for name in event.step_names:
                self.lines.setdefault(name, StepLine(name))
            return
        if isinstance(event, RunFinished):
            self.run_status = event.status
            return
        step = getattr(event, "step", None)
        if step is None:
            return
        line = self.lines.setdefault(step, StepLine(step))
        if isinstance(event, StepStarted):
            line.status, line.attempt = "running", event.attempt
            if line.started is None:
                line.started = time.monotonic()
            if event.attempt > 1:
                line.detail = line.detail.split("; retry in", 1)[0]
        elif isinstance(event, StepRetrying):
            line.status, line.attempt = "retrying", event.attempt
            line.detail = (f"attempt {event.attempt - 1} failed: {event.error or '?'}"
                           f"{_category(event.category)}; retry in {event.delay_seconds:g}s")
        elif isinstance(event, StepFinished):
            line.status, line.attempt = event.status, event.attempt
            line.duration = event.duration_seconds
            line.detail = (f"{event.error or ''}{_category(event.category)}"
                           if event.status != "completed" else "")

    def __rich__(self) -> RenderableType:
        with self._lock:
            lines = [StepLine(**vars(line)) for line in self.lines.values()]
            run_status = self.run_status
        done = sum(line.status in ("completed", "failed", "skipped", "cancelled")
                   for line in lines)
        head = Text.assemble(("● " if run_status == "running" else "■ ", "cyan"),
                             (self.workflow, "bold"),
                             f"  {done}/{len(lines)} steps  "
                             f"{time.monotonic() - self._started:.1f}s")
        table = Table.grid(padding=(0, 2))
        for _ in range(5):
            table.add_column()
        for line in lines:
            icon, style = ICONS.get(line.status, ("?", ""))
            mark: RenderableType = (self._spinner if line.status == "running"
                                    else Text(icon, style=style))
            elapsed = line.elapsed()
            table.add_row(
                mark, Text(line.name, style="bold" if line.status == "running" else ""),
                Text(line.status, style=style),
                Text(f"attempt {line.attempt}" if line.attempt > 1 else "", style="yellow"),
                Text((f"{elapsed:.2f}s" if elapsed is not None else "")
                     + (f"  {line.detail}" if line.detail else ""),
                     style="red" if line.status == "failed" else "dim"),
            )
        return Group(head, table)


class LineProgress:
    """One plain line per event on ``stream``: readable in CI logs and when piped."""

    def __init__(self, run_id: str, stream: TextIO) -> None:
        self.run_id = run_id
        self.stream = stream
        self._lock = threading.Lock()

    def restored(self, steps: Collection[str]) -> None:
        """One line per step a resumed run keeps from its earlier attempt."""
        with self._lock:
            for name in steps:
                self.stream.write(f"  ✓ {name} restored from the earlier attempt\n")
            self.stream.flush()

    def __call__(self, event: Event) -> None:
        if event.run_id != self.run_id:
            return
        text = self._format(event)
        if text:
            with self._lock:
                self.stream.write(text + "\n")
                self.stream.flush()

    @staticmethod
    def _format(event: Event) -> str | None:
        if isinstance(event, StepStarted):
            again = f" (attempt {event.attempt})" if event.attempt > 1 else ""
            return f"  ▶ {event.step} started{again}"
        if isinstance(event, StepRetrying):
            return (f"  ↻ {event.step} failed: {event.error or '?'}{_category(event.category)}; "
                    f"attempt {event.attempt} in {event.delay_seconds:g}s")
        if isinstance(event, StepFinished):
            icon = ICONS.get(event.status, ("?", ""))[0]
            tail = (f": {event.error}{_category(event.category)}"
                    if event.error and event.status != "completed" else "")
            return (f"  {icon} {event.step} {event.status} in "
                    f"{event.duration_seconds:.2f}s{tail}")
        return None


def _category(category: str | None) -> str:
    return f" [{category}]" if category else ""
