"""Catalog region widgets: the sortable workflow table, the details line and the load errors.

Rows are frozen ``WorkflowRow`` views built from discovery results, so filtering and sorting
are pure functions (``matches``, ``sort_rows``) that tests can call without a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from .status import STATUS_ICON, STATUS_STYLE, format_time, sparkline, status_text

if TYPE_CHECKING:
    from engine import Catalog, DiscoveredWorkflow, LoadError
    from engine.store import WorkflowStats

    from ..messages import LiveRun

COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Name"), ("domain", "Domain"), ("tags", "Tags"), ("steps", "Steps"),
    ("version", "Ver"), ("last_run", "Last run"), ("success", "Success"),
    ("trend", "Recent"), ("mode", "Mode"), ("source", "Source"),
)
SORT_KEYS = [key for key, _ in COLUMNS]
SORT_KEY_NAMES = [*"1234567890"]
TAGS_WIDTH = 20
TREND_RUNS = 12


@dataclass(frozen=True, slots=True)
class WorkflowRow:
    """What the catalog shows for one discovered workflow."""

    name: str
    domain: str
    tags: tuple[str, ...]
    steps: int
    version: int
    mode: str
    source: str  # shown relative to the folder it was found in
    description: str = ""
    kind: str = "python"
    schedule: str | None = None
    defaults: dict[str, Any] = field(default_factory=dict, compare=False)
    item: DiscoveredWorkflow | None = field(default=None, compare=False, repr=False)
    runs: int = 0
    last_status: str | None = None
    last_at: datetime | None = None
    success: float | None = None
    durations: tuple[float, ...] = ()
    live: str = ""
    """Progress of a run started here that is still going (e.g. ``2/4``)."""
    problem: str = ""
    """Why the file's latest version did not load (this row shows the last good one)."""
    cached_cells: tuple[Text, ...] = field(default=(), compare=False, repr=False)

    @property
    def last_run(self) -> float:
        return self.last_at.timestamp() if self.last_at else 0.0

    @property
    def trend(self) -> float:
        return self.durations[-1] if self.durations else 0.0

    def cells(self) -> tuple[Text, ...]:
        """The table cells, computed once per row (filtering only picks rows)."""
        if not self.cached_cells:
            object.__setattr__(self, "cached_cells", self._make_cells())
        return self.cached_cells

    def _make_cells(self) -> tuple[Text, ...]:
        tags = ", ".join(self.tags) or "—"
        if len(tags) > TAGS_WIDTH:  # long tag lists would push the other columns off screen
            tags = tags[:TAGS_WIDTH - 1] + "…"
        if self.live:
            last = status_text("running")
            last.append(f" {self.live}")
        elif self.last_status:
            last = Text.assemble((STATUS_ICON.get(self.last_status, "?"),
                                  STATUS_STYLE.get(self.last_status, "")),
                                 " ", format_time(self.last_at)[5:16])
        else:
            last = Text("never", style="dim")
        success = "—" if self.success is None else f"{self.success:.0%}"
        source: str | Text = self.source
        if self.problem:
            source = Text.assemble((self.source, ""), (" ⚠", "bold red"))
        values = (self.name, self.domain or "—", tags, str(self.steps), f"v{self.version}",
                  last, success, sparkline(self.durations[-TREND_RUNS:]), self.mode, source)
        return tuple(v if isinstance(v, Text) else Text(v) for v in values)


def display_path(path: str, roots: Iterable[str] = ()) -> str:
    """``path`` relative to the scanned folder that holds it (deterministic, short), else its name."""
    target = Path(path)
    for root in roots:
        base = Path(root)
        if target == base:
            return target.name
        try:
            return target.relative_to(base).as_posix()
        except ValueError:
            continue
    return target.name


