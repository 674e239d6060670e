"""Operations: the circuit breakers, dead letters and alerts of the run store, refreshed live.

A timer asks a worker to re-read the store every ``refresh_seconds`` while the screen is shown
(one read at a time), so breakers opened and items quarantined by runs in any process appear
here. Purging an item, resetting a breaker and sending a failed alert again are writes done
in workers too; a read begun before a write is dropped, so the row does not flicker back.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.events import DescendantFocus
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker

from engine import CircuitState, DeadLetter, RunStore
from engine.store import AlertRecord
from spine_tui.services import operations as service
from spine_tui.services.operations import BreakerRow, OperationsView
from spine_tui.widgets.alerts_table import (
    AlertsBox,
    OpsTable,
    alert_details,
    alert_summary,
    fields_text,
    shorten,
)
from spine_tui.widgets.schedules_table import when
from spine_tui.widgets.status import format_time
from spine_tui.workbench import workbench

BREAKER_COLUMNS = ("State", "Breaker", "Failures", "Thresholds", "Opened", "Open until")
LETTER_COLUMNS = ("Id", "Queue", "Workflow", "Step", "Error", "Created", "Tries")
ERROR_CHARS = 32
PAYLOAD_CHARS = 4000
NO_BREAKERS = ("No circuit breakers yet. Guard a step with Step.lambda_(..., "
               "circuit_breaker='name') or use CircuitBreaker('name') in a handler; a breaker "
               "is listed from its first use.")
NO_LETTERS = ("The dead-letter queue is empty. Handlers add items with "
              "DLQManager().add('queue', payload, error=...); `spine-engine dlq replay` runs "
              "them again.")
_STATES = {CircuitState.CLOSED: ("● closed", "green"), CircuitState.OPEN: ("✖ open", "red"),
           CircuitState.HALF_OPEN: ("◐ half-open", "yellow")}


class OpsDetailsScreen(ModalScreen[None]):
    """Everything about one breaker, dead letter or alert; Escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, title: str, body: Text) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="ops-details-body") as box:
            box.border_title = self.title_text
            box.border_subtitle = "Esc closes"
            yield Static(self.body)


