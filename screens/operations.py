"""Operations: the circuit breakers and the dead-letter queue of the run store, refreshed live.

A timer asks a worker to re-read the store every ``refresh_seconds`` while the screen is shown
(one read at a time), so breakers opened and items quarantined by runs in any process appear
here. Purging an item and resetting a breaker are writes done in workers too; a read begun
before a write is dropped, so the row does not flicker back.
"""

from __future__ import annotations

import json
import threading
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
from spine_tui.services import operations as service
from spine_tui.services.operations import BreakerRow, OperationsView
from spine_tui.widgets.schedules_table import KeyedTable, when
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


class OpsTable(KeyedTable):
    """A keyed table whose Enter opens the highlighted row's details."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Details")]


class OpsDetailsScreen(ModalScreen[None]):
    """Everything about one breaker or dead letter; Escape closes."""

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
    """Circuit breakers and dead letters: p purges an item, x resets a breaker, Enter details."""

    SUB_TITLE = "Breakers & DLQ"
    AUTO_FOCUS = "#breakers"
    HELP = ("The circuit breakers and the dead-letter queue kept in the run store, as every "
            "process sees them. A breaker opens after its failure threshold of consecutive "
            "failures and refuses calls until its recovery timeout has passed; then it is "
            "half-open and lets trial calls through (shown half-open here as soon as the "
            "timeout has passed). x resets the highlighted breaker (closed, counts cleared). "
            "Dead letters are the pending items workflows quarantined, oldest first: p purges "
            "the highlighted one (kept in the store, no longer listed or replayed); replay them "
            "with `spine-engine dlq replay`. Enter shows everything about the highlighted row, "
            "the payload too. Tab moves between the tables; r reads the store again.")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "purge", "Purge"),
        Binding("x", "reset_breaker", "Reset"),
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
        """A purge or a reset was stored (or failed with ``error``)."""

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
        yield Static(id="ops-details")
        yield Footer()

    @property
    def breakers_table(self) -> OpsTable:
        return self.query_one("#breakers", OpsTable)

    @property
    def letters_table(self) -> OpsTable:
        return self.query_one("#letters", OpsTable)

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
        """Read the breakers and dead letters again."""
        store = workbench(self.app).store
        if store is not None:
            self._reading = self._load(store, self._generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="operations")
    def _load(self, store: RunStore, generation: int) -> None:
        try:
            view = service.load(store, workbench(self.app).clock)
        except Exception as exc:  # shown above the tables; the next tick tries again
            self.post_message(self.LoadFailed(f"reading breakers and dead letters from "
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
        self._show_details()
        self.refresh_bindings()

    @on(DataTable.RowHighlighted)
    @on(DescendantFocus)
    def _show_details(self) -> None:
        """Summarise the highlighted row of the focused table (breakers when neither is)."""
        details = self.query_one("#ops-details", Static)
        if self.view is None:
            return
        if self.focused is self.letters_table:
            item = self._highlighted_letter()
            details.update(letter_summary(item) if item else "")
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

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Purge acts on the highlighted item, reset on the highlighted breaker: shown
        disabled when their table is not focused or empty."""
        if action == "purge":
            return True if self.focused is self.letters_table and \
                self._highlighted_letter() else None
        if action == "reset_breaker":
            return True if self.focused is self.breakers_table and \
                self._highlighted_breaker() else None
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
        self._writes += 1
        self._purge(store, item.id)

    @work(thread=True, exit_on_error=False, group="operations-write")
    def _purge(self, store: RunStore, item_id: int) -> None:
        try:
            with self._write_lock:
                service.purge(store, [item_id], workbench(self.app).clock)
        except Exception as exc:  # a locked or broken store: say so, the next read shows truth
            self.post_message(self.Changed(f"dead letter {item_id}",
                                           f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.Changed(f"dead letter {item_id}"))

    def action_reset_breaker(self) -> None:
        """Close the highlighted breaker and clear its counts."""
        row = self._highlighted_breaker()
        store = workbench(self.app).store
        if row is None or store is None:
            return
        self._writes += 1
        self._reset(store, row)

    @work(thread=True, exit_on_error=False, group="operations-write")
    def _reset(self, store: RunStore, row: BreakerRow) -> None:
        try:
            with self._write_lock:
                service.reset_breaker(store, row.record, workbench(self.app).clock)
        except Exception as exc:  # as for a purge
            self.post_message(self.Changed(f"breaker {row.record.name}",
                                           f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.Changed(f"breaker {row.record.name}"))

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
        """Enter: everything about the chosen breaker or dead letter."""
        if self.view is None or event.row_key.value is None:
            return
        key = str(event.row_key.value)
        if event.data_table is self.letters_table:
            item = next((i for i in self.view.letters if str(i.id) == key), None)
            if item is not None:
                self.app.push_screen(OpsDetailsScreen(f"Dead letter {item.id}",
                                                   letter_details(item)))
        else:
            row = next((r for r in self.view.breakers if r.record.name == key), None)
            if row is not None:
                self.app.push_screen(OpsDetailsScreen(f"Circuit breaker {row.record.name}",
                                                   breaker_details(row, self.view.read_at)))


# ---------------------------------------------------------------------- cells and texts
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
            Text(_short(error_line(item), ERROR_CHARS), style="red"),
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
                         ("payload ", "dim"), _short(json.dumps(item.payload, default=str), 200))


def breaker_details(row: BreakerRow, now: float) -> Text:
    data = row.record.to_dict()
    data["state"] = f"{row.record.state.value} (a request now meets {row.effective.value})"
    return _fields(data)


def letter_details(item: DeadLetter) -> Text:
    data = item.to_dict()
    payload = json.dumps(data.pop("payload"), indent=2, default=str)
    text = _fields(data)
    text.append("\npayload\n", style="bold")
    text.append(_short(payload, PAYLOAD_CHARS))
    return text


def _fields(data: dict[str, Any]) -> Text:
    text = Text()
    for key, value in data.items():
        text.append(f"{key:>18}  ", style="bold")
        text.append(f"{'—' if value is None else value}\n")
    return text


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
