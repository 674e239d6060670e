"""The thread side of the Schedules & Triggers screen: sync, read, pause, resume and fire.

Every function here blocks (SQLite, starting a run) and runs in the screen's workers; each
returns frozen values and touches no widget.

Workflow-declared schedules exist in the store only once a catalog was synced into it, so
``load`` syncs the app's catalog each time it is a new catalog object (a scan or a hot
reload), as the server's schedule loop does, following ``Schedules.sync_declared``'s rules:
rows are created and re-planned from the catalog, and removed when their workflow no longer
declares a schedule, or is gone from a catalog that loaded without errors — a file broken
mid-edit keeps its schedule. So the workbench should look at the folders the schedule loop
loads (``spine-engine serve --paths``): a declared schedule of a workflow it does not see is
removed, as ``spine-engine schedules sync`` would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine import Catalog, EventTrigger, RunRecord, RunStore, ScheduleFire, ScheduleLoop, Schedules
from engine.store import ScheduleRecord, UnknownRunError


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """A stored schedule and the run its last fire started (None: none, or since deleted)."""

    schedule: ScheduleRecord
    last_run: RunRecord | None = None


@dataclass(frozen=True, slots=True)
class TriggerRow:
    """A trigger of the catalog and its latest run (``fired``: how many runs it started)."""

    name: str
    kind: str
    detail: str
    workflow: str
    filter: str | None
    enabled: bool
    param_mapping: tuple[tuple[str, str], ...] = ()
    last_run: RunRecord | None = None
    fired: int = 0


@dataclass(frozen=True, slots=True)
class SchedulesView:
    """What the screen shows, read at ``read_at`` (unix seconds of the app's clock)."""

    schedules: tuple[ScheduleRow, ...]
    triggers: tuple[TriggerRow, ...]
    read_at: float


def load(store: RunStore, catalog: Catalog | None, *, sync: bool,
         clock: Callable[[], float]) -> SchedulesView:
    """Sync declared schedules (when ``sync``), then read schedules, triggers and their runs."""
    schedules = Schedules(store.db, clock=clock)
    if sync and catalog is not None:
        schedules.sync_declared(catalog)
    rows = tuple(ScheduleRow(record, _run(store, record.last_run_id))
                 for record in schedules.list_schedules())
    triggers = catalog.triggers if catalog is not None else ()
    return SchedulesView(rows, trigger_rows(store, triggers), clock())


def set_enabled(store: RunStore, name: str, enabled: bool,
                clock: Callable[[], float]) -> ScheduleRecord:
    """Resume (from its next time after now) or pause the schedule ``name``."""
    schedules = Schedules(store.db, clock=clock)
    return schedules.resume(name) if enabled else schedules.pause(name)


def fire_now(store: RunStore, name: str, catalog: Catalog | None,
             clock: Callable[[], float]) -> ScheduleFire:
    """Start a run of schedule ``name`` now in this process, as ``spine-engine schedules
    fire`` does; returns once the run is stored (it goes on in a background thread)."""
    if catalog is None:
        return ScheduleFire(name, "", clock(), clock(),
                            error="the workflows have not loaded yet; try again in a moment")
    current = catalog
    return ScheduleLoop(store.db, lambda: current, clock=clock).fire_now(name)


def trigger_rows(store: RunStore, triggers: Sequence[EventTrigger]) -> tuple[TriggerRow, ...]:
    """``triggers`` as rows, each with the latest run it started and how many it did."""
    activity = trigger_activity(store, [t.name for t in triggers])
    rows = []
    for trigger in triggers:
        last_id, fired = activity.get(trigger.name, (None, 0))
        rows.append(TriggerRow(
            trigger.name, trigger.kind, trigger.event_source.detail, trigger.workflow_name,
            trigger.filter, trigger.enabled, tuple(sorted(trigger.param_mapping.items())),
            _run(store, last_id), fired))
    return tuple(rows)


def trigger_activity(store: RunStore, names: Sequence[str]) -> dict[str, tuple[str, int]]:
    """The latest run id and the run count of each trigger in ``names`` that started any,
    in one read of the runs table (runs record ``started_by="trigger:NAME"``)."""
    if not names:
        return {}
    marks = ", ".join("?" * len(names))
    # SQLite takes the bare run_id from the row holding max(created_at)
    rows = store.db.query(
        "SELECT started_by, run_id, max(created_at) AS latest, count(*) AS fired FROM runs "
        f"WHERE started_by IN ({marks}) GROUP BY started_by",
        [f"trigger:{name}" for name in names])
    return {row["started_by"].removeprefix("trigger:"): (row["run_id"], int(row["fired"]))
            for row in rows}


def _run(store: RunStore, run_id: str | None) -> RunRecord | None:
    """The stored run ``run_id`` (a dead process's run read as interrupted), if it exists."""
    if run_id is None:
        return None
    try:
        return store.get_run(run_id)
    except UnknownRunError:  # removed by retention since: the schedule keeps the id
        return None