class OperationsScreen(Screen[None]):
    """Circuit breakers, dead letters and alerts: p purges an item, x resets a breaker, s sends
    a failed alert again, Enter details."""

    SUB_TITLE = "Breakers, DLQ & alerts"
    AUTO_FOCUS = "#breakers"
    HELP = ("The circuit breakers and the dead-letter queue kept in the run store, as every "
            "process sees them. A breaker opens after its failure threshold of consecutive "
            "failures and refuses calls until its recovery timeout has passed; then it is "
            "half-open and lets trial calls through (shown half-open here as soon as the "
            "timeout has passed). x resets the highlighted breaker (closed, counts cleared). "
            "Dead letters are the pending items workflows quarantined, oldest first: p purges "
            "the highlighted one (kept in the store, no longer listed or replayed); replay them "
            "with `spine-engine dlq replay`. Alerts are the outbox of alerts runs raised, newest "
            "first, pending until sent, then delivered or failed: s sends the highlighted "
            "failed alert again now with fresh attempts (as `spine-engine alerts retry`). "
            "Enter shows everything about the highlighted row, the payload too. Tab moves "
            "between the tables; r reads the store again.")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "purge", "Purge"),
        Binding("x", "reset_breaker", "Reset"),
        Binding("s", "retry_alert", "Retry"),
        Binding("r", "refresh", "Refresh", show=False),
    ]

    @dataclass
    class Loaded(Message):
        view: OperationsView
        generation: int

    @dataclass
    class LoadFailed(Message):
        error: str

    @dataclass
    class Changed(Message):
        """A purge, a reset or an alert's retry was stored (or failed with ``error``)."""

        what: str
        error: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.view: OperationsView | None = None
        self._generation = 0  # a write bumps it: reads begun before are dropped
        self._reading: Worker[None] | None = None
        self._writes = 0  # writes in flight: the timer reads nothing until they are stored
        self._visible = True
        self._write_lock = threading.Lock()  # one write at a time, in the order asked

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="ops-problem")
        with Vertical(id="brk-box"):
            yield OpsTable(BREAKER_COLUMNS, id="breakers")
            yield Static(NO_BREAKERS, id="brk-empty", classes="empty")
        with Vertical(id="dlq-box"):
            yield OpsTable(LETTER_COLUMNS, id="letters")
            yield Static(NO_LETTERS, id="dlq-empty", classes="empty")
        yield AlertsBox(id="alert-box")
        yield Static(id="ops-details")
        yield Footer()

    @property
    def breakers_table(self) -> OpsTable:
        return self.query_one("#breakers", OpsTable)

    @property
    def letters_table(self) -> OpsTable:
        return self.query_one("#letters", OpsTable)

    @property
    def alerts_table(self) -> OpsTable:
        return self.query_one(AlertsBox).table

    def on_mount(self) -> None:
        self.query_one("#ops-problem").display = False
        self.query_one("#brk-box").border_title = "Circuit breakers"
        self.query_one("#dlq-box").border_title = "Dead letters"
        self.watch(self.app, "store", self.action_refresh)
        self.watch(self.app, "store_error", self._show_problem)
        self.set_interval(workbench(self.app).settings.refresh_seconds, self._tick)

    def on_screen_suspend(self) -> None:
        self._visible = False

    def on_screen_resume(self) -> None:
        self._visible = True
        self.action_refresh()

    # ------------------------------------------------------------------ reading
    def _tick(self) -> None:
        reading = self._reading is not None and self._reading.is_running
        if self._visible and not reading and self._writes == 0:
            self.action_refresh()

    def action_refresh(self) -> None:
        """Read the breakers, dead letters and alerts again."""
        store = workbench(self.app).store
        if store is not None:
            self._reading = self._load(store, self._generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="operations")
    def _load(self, store: RunStore, generation: int) -> None:
        try:
            view = service.load(store, workbench(self.app).clock)
        except Exception as exc:  # shown above the tables; the next tick tries again
            self.post_message(self.LoadFailed(f"reading breakers, dead letters and alerts from "
                                              f"{store.path}: {type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.Loaded(view, generation))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.generation == self._generation:
            self._show_problem("")
            self._show(message.view)

    @on(LoadFailed)
    def _load_failed(self, message: LoadFailed) -> None:
        self._show_problem(message.error)

    def _show_problem(self, error: str) -> None:
        problem = self.query_one("#ops-problem", Static)
        problem.update(Text(error, style="bold red"))
        problem.display = bool(error)

    def _show(self, view: OperationsView) -> None:
        self.view = view
        now = view.read_at
        self.breakers_table.show_rows([(b.record.name, breaker_cells(b, now))
                                       for b in view.breakers])
        self.letters_table.show_rows([(str(item.id), letter_cells(item)) for item in view.letters])
        self.query_one("#brk-empty").display = not view.breakers
        self.query_one("#dlq-empty").display = not view.letters
        opened = sum(b.effective is not CircuitState.CLOSED for b in view.breakers)
        self.query_one("#brk-box").border_title = (
            f"Circuit breakers ({len(view.breakers)}, {opened} not closed)")
        queues = ", ".join(f"{name} {count}" for name, count in view.queues)
        self.query_one("#dlq-box").border_title = (
            f"Dead letters ({sum(c for _, c in view.queues)} pending{': ' if queues else ''}"
            f"{queues})")
        self.query_one(AlertsBox).show(view.alerts, view.alert_counts)
        self._show_details()
        self.refresh_bindings()

    @on(DataTable.RowHighlighted)
    @on(DescendantFocus)
    def _show_details(self) -> None:
        """Summarise the highlighted row of the focused table (breakers when none is)."""
        details = self.query_one("#ops-details", Static)
        if self.view is None:
            return
        if self.focused is self.letters_table:
            item = self._highlighted_letter()
            details.update(letter_summary(item) if item else "")
        elif self.focused is self.alerts_table:
            alert = self._highlighted_alert()
            details.update(alert_summary(alert) if alert else "")
        else:
            row = self._highlighted_breaker()
            details.update(breaker_summary(row, self.view.read_at) if row else "")

    def _highlighted_breaker(self) -> BreakerRow | None:
        name = self.breakers_table.highlighted_key
        rows = self.view.breakers if self.view is not None else ()
        return next((r for r in rows if r.record.name == name), None)

    def _highlighted_letter(self) -> DeadLetter | None:
        key = self.letters_table.highlighted_key
        items = self.view.letters if self.view is not None else ()
        return next((i for i in items if str(i.id) == key), None)

    def _highlighted_alert(self) -> AlertRecord | None:
        return self.query_one(AlertsBox).highlighted

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Purge acts on the highlighted item, reset on the highlighted breaker, send again on
        the highlighted failed alert: shown disabled when their table is not focused or has
        no such row."""
        if action == "purge":
            return True if self.focused is self.letters_table and \
                self._highlighted_letter() else None
        if action == "reset_breaker":
            return True if self.focused is self.breakers_table and \
                self._highlighted_breaker() else None
        if action == "retry_alert":
            alert = self._highlighted_alert() if self.focused is self.alerts_table else None
            return True if alert is not None and alert.status == "failed" else None
        return True

    def action_purge(self) -> None:
        """Purge the highlighted dead letter (a soft delete: it stays in the store)."""
        item = self._highlighted_letter()
        store = workbench(self.app).store
        if item is None or store is None or self.view is None:
            return
        self._generation += 1  # the row leaves now; older reads would bring it back
        self._show(replace(self.view, letters=tuple(
            i for i in self.view.letters if i.id != item.id)))
        clock = workbench(self.app).clock
        self._write(f"dead letter {item.id}", lambda: service.purge(store, [item.id], clock))

    def action_reset_breaker(self) -> None:
        """Close the highlighted breaker and clear its counts."""
        row = self._highlighted_breaker()
        store = workbench(self.app).store
        if row is None or store is None:
            return
        clock = workbench(self.app).clock
        self._write(f"breaker {row.record.name}",
                    lambda: service.reset_breaker(store, row.record, clock))

    def action_retry_alert(self) -> None:
        """Send the highlighted failed alert again now, with fresh attempts."""
        alert = self._highlighted_alert()
        store = workbench(self.app).store
        if alert is None or alert.status != "failed" or store is None:
            return
        self._write(f"alert {alert.id}",
                    lambda: retry_problem(service.retry_alert(store, alert.id)))

    def _write(self, what: str, write: Callable[[], object]) -> None:
        self._writes += 1  # the timer reads nothing until it is stored
        self._run_write(what, write)

    @work(thread=True, exit_on_error=False, group="operations-write")
    def _run_write(self, what: str, write: Callable[[], object]) -> None:
        """One write at a time, in the order asked; a str it returns is a problem to show."""
        try:
            with self._write_lock:
                result = write()
        except Exception as exc:  # a locked or broken store: say so, the next read shows truth
            result = f"{type(exc).__name__}: {exc}"
        self.post_message(self.Changed(what, result if isinstance(result, str) else ""))

    @on(Changed)
    def _changed(self, message: Changed) -> None:
        self._writes -= 1
        if message.error:
            self.notify(message.error, title=f"Could not change {message.what}",
                        severity="error", timeout=6)
        self._generation += 1
        self.action_refresh()

    @on(DataTable.RowSelected)
    def _open_details(self, event: DataTable.RowSelected) -> None:
        """Enter: everything about the chosen breaker, dead letter or alert."""
        if self.view is None or event.row_key.value is None:
            return
        key = str(event.row_key.value)
        if event.data_table is self.letters_table:
            item = next((i for i in self.view.letters if str(i.id) == key), None)
            if item is not None:
                self.app.push_screen(OpsDetailsScreen(f"Dead letter {item.id}",
                                                   letter_details(item)))
        elif event.data_table is self.alerts_table:
            alert = self.query_one(AlertsBox).find(key)
            if alert is not None:
                self.app.push_screen(OpsDetailsScreen(f"Alert {alert.id}", alert_details(alert)))
        else:
            row = next((r for r in self.view.breakers if r.record.name == key), None)
            if row is not None:
                self.app.push_screen(OpsDetailsScreen(f"Circuit breaker {row.record.name}",
                                                   breaker_details(row, self.view.read_at)))


# ---------------------------------------------------------------------- cells and texts
def retry_problem(alert: AlertRecord) -> str:
    """Why an alert sent again is not delivered ("" when it is)."""
    if alert.status == "delivered":
        return ""
    return f"it is {alert.status}: {alert.last_error or 'no error recorded'}"


def state_text(state: CircuitState) -> Text:
    label, style = _STATES[state]
    return Text(label, style=style)


def breaker_cells(row: BreakerRow, now: float) -> tuple[Any, ...]:
    record = row.record
    until = record.open_until
    return (state_text(row.effective), record.name,
            f"{record.failures}/{record.failure_threshold}", thresholds(row),
            format_time(record.opened), when(None if until is None else _moment(until), now))


def thresholds(row: BreakerRow) -> str:
    record = row.record
    return (f"open at {record.failure_threshold}, {record.recovery_timeout:g}s, "
            f"close at {record.success_threshold}")


def letter_cells(item: DeadLetter) -> tuple[Any, ...]:
    return (str(item.id), item.queue, item.workflow or "—", item.step or "—",
            Text(shorten(error_line(item), ERROR_CHARS), style="red"),
            format_time(item.created), str(item.attempts))


def error_line(item: DeadLetter) -> str:
    category = f"[{item.error_category}] " if item.error_category else ""
    first = (item.error or "").strip().splitlines()
    return f"{category}{first[0] if first else '—'}"


def breaker_summary(row: BreakerRow, now: float) -> Text:
    record = row.record
    text = Text.assemble((record.name, "bold"), "  ", state_text(row.effective),
                         f"  {record.failures} failures in a row, {record.successes} trial "
                         f"successes; {thresholds(row)}")
    if record.open_until is not None:
        text.append(f"; refuses until {when(_moment(record.open_until), now)}")
    return text


def letter_summary(item: DeadLetter) -> Text:
    origin = " / ".join(p for p in (item.workflow, item.step, item.run_id) if p) or "no run"
    return Text.assemble((f"#{item.id} {item.queue}", "bold"), f"  from {origin}\n",
                         (error_line(item), "red"), "\n",
                         ("payload ", "dim"), shorten(json.dumps(item.payload, default=str), 200))


def breaker_details(row: BreakerRow, now: float) -> Text:
    data = row.record.to_dict()
    data["state"] = f"{row.record.state.value} (a request now meets {row.effective.value})"
    return fields_text(data)


def letter_details(item: DeadLetter) -> Text:
    data = item.to_dict()
    payload = json.dumps(data.pop("payload"), indent=2, default=str)
    text = fields_text(data)
    text.append("\npayload\n", style="bold")
    text.append(shorten(payload, PAYLOAD_CHARS))
    return text


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
