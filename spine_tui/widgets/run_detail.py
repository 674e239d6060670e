"""Run-detail region widgets: the run header, the per-step timeline, the outputs and the
artifacts the steps wrote.

``timeline_rows`` turns stored step records into bar positions (pure, testable without a
terminal); ``StepTimeline`` draws them Gantt-style against the run's start, so parallel
steps overlap and a slow step stands out. Steps that ran on a process pool or a Dask worker
(``StepRecord.worker``: ``process:HOST:PID``, ``dask:ADDRESS``) say where, in a column that
appears only when some step ran off the coordinating process (threads leave it blank).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from engine import ArtifactRecord, ArtifactRef, RunRecord, StepRecord

from .status import STATUS_STYLE, format_duration, format_time, human_size, status_text

MAX_VALUE_CHARS = 300
NAME_WIDTH = 18
MAX_NAME_WIDTH = 36
MAX_WORKER_WIDTH = 32


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One step's bar: where it starts and ends as fractions of the run's span."""

    step: str
    status: str
    attempts: int
    start: float | None
    end: float | None
    duration: float | None
    error: str | None
    category: str | None
    worker: str | None = None
    """Where the step's last attempt ran (None: a thread of the coordinating process)."""


def _seconds(value: datetime | None, origin: datetime) -> float | None:
    return None if value is None else (value - origin).total_seconds()


def timeline_rows(run: RunRecord, steps: Sequence[StepRecord],
                  now: datetime | None = None) -> list[TimelineRow]:
    """Bar positions of ``steps`` relative to ``run``'s start (0.0) and end (1.0).

    A step still running ends at ``now`` (or the latest time known), so live bars grow.
    """
    origin = run.started_at or run.created_at
    if origin is None:
        return [TimelineRow(s.step, str(s.status), s.attempts, None, None, s.duration_seconds,
                            s.error, s.error_category, s.worker) for s in steps]
    ends = [t for s in steps for t in (s.started_at, s.finished_at) if t is not None]
    latest = run.finished_at or max([now] if now else ends or [origin])
    span = max((latest - origin).total_seconds(), 1e-9)
    rows = []
    for s in steps:
        start = _seconds(s.started_at, origin)
        end = _seconds(s.finished_at or (latest if s.started_at else None), origin)
        rows.append(TimelineRow(
            s.step, str(s.status), s.attempts,
            None if start is None else min(1.0, max(0.0, start / span)),
            None if end is None else min(1.0, max(0.0, end / span)),
            s.duration_seconds, s.error, s.error_category, s.worker))
    return rows


def bar(row: TimelineRow, width: int) -> Text:
    """A ``width``-cell track with the step's span filled in its status colour."""
    track = Text("·" * width, style="dim")
    if row.start is None or width <= 0:
        return track
    left = min(width - 1, int(row.start * width))
    right = max(left + 1, min(width, round((row.end if row.end is not None else row.start)
                                           * width)))
    style = STATUS_STYLE.get(row.status, "")
    return Text.assemble(track[:left], Text("█" * (right - left), style=style), track[right:])


class RunHeader(Static):
    """Who, what and how a run went: id, workflow, status, times, params, error."""

    run: reactive[RunRecord | None] = reactive(None, layout=True)

    def render(self) -> Text:
        run = self.run
        if run is None:
            return Text("Loading run…", style="italic")
        text = Text()
        text.append(f"{run.workflow}", style="bold")
        text.append(f"  v{run.version}" if run.version is not None else "", style="dim")
        text.append("  ")
        text.append_text(status_text(str(run.status)))
        text.append(f"\nrun {run.run_id}", style="dim")
        if run.partition_key:
            text.append(f"  partition {run.partition_key}", style="dim")
        if run.parent_run_id:
            text.append(f"  parent {run.parent_run_id}", style="dim")
        text.append("\nstarted ", style="dim")
        text.append(format_time(run.started_at or run.created_at))
        if run.started_by:
            text.append(" by ", style="dim")
            text.append(run.started_by)
        text.append("  finished ", style="dim")
        text.append(format_time(run.finished_at))
        text.append("  took ", style="dim")
        text.append(format_duration(run.duration_seconds))
        if run.source:
            text.append("  source ", style="dim")
            text.append(run.source)
        text.append("\nparams ", style="dim")
        text.append(json.dumps(run.params, default=repr, ensure_ascii=False) if run.params
                    else "—")
        if run.error:
            text.append("\nerror ", style="dim")
            where = f"{run.error_step}: " if run.error_step else ""
            text.append(where + run.error, style="red")
        return text


def worker_width(rows: Sequence[TimelineRow]) -> int:
    """Cells for the worker column: 0 when every step ran on a thread of the coordinator,
    else the longest worker label within ``MAX_WORKER_WIDTH``."""
    longest = max((len(row.worker) for row in rows if row.worker), default=0)
    return min(MAX_WORKER_WIDTH, longest)


