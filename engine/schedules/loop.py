"""The schedule loop: every tick, start a run for each schedule whose fire time has come.

Each fire is claimed in the store first (``ScheduleStore.claim`` moves the schedule's next
fire in one ``UPDATE``), so loops in several processes sharing a store fire it once; then the
run starts through ``start_run`` with ``started_by="schedule:NAME"`` and the partition
``{"schedule": NAME, "scheduled_at": ISO-8601 UTC}``, which also reaches the run's params (a
step can take ``scheduled_at``, the fire's logical time). A fire is at most once: one whose
workflow is not in the catalog or whose start is refused is logged, kept in ``last_fires``
and returned with its error, and the loop goes on with the next.

The catalog is a callable so that a server's hot-reloaded catalog is always the current one;
it is called every tick and must be cheap (hand over the catalog, do not discover). Each new
catalog object syncs the workflow-declared schedules (``Schedules.sync_declared``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..cron import CronError, CronSchedule
from ..discovery import Catalog
from ..start import RunHandle, start_run
from ..store.schedules import ScheduleRecord
from ..tracking import TrackedWorkflowRunner
from .manage import ScheduleDb, Schedules, SyncReport
from .misfire import MISFIRE_GRACE_SECONDS, MisfirePolicy, plan_fires

logger = logging.getLogger("engine.schedules")
DEFAULT_INTERVAL = 1.0
MIN_PAUSE = 0.001  # seconds between ticks at least, so a fire due "now" never spins the loop


@dataclass(frozen=True, slots=True)
class ScheduleFire:
    """One fire of a schedule: the run it started, or why it started none."""

    schedule: str
    workflow: str
    scheduled_at: float
    fired_at: float
    run_id: str | None = None
    error: str | None = None
    handle: RunHandle | None = field(default=None, compare=False, repr=False)
    """The started run, to wait on (in the process that fired it)."""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def scheduled_time(self) -> datetime:
        return datetime.fromtimestamp(self.scheduled_at, UTC)

    def to_dict(self) -> dict[str, Any]:
        return {"schedule": self.schedule, "workflow": self.workflow,
                "scheduled_at": self.scheduled_time.isoformat(),
                "fired_at": datetime.fromtimestamp(self.fired_at, UTC).isoformat(),
                "run_id": self.run_id, "error": self.error}


class ScheduleLoop:
    """Fire due schedules of one store against the current catalog (see the module docstring).

    Run it on a thread with ``start(stop)`` (or ``run(stop)``) and stop it by setting
    ``stop``; tests call ``tick(now)`` with a fake ``clock`` instead. ``interval`` is the
    longest sleep between ticks: the loop wakes earlier when a fire is due sooner.
    ``on_fire`` sees every fire, errors included, on the loop's thread (one that raises is
    logged and ignored). Each run gets a runner of its own unless ``runner`` is given: a
    shared ``TrackedWorkflowRunner`` (the caller closes it once its runs have ended) halves
    the cost of a start.
    """

    def __init__(self, db: ScheduleDb, catalog: Callable[[], Catalog], *,
                 clock: Callable[[], float] = time.time, interval: float = DEFAULT_INTERVAL,
                 misfire_grace: float = MISFIRE_GRACE_SECONDS,
                 on_fire: Callable[[ScheduleFire], None] | None = None,
                 runner: TrackedWorkflowRunner | None = None) -> None:
        self.schedules = Schedules(db, clock=clock)
        self.store = self.schedules.store
        self.interval = interval
        self.misfire_grace = misfire_grace
        self._catalog = catalog
        self._clock = clock
        self._on_fire = on_fire
        self._runner = runner
        self._synced: Catalog | None = None
        self._sync_lock = threading.Lock()
        self._last: dict[str, ScheduleFire] = {}

    @property
    def last_fires(self) -> dict[str, ScheduleFire]:
        """The latest fire of each schedule this loop fired, errors included."""
        return dict(self._last)

    # ------------------------------------------------------------------ catalog
    def catalog(self, *, sync: bool = True) -> Catalog | None:
        """The current catalog, syncing declared schedules when it is a new one (``sync``);
        the last good catalog when the callable fails (logged)."""
        try:
            current = self._catalog()
        except Exception:
            logger.exception("the schedule loop could not get the workflow catalog")
            return self._synced
        if sync and current is not self._synced:
            try:
                self.sync_declared(current)
            except Exception:  # the schedules already stored still fire
                logger.exception("syncing the schedules workflows declare failed")
        return current

    def sync_declared(self, catalog: Catalog | None = None) -> SyncReport:
        """Create, update and remove the workflow-declared schedules to match ``catalog``
        (default: the current one)."""
        current = self._catalog() if catalog is None else catalog
        with self._sync_lock:
            report = self.schedules.sync_declared(current)
            self._synced = current
        if report.created or report.updated or report.removed:
            logger.info("declared schedules: created %s, updated %s, removed %s",
                        list(report.created), list(report.updated), list(report.removed))
        return report

    # ------------------------------------------------------------------ firing
    def tick(self, now: float | None = None) -> list[ScheduleFire]:
        """Fire every due schedule once (as its misfire policy says); returns the fires. A
        schedule that fails to fire (the store refused its claim...) is logged and skipped."""
        at = self._clock() if now is None else now
        catalog = self.catalog()
        fires: list[ScheduleFire] = []
        for record in self.store.due(at):
            try:
                fires.extend(self._fire_due(record, at, catalog))
            except Exception:
                logger.exception("schedule %r failed to fire; the loop goes on",
                                 record.name)
        return fires

    def fire_now(self, name: str) -> ScheduleFire:
        """Start a run of schedule ``name`` now, outside its timetable (paused ones too); its
        next fire stays as it was, and declared schedules are not synced (the caller's catalog
        may be partial). ``UnknownScheduleError`` for a name that is not stored."""
        record = self.store.get(name)
        at = self._clock()
        fire = self._start(record, at, at, self.catalog(sync=False))
        if fire.run_id is not None:
            self.store.record_run(name, fire.run_id, at, fired_at=at)
        return fire

    def _fire_due(self, record: ScheduleRecord, now: float,
                  catalog: Catalog | None) -> list[ScheduleFire]:
        """Claim the schedule's due times and start their runs; nothing when another loop
        claimed them first."""
        assert record.next_fire_at is not None  # due() selects rows with a next fire
        try:
            cron = CronSchedule(record.cron, record.timezone)
            plan = plan_fires(cron, record.next_fire_at, now,
                              MisfirePolicy.parse(record.misfire), record.misfire_limit,
                              self.misfire_grace)
        except CronError as exc:  # only a row edited outside the engine gets here
            logger.error("schedule %r cannot fire (%s); it is paused", record.name, exc)
            self.store.set_enabled(record.name, False, None, now)
            return [self._remember(ScheduleFire(record.name, record.workflow,
                                                record.next_fire_at, now, error=str(exc)))]
        last = plan.run[-1] if plan.run else None
        if not self.store.claim(record.name, record.next_fire_at, plan.next_fire_at, last, now):
            return []
        if plan.dropped:
            logger.warning("schedule %r missed fires from %s (misfire %s): running %d",
                           record.name, _iso(record.next_fire_at), record.misfire,
                           len(plan.run))
        fires = [self._start(record, scheduled, now, catalog) for scheduled in plan.run]
        started = [f.run_id for f in fires if f.run_id is not None]
        if started:
            self.store.record_run(record.name, started[-1], now)
        return fires

    def _start(self, record: ScheduleRecord, scheduled: float, now: float,
               catalog: Catalog | None) -> ScheduleFire:
        """Start one run for ``scheduled``; an unknown workflow or a refused start becomes
        the fire's error (logged), never an exception."""
        try:
            item = catalog.get(record.workflow) if catalog is not None else None
        except Exception as exc:  # a catalog entry that is not a workflow
            item, error = None, f"the catalog could not be read: {exc}"
        else:
            error = ""
        if item is None:
            error = error or (f"workflow {record.workflow!r} is not in the catalog; the fire "
                              f"at {_iso(scheduled)} started no run")
            logger.error("schedule %r: %s", record.name, error)
            return self._remember(ScheduleFire(record.name, record.workflow, scheduled, now,
                                               error=error))
        try:
            handle = start_run(item, record.params,
                               partition={"schedule": record.name,
                                          "scheduled_at": _iso(scheduled)},
                               db=self.store.db, started_by=f"schedule:{record.name}",
                               runner=self._runner)
        except Exception as exc:
            error = f"the run was refused: {type(exc).__name__}: {exc}"
            logger.error("schedule %r (fire at %s): %s", record.name, _iso(scheduled), error)
            return self._remember(ScheduleFire(record.name, record.workflow, scheduled, now,
                                               error=error))
        return self._remember(ScheduleFire(record.name, record.workflow, scheduled, now,
                                           run_id=handle.run_id, handle=handle))

    def _remember(self, fire: ScheduleFire) -> ScheduleFire:
        self._last[fire.schedule] = fire
        if self._on_fire is not None:
            try:
                self._on_fire(fire)
            except Exception:
                logger.exception("a schedule on_fire listener failed")
        return fire

    # ------------------------------------------------------------------ running
    def run(self, stop: threading.Event) -> None:
        """Tick until ``stop`` is set, sleeping until the next fire (at most ``interval``);
        a failing tick (store unreachable...) is logged and tried again."""
        while not stop.is_set():
            try:
                self.tick()
            except Exception:
                logger.exception("schedule tick failed; trying again in %gs", self.interval)
            stop.wait(self._pause())

    def start(self, stop: threading.Event) -> threading.Thread:
        """``run(stop)`` on a daemon thread, returned started (join it after setting ``stop``)."""
        thread = threading.Thread(target=self.run, args=(stop,), name="spine-schedules",
                                  daemon=True)
        thread.start()
        return thread

    def _pause(self) -> float:
        """Seconds until the next tick: until the earliest next fire, at most ``interval``."""
        try:
            due = self.store.next_due_at()
        except Exception:
            logger.exception("the schedule loop could not read the next fire time")
            return self.interval
        if due is None:
            return self.interval
        return min(self.interval, max(due - self._clock(), MIN_PAUSE))


def _iso(instant: float) -> str:
    return datetime.fromtimestamp(instant, UTC).isoformat()
