"""The Operations screen's alert outbox: a table of one row per alert, newest first, its
status coloured (a note when there are none), a one-line summary and the full details of
one alert; and the keyed table whose Enter opens details that every table there uses."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from engine import describe_channel
from engine.store import AlertRecord
from spine_tui.widgets.schedules_table import KeyedTable
from spine_tui.widgets.status import format_time

ALERT_COLUMNS = ("Id", "Kind", "Workflow", "Run", "Channel", "Status", "Tries", "Last error",
                 "Created")
NO_ALERTS = ("No alerts yet. A workflow with an AlertPolicy queues one here when a run fails, "
             "is slow or waits; `spine-engine alerts` lists them too.")
STATUS_STYLES = {"pending": "yellow", "sending": "cyan", "delivered": "green", "failed": "red"}
ERROR_CHARS = 24
PAYLOAD_CHARS = 4000


class OpsTable(KeyedTable):
    """A keyed table whose Enter opens the highlighted row's details."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Details")]


class AlertsBox(Vertical):
    """The alerts table (``#alerts``) and its empty note, titled with the count per status."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.alerts: tuple[AlertRecord, ...] = ()

    def compose(self) -> ComposeResult:
        yield OpsTable(ALERT_COLUMNS, id="alerts")
        yield Static(NO_ALERTS, id="alert-empty", classes="empty")

    def on_mount(self) -> None:
        self.border_title = "Alerts"

    @property
    def table(self) -> OpsTable:
        return self.query_one("#alerts", OpsTable)

    def show(self, alerts: tuple[AlertRecord, ...], counts: tuple[tuple[str, int], ...]) -> None:
        self.alerts = alerts
        self.table.show_rows([(str(a.id), alert_cells(a)) for a in alerts])
        self.query_one("#alert-empty").display = not alerts
        shown = ", ".join(f"{count} {status}" for status, count in counts if count)
        self.border_title = f"Alerts ({shown})" if shown else "Alerts"

    def find(self, key: str | None) -> AlertRecord | None:
        return next((a for a in self.alerts if str(a.id) == key), None)

    @property
    def highlighted(self) -> AlertRecord | None:
        return self.find(self.table.highlighted_key)


def status_text(record: AlertRecord) -> Text:
    return Text(record.status, style=STATUS_STYLES.get(record.status, ""))


def alert_cells(record: AlertRecord) -> tuple[Any, ...]:
    return (str(record.id), record.kind, record.workflow or "—", record.run_id or "—",
            record.channel_type, status_text(record), str(record.attempts),
            Text(shorten(first_line(record.last_error), ERROR_CHARS), style="red"),
            format_time(record.created))


def alert_summary(record: AlertRecord) -> Text:
    origin = " / ".join(p for p in (record.workflow, record.run_id) if p) or "no run"
    text = Text.assemble((f"#{record.id} {record.kind}", "bold"), "  ", status_text(record),
                         f"  to {describe_channel(record.channel)}, from {origin}\n")
    if record.last_error:
        text.append(first_line(record.last_error), style="red")
        text.append("\n")
    text.append("payload ", style="dim")
    text.append(shorten(json.dumps(record.payload, default=str), 200))
    return text


def alert_details(record: AlertRecord) -> Text:
    data = record.to_dict()
    payload = json.dumps(data.pop("payload"), indent=2, default=str)
    data["channel"] = describe_channel(record.channel)
    text = fields_text(data)
    text.append("\npayload\n", style="bold")
    text.append(shorten(payload, PAYLOAD_CHARS))
    return text


def fields_text(data: dict[str, Any]) -> Text:
    """One ``key  value`` line per field, keys right-aligned."""
    text = Text()
    for key, value in data.items():
        text.append(f"{key:>18}  ", style="bold")
        text.append(f"{'—' if value is None else value}\n")
    return text


def first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else "—"


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