def fit_worker(label: str, width: int) -> str:
    """``label`` in ``width`` cells, cut in the middle so the kind (``process:``) and the
    part that tells workers apart (the pid, the port) both stay."""
    if len(label) <= width:
        return label
    tail = max(1, width // 2)
    return label[:width - tail - 1] + "…" + label[-tail:]


class StepTimeline(Static):
    """Each step on one line: status, attempts, a bar over the run's span, duration, where it
    ran (only when some step ran on another process), error."""

    rows: reactive[tuple[TimelineRow, ...]] = reactive((), layout=True)

    def render(self) -> Text:
        if not self.rows:
            return Text("no steps recorded yet", style="italic")
        width = self.size.width or 100
        # names as wide as the longest (a map's items are ``fan[12].inner``), within reason
        names = min(MAX_NAME_WIDTH, max(NAME_WIDTH, *(len(row.step) for row in self.rows)))
        workers = worker_width(self.rows)
        gap = workers + 1 if workers else 0
        errors = max(20, 40 - gap // 2)  # cells kept for errors; the worker column takes some
        bar_width = max(10, min(60, width - names - 26 - errors - gap))
        lines = Text(no_wrap=True, overflow="ellipsis")
        for n, row in enumerate(self.rows):
            if n:
                lines.append("\n")
            line = Text(no_wrap=True)
            name = row.step if len(row.step) <= names else row.step[:names - 1] + "…"
            line.append(f"{name:<{names}} ", style="bold")
            status = status_text(row.status)
            status.truncate(12, pad=True)
            line.append_text(status)
            line.append(f" {'×' + str(row.attempts) if row.attempts > 1 else '':>3} ",
                        style="yellow")
            line.append_text(bar(row, bar_width))
            line.append(f" {format_duration(row.duration):>7} ")
            if workers:
                line.append(f"{fit_worker(row.worker or '', workers):<{workers}} ",
                            style="cyan")
            if row.category:
                line.append(f"{row.category} ", style="bold red")
            if row.error:
                line.append(row.error.replace("\n", " "), style="red")
            line.truncate(width, overflow="ellipsis")
            lines.append_text(line)
        return lines


def truncate_json(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """Compact JSON of ``value``, cut at ``limit`` characters with how much was left out."""
    text = json.dumps(value, default=repr, ensure_ascii=False)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (+{len(text) - limit:,} chars)"


class OutputsView(Static):
    """Each completed step's output as one line of (truncated) JSON."""

    outputs: reactive[Mapping[str, Any]] = reactive(dict, layout=True)

    def render(self) -> Table | Text:
        if not self.outputs:
            return Text("no outputs yet", style="italic")
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        for step, value in self.outputs.items():
            grid.add_row(step, Text(truncate_json(compact_refs(value)), style="green"))
        return grid


def compact_refs(value: Any) -> Any:
    """``value`` with each artifact ref shown as ``⇒ key (size)``: the artifacts list below
    has the rest, and a ref's full JSON would crowd out the output's own fields."""
    if ArtifactRef.is_ref_dict(value):
        return f"⇒ {value.get('key')} ({human_size(int(value.get('size_bytes') or 0))})"
    if isinstance(value, Mapping):
        return {key: compact_refs(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [compact_refs(item) for item in value]
    return value


class ArtifactsView(Static):
    """The artifact refs the run's steps returned: where the big data went, how big it is
    and which bytes (SHA-256 prefix) a later step will insist on reading."""

    artifacts: reactive[tuple[ArtifactRecord, ...]] = reactive((), layout=True)

    def render(self) -> Table | Text:
        if not self.artifacts:
            return Text("no artifacts", style="italic")
        table = Table(box=None, padding=(0, 1), header_style="dim", show_edge=False,
                      expand=False)
        table.add_column("step", style="bold", no_wrap=True)
        table.add_column("key", overflow="fold")
        table.add_column("size", justify="right", no_wrap=True)
        table.add_column("type", no_wrap=True)
        table.add_column("sha256", style="dim", no_wrap=True)
        table.add_column("created", no_wrap=True)
        for artifact in self.artifacts:
            table.add_row(artifact.step or "—", artifact.key, human_size(artifact.size_bytes),
                          artifact.content_type or "—", artifact.checksum[:12],
                          format_time(artifact.created_at, date=False))
        return table


class ApprovalsView(Static):
    """The run's approval requests: pending ones with the keys that decide them."""

    approvals: reactive[tuple[Any, ...]] = reactive((), layout=True)

    def render(self) -> Text:
        text = Text()
        for n, approval in enumerate(self.approvals):
            if n:
                text.append("\n")
            text.append(f"{approval.step} ", style="bold")
            if approval.status == "pending":
                text.append("⏸ waiting for approval", style="bold cyan")
                if approval.message:
                    text.append(f": {approval.message}")
                text.append("  (a approves, j rejects)", style="dim")
            else:
                style = "green" if approval.status == "approved" else "red"
                text.append(approval.status, style=style)
                if approval.decided_by:
                    text.append(f" by {approval.decided_by}", style="dim")
                if approval.comment:
                    text.append(f": {approval.comment}", style="dim")
        return text