def rows_from_catalog(catalog: Catalog, stats: Mapping[str, WorkflowStats] | None = None,
                      live: Mapping[str, LiveRun] | None = None) -> list[WorkflowRow]:
    """One row per workflow of an ``engine`` catalog, in discovery order, with its stored
    history from ``stats`` and the progress of runs started here from ``live``."""
    stats = stats or {}
    going = {run.workflow: f"{run.done}/{len(run.steps)}"
             for run in (live or {}).values() if not run.finished}
    problems: dict[str, str] = {}
    for error in catalog.errors:
        problems.setdefault(str(Path(error.path).resolve()), str(error))
    rows = []
    for item in catalog.workflows:
        wf = item.workflow
        policy = wf.execution_policy
        mode = policy.mode.value
        if mode == "parallel":
            mode = f"parallel ×{policy.max_concurrency}"
        history = stats.get(wf.name)
        problem = problems.get(str(Path(item.source).resolve()), "") if problems else ""
        rows.append(WorkflowRow(
            name=wf.name, domain=wf.domain, tags=tuple(wf.tags), steps=len(wf.steps),
            version=wf.version, mode=mode, source=display_path(item.source, catalog.paths),
            description=wf.description, kind=item.kind, schedule=wf.schedule,
            defaults=dict(wf.defaults), item=item,
            runs=history.runs if history else 0,
            last_status=history.last_status if history else None,
            last_at=history.last_at if history else None,
            success=history.success_rate if history else None,
            durations=history.durations if history else (),
            live=going.get(wf.name, ""), problem=problem,
        ))
    return rows


def is_subsequence(needle: str, haystack: str) -> bool:
    """True when every character of ``needle`` appears in ``haystack`` in order."""
    chars = iter(haystack)
    return all(c in chars for c in needle)


def matches(row: WorkflowRow, query: str) -> bool:
    """Case-insensitive: each word of ``query`` is a subsequence of the name, domain or a tag,
    or appears literally in the description (subsequences of prose match almost anything)."""
    fields = [f.lower() for f in (row.name, row.domain, *row.tags) if f]
    prose = row.description.lower()
    return all(any(is_subsequence(word, f) for f in fields) or word in prose
               for word in query.lower().split())


def sort_rows(rows: Iterable[WorkflowRow], column: str, reverse: bool = False
              ) -> list[WorkflowRow]:
    """Rows ordered by one column (numbers numerically, text case-insensitively), then name."""
    def key(row: WorkflowRow) -> tuple[Any, str]:
        value = getattr(row, column)
        if value is None:
            value = -1.0
        if isinstance(value, tuple):
            value = ", ".join(value)
        if isinstance(value, str):
            value = value.lower()
        return value, row.name.lower()

    return sorted(rows, key=key, reverse=reverse)


class WorkflowDetails(Static):
    """Description, source and defaults of the highlighted workflow (or a hint when none)."""

    row: reactive[WorkflowRow | None] = reactive(None, layout=True)
    hint: reactive[str] = reactive("", layout=True)

    def render(self) -> Text:
        row = self.row
        if row is None:
            return Text(self.hint, style="italic")
        text = Text()
        text.append(row.name, style="bold")
        text.append(f"  v{row.version}  {row.mode}\n", style="dim")
        text.append(row.description or "(no description)")
        text.append("\nsource: ", style="dim")
        text.append(f"{row.source} ({row.kind})")
        if row.schedule:
            text.append("   schedule: ", style="dim")
            text.append(row.schedule)
        if row.defaults:
            text.append("   defaults: ", style="dim")
            text.append(json.dumps(row.defaults, default=repr))
        if row.runs:
            text.append(f"\n{row.runs:,} stored runs, last ", style="dim")
            text.append_text(status_text(row.last_status))
            text.append(f" at {format_time(row.last_at)}", style="dim")
        if row.problem:
            text.append("\n⚠ the file's latest version did not load (showing the last good "
                        "one): ", style="bold red")
            text.append(row.problem, style="red")
        return text


class LoadErrors(Static):
    """Files that failed to load, each as ``file:line: message``; hidden when there are none."""

    errors: reactive[tuple[str, ...]] = reactive((), layout=True)

    def watch_errors(self, errors: tuple[str, ...]) -> None:
        self.display = bool(errors)
        count = len(errors)
        self.border_title = f"⚠ {count} file{'s' if count != 1 else ''} could not be loaded"

    def render(self) -> Text:
        return Text("\n".join(self.errors))


def format_load_errors(errors: Sequence[LoadError], roots: Iterable[str] = ()
                       ) -> tuple[str, ...]:
    """``file:line: message`` lines for ``engine`` load errors, paths shown like table sources."""
    roots = list(roots)
    lines = []
    for error in errors:
        where = display_path(error.path, roots)
        if error.line:
            where += f":{error.line}"
        lines.append(f"{where}: {error.message}")
    return tuple(lines)
