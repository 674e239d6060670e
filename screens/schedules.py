"""Schedules & Triggers: every stored schedule (next fire, last result) and every trigger the
workflows declare (what it listens to, what it fired last), refreshed live.

A timer asks a worker to re-read the store every ``refresh_seconds`` while the screen is
shown (one read at a time); the worker first syncs the app's catalog into the store when it
is a new one, so ``Workflow(schedule=...)`` schedules appear without ``spine-engine serve``
(``spine_tui.services.schedules`` says when declared rows are removed). Pausing, resuming
and firing are writes done in workers too; a read begun before a write is dropped.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.events import DescendantFocus
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker

from engine import Catalog, RunStore, ScheduleFire
from spine_tui.services import schedules as service
from spine_tui.services.schedules import SchedulesView
from spine_tui.widgets.schedules_table import (
    SCHEDULE_COLUMNS,
    TRIGGER_COLUMNS,
    KeyedTable,
    schedule_cells,
    schedule_details,
    trigger_cells,
    trigger_details,
)
from spine_tui.workbench import workbench

from .run_detail import RunDetailScreen

NO_SCHEDULES = ("No schedules yet. Declare one on a workflow — Workflow(..., schedule='0 6 * * *') "
                "or spec.schedule in YAML — or create one from the shell: spine-engine "
                "schedules create NAME WORKFLOW --cron '0 6 * * *'.")
NO_TRIGGERS = ("No triggers. Declare one beside its workflow, in the same .py file: "
               "EventTrigger('name', WebhookSource(secret='ENV_VAR'), 'workflow') "
               "(or FileSource, PollingSource), or spec.triggers in YAML.")


class SchedulesScreen(Screen[None]):
    """Schedules and triggers: e pauses or resumes a schedule, f fires it, Enter opens its run."""

    SUB_TITLE = "Schedules & Triggers"
    AUTO_FOCUS = "#schedules"
    HELP = ("Cron schedules stored in the run store and the event triggers your workflow "
            "files declare. Schedules declared by a workflow (Workflow(schedule=...)) are "
            "synced from the loaded workflows; others are created with `spine-engine "
            "schedules create`. They fire while `spine-engine serve` or `spine-engine "
            "schedules run` is running; a next fire in yellow is overdue. e or space pauses "
            "or resumes the highlighted schedule, f starts its run now in this workbench "
            "(the notification names the run), Enter opens the last run of the highlighted "
            "schedule or trigger. Triggers are listed read-only: each starts runs from "
            "webhooks, new files or polled objects, recorded as started by trigger:NAME. "
            "Tab moves between the tables; r reads the store again.")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "pause_resume", "Pause/resume"),
        Binding("space", "pause_resume", "Pause/resume", show=False),
        Binding("f", "fire", "Fire now"),
        Binding("r", "refresh", "Refresh", show=False),
    ]

    @dataclass
    class Loaded(Message):
        view: SchedulesView
        generation: int
        synced: Catalog | None = None
        """The catalog this read synced into the store first, if it did."""

    @dataclass
    class LoadFailed(Message):
        error: str

    @dataclass
    class Changed(Message):
        """A pause or resume was stored (or failed with ``error``)."""

        name: str
        error: str = ""

    @dataclass
    class Fired(Message):
        fire: ScheduleFire

    def __init__(self) -> None:
        super().__init__()
        self.view: SchedulesView | None = None
        self._generation = 0  # a write bumps it: reads begun before are dropped
        self._reading: Worker[None] | None = None  # the timer starts no read while it runs
        self._writes = 0  # writes in flight: the timer reads nothing until they are stored
        self._visible = True
        self._synced: Catalog | None = None
        self._write_lock = threading.Lock()  # one write at a time, in the order asked

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="sched-problem")
        with Vertical(id="sched-box"):
            yield KeyedTable(SCHEDULE_COLUMNS, id="schedules")
            yield Static(NO_SCHEDULES, id="sched-empty", classes="empty")
        with Vertical(id="trig-box"):
            yield KeyedTable(TRIGGER_COLUMNS, id="triggers")
            yield Static(NO_TRIGGERS, id="trig-empty", classes="empty")
        yield Static(id="sched-details")
        yield Footer()

    @property
    def schedules_table(self) -> KeyedTable:
        return self.query_one("#schedules", KeyedTable)

    @property
    def triggers_table(self) -> KeyedTable:
        return self.query_one("#triggers", KeyedTable)

    def on_mount(self) -> None:
        self.query_one("#sched-problem").display = False
        self.query_one("#sched-box").border_title = "Schedules"
        self.query_one("#trig-box").border_title = "Triggers"
        self.watch(self.app, "store", self.action_refresh)
        self.watch(self.app, "store_error", self._show_problem)
        self.watch(self.app, "catalog", self.action_refresh, init=False)
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
        """Read the schedules and triggers again (syncing a newly loaded catalog first)."""
        bench = workbench(self.app)
        if bench.store is None:
            return
        catalog = bench.catalog
        self._reading = self._load(bench.store, catalog, catalog is not self._synced,
                                   self._generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="schedules")
    def _load(self, store: RunStore, catalog: Catalog | None, sync: bool,
              generation: int) -> None:
        try:
            view = service.load(store, catalog, sync=sync, clock=workbench(self.app).clock)
        except Exception as exc:  # shown above the tables; the next tick tries again
            self.post_message(self.LoadFailed(f"reading schedules from {store.path}: "
                                              f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.Loaded(view, generation, catalog if sync else None))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.synced is not None:
            self._synced = message.synced
        if message.generation != self._generation:
            return
        self._show_problem("")
        self._show(message.view)

    @on(LoadFailed)
    def _load_failed(self, message: LoadFailed) -> None:
        self._show_problem(message.error)

    def _show_problem(self, error: str) -> None:
        problem = self.query_one("#sched-problem", Static)
        problem.update(Text(error, style="bold red"))
        problem.display = bool(error)

    def _show(self, view: SchedulesView) -> None:
        self.view = view
        now = view.read_at
        self.schedules_table.show_rows([(r.schedule.name, schedule_cells(r, now))
                                        for r in view.schedules])
        self.triggers_table.show_rows([(t.name, trigger_cells(t, now)) for t in view.triggers])
        self.query_one("#sched-empty").display = not view.schedules
        self.query_one("#trig-empty").display = not view.triggers
        self.query_one("#sched-box").border_title = f"Schedules ({len(view.schedules)})"
        self.query_one("#trig-box").border_title = f"Triggers ({len(view.triggers)})"
        self._show_details()
        self.refresh_bindings()

    @on(DataTable.RowHighlighted)
    @on(DescendantFocus)
    def _show_details(self) -> None:
        """Describe the highlighted row of the focused table (schedules when neither is)."""
        details = self.query_one("#sched-details", Static)
        view = self.view
        if view is None:
            return
        if self.focused is self.triggers_table:
            trigger = next((t for t in view.triggers
                            if t.name == self.triggers_table.highlighted_key), None)
            details.update(trigger_details(trigger, view.read_at) if trigger else "")
        else:
            row = self._highlighted_schedule()
            details.update(schedule_details(row, view.read_at) if row else "")

    def _highlighted_schedule(self) -> service.ScheduleRow | None:
        name = self.schedules_table.highlighted_key
        rows = self.view.schedules if self.view is not None else ()
        return next((r for r in rows if r.schedule.name == name), None)

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Pause/resume and fire act on the highlighted schedule: shown disabled without one."""
        if action in ("pause_resume", "fire"):
            on_schedules = self.focused is self.schedules_table
            return True if on_schedules and self._highlighted_schedule() else None
        return True

    def action_pause_resume(self) -> None:
        """Pause the highlighted schedule, or resume a paused one from its next time."""
        row = self._highlighted_schedule()
        store = workbench(self.app).store
        if row is None or store is None or self.view is None:
            return
        enabled = not row.schedule.enabled
        self._generation += 1  # the row shows its new state now; older reads would undo it
        changed = replace(row, schedule=replace(row.schedule, enabled=enabled))
        self._show(replace(self.view, schedules=tuple(
            changed if r is row else r for r in self.view.schedules)))
        self._writes += 1
        self._set_enabled(store, row.schedule.name, enabled)

    @work(thread=True, exit_on_error=False, group="schedules-write")
    def _set_enabled(self, store: RunStore, name: str, enabled: bool) -> None:
        try:
            with self._write_lock:
                service.set_enabled(store, name, enabled, workbench(self.app).clock)
        except Exception as exc:  # an unknown (since deleted) schedule, a locked store...
            self.post_message(self.Changed(name, f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.Changed(name))

    @on(Changed)
    def _changed(self, message: Changed) -> None:
        self._writes -= 1
        if message.error:
            self.notify(message.error, title=f"Schedule {message.name}", severity="error",
                        timeout=6)
        self._generation += 1
        self.action_refresh()

    def action_fire(self) -> None:
        """Start a run of the highlighted schedule now, in this workbench (paused ones too)."""
        row = self._highlighted_schedule()
        bench = workbench(self.app)
        if row is None or bench.store is None:
            return
        self._writes += 1
        self._fire(bench.store, row.schedule.name, bench.catalog)

    @work(thread=True, exit_on_error=False, group="schedules-write")
    def _fire(self, store: RunStore, name: str, catalog: Catalog | None) -> None:
        try:
            with self._write_lock:
                fire = service.fire_now(store, name, catalog, workbench(self.app).clock)
        except Exception as exc:  # e.g. the schedule was deleted meanwhile
            now = workbench(self.app).clock()
            fire = ScheduleFire(name, "", now, now, error=f"{type(exc).__name__}: {exc}")
        self.post_message(self.Fired(fire))

    @on(Fired)
    def _fired(self, message: Fired) -> None:
        self._writes -= 1
        fire = message.fire
        if fire.run_id is None:
            self.notify(fire.error or "no run was started", title=f"Fire {fire.schedule}",
                        severity="error", timeout=8)
            return
        self.notify(f"{fire.workflow} started as run {fire.run_id}; Enter on the schedule "
                    "opens it", title=f"Fired {fire.schedule}")
        self._generation += 1
        self.action_refresh()

    @on(DataTable.RowSelected)
    def _open_last_run(self, event: DataTable.RowSelected) -> None:
        """Enter: the run detail of the chosen schedule's or trigger's last run."""
        view = self.view
        if view is None or event.row_key.value is None:
            return
        name = str(event.row_key.value)
        if event.data_table is self.triggers_table:
            trigger = next((t for t in view.triggers if t.name == name), None)
            run_id = trigger.last_run.run_id if trigger and trigger.last_run else None
        else:
            row = next((r for r in view.schedules if r.schedule.name == name), None)
            run_id = row.schedule.last_run_id if row else None
        if run_id is None:
            self.notify(f"{name} has not started a run yet", title="No run to open")
            return
        self.app.push_screen(RunDetailScreen(run_id))
