"""The tables of the Schedules & Triggers screen: one row per schedule or trigger, keyed by
name, so a refresh keeps the cursor on the row it was on.

Relative times ("in 5h12m", "2m ago") are measured from the ``now`` the screen passes in
(the app's clock, which tests freeze), never from the wall clock here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from engine import RunRecord
from engine.store import ScheduleRecord

from ..services.schedules import ScheduleRow, TriggerRow
from .status import format_time, status_text

SCHEDULE_COLUMNS = ("State", "Schedule", "Workflow", "Cron", "Next fire", "Last result", "From")
TRIGGER_COLUMNS = ("State", "Trigger", "Kind", "Source", "Workflow", "Filter", "Last run",
                   "Fired")
NAME_CHARS = 20
DETAIL_CHARS = 22
FILTER_CHARS = 18


def format_relative(seconds: float) -> str:
    """``in 5h12m`` for a time ``seconds`` ahead, ``3m ago`` for one behind, ``now`` near 0."""
    ahead = seconds >= 0
    left = int(abs(seconds))
    if left < 1:
        return "now"
    days, rest = divmod(left, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        span = f"{days}d{hours}h" if hours else f"{days}d"
    elif hours:
        span = f"{hours}h{minutes:02d}m"
    elif minutes:
        span = f"{minutes}m"
    else:
        span = f"{secs}s"
    return f"in {span}" if ahead else f"{span} ago"


def when(moment: datetime | None, now: float) -> str:
    """``2026-01-31 06:00 (in 5h12m)``: the local time to the minute and how far it is."""
    if moment is None:
        return "—"
    return f"{format_time(moment)[:16]} ({format_relative(moment.timestamp() - now)})"


def state_text(enabled: bool) -> Text:
    return Text("● on", style="green") if enabled else Text("‖ paused", style="cyan")


def cron_text(record: ScheduleRecord) -> str:
    """The cron expression, with its zone unless it is UTC."""
    return record.cron if record.timezone == "UTC" else f"{record.cron} {record.timezone}"


def run_result(run: RunRecord | None, now: float, *, missing: str = "—") -> Text:
    """``✓ completed 2h ago`` for a run, in its status colour."""
    if run is None:
        return Text(missing, style="dim")
    text = status_text(str(run.status))
    if run.created_at is not None:
        text.append(f" {format_relative(run.created_at.timestamp() - now)}", style="dim")
    return text


def schedule_cells(row: ScheduleRow, now: float) -> tuple[Any, ...]:
    """The table cells of one schedule; a paused one shows no next fire (it will not fire)."""
    record = row.schedule
    if not record.enabled:
        next_fire: str | Text = Text("— paused", style="dim")
    elif record.next_fire_at is not None and record.next_fire_at < now:
        next_fire = Text(when(record.next_fire, now), style="yellow")  # no loop is firing it
    else:
        next_fire = when(record.next_fire, now)
    missing = "never fired" if record.last_run_id is None else "run gone"
    return (state_text(record.enabled), _cut(record.name, NAME_CHARS),
            _cut(record.workflow, NAME_CHARS), cron_text(record), next_fire,
            run_result(row.last_run, now, missing=missing), Text(record.declared_in, style="dim"))


def trigger_cells(row: TriggerRow, now: float) -> tuple[Any, ...]:
    """The table cells of one trigger; ``Fired`` counts the runs it started."""
    return (state_text(row.enabled), _cut(row.name, NAME_CHARS), row.kind,
            _cut(row.detail, DETAIL_CHARS), _cut(row.workflow, NAME_CHARS),
            Text(_cut(row.filter or "—", FILTER_CHARS), style="dim"),
            run_result(row.last_run, now, missing="never fired"), str(row.fired))


class KeyedTable(DataTable[Any]):
    """A row-cursor table refilled whole on every refresh, keeping the cursor's row by key."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Last run"),
    ]

    def __init__(self, columns: Sequence[str], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._columns = tuple(columns)
        self._shown: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def on_mount(self) -> None:
        self.add_columns(*self._columns)

    @property
    def highlighted_key(self) -> str | None:
        """The name on the cursor's row (None when the table is empty)."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def show_rows(self, rows: Sequence[tuple[str, tuple[Any, ...]]]) -> bool:
        """Show ``(key, cells)`` rows; returns False (and redraws nothing) when unchanged."""
        shown = tuple(rows)
        if shown == self._shown:
            return False
        keep = self.highlighted_key
        self._shown = shown
        self.clear()
        for key, cells in shown:
            self.add_row(*cells, key=key)
        keys = [key for key, _ in shown]
        if keep in keys:
            self.move_cursor(row=keys.index(keep), animate=False)
        return True


def schedule_details(row: ScheduleRow, now: float) -> Text:
    """Everything about one schedule for the line under the tables, its last error in red."""
    record = row.schedule
    origin = ("declared by the workflow" if record.declared_in == "workflow"
              else "created through the CLI or API")
    text = Text.assemble((record.name, "bold"), "  ", state_text(record.enabled),
                         f"  runs {record.workflow} at '{record.cron}' ({record.timezone})"
                         f" · misfire {record.misfire} · {origin}")
    if record.enabled:
        text.append(f"\nnext fire {when(record.next_fire, now)}")
        if record.next_fire_at is not None and record.next_fire_at < now:
            text.append("  overdue: schedules fire while `spine-engine serve` or "
                        "`spine-engine schedules run` is running", style="yellow")
    else:
        text.append("\npaused: e resumes it from its next time after now; f fires it once now")
    text.append(f" · last fire {when(record.last_fire, now)}")
    _append_run(text, record.last_run_id, row.last_run, now)
    if record.params:
        text.append(f"\nparams {record.params}", style="dim")
    return text


def trigger_details(row: TriggerRow, now: float) -> Text:
    """Everything about one trigger for the line under the tables, its last error in red."""
    text = Text.assemble((row.name, "bold"), "  ", state_text(row.enabled),
                         f"  {row.kind} {row.detail} → starts {row.workflow}")
    if row.kind == "webhook":
        text.append(f" · POST /webhooks/trigger/{row.name} on `spine-engine serve`",
                    style="dim")
    if row.filter:
        text.append(f"\nfilter {row.filter}", style="dim")
    if row.param_mapping:
        mapping = ", ".join(f"{key}={path}" for key, path in row.param_mapping)
        text.append(f"\nparams from the event: {mapping}", style="dim")
    noun = "run" if row.fired == 1 else "runs"
    text.append(f"\n{row.fired} {noun} started")
    last_id = row.last_run.run_id if row.last_run is not None else None
    _append_run(text, last_id, row.last_run, now)
    return text


def _append_run(text: Text, run_id: str | None, run: RunRecord | None, now: float) -> None:
    """`` · last run ID ✓ completed 2h ago`` (Enter opens it) and its error, if any."""
    if run_id is None:
        text.append(" · never fired", style="dim")
        return
    text.append(f" · last run {run_id} ")
    if run is None:
        text.append("(no longer stored)", style="dim")
        return
    text.append_text(run_result(run, now))
    text.append("  Enter opens it", style="dim")
    if run.error:
        where = f"{run.error_step}: " if run.error_step else ""
        error = run.error.replace("\n", " ")
        text.append(f"\n{where}{error}", style="red")


def _cut(value: str, chars: int) -> str:
    return value if len(value) <= chars else value[:chars - 1] + "…"
