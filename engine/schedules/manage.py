"""Creating, pausing, resuming and deleting schedules, and keeping workflow-declared ones in step
with the catalog: validation here, rows through ``engine.store.schedules``.

A schedule comes from one of two places (``declared_in``):

- ``workflow``: a workflow's ``schedule`` (``Workflow(schedule=...)``, ``scheduled_batch``,
  YAML ``spec.schedule``) declares a schedule named after the workflow, with the default
  misfire policy and no params of its own (the workflow's defaults apply). ``sync_declared``
  creates it, re-plans it when the cron or zone changes, keeps its pause state otherwise, and
  removes it when the workflow no longer declares one, or is gone from a catalog that loaded
  without errors (a file that is broken mid-edit keeps its schedule). It cannot be deleted
  through the API: pause it, or remove the workflow's ``schedule``.
- ``api``: created here (CLI, HTTP API) under any free name; sync never touches these. An API
  schedule already holding a workflow's name wins over that workflow's declaration.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cron import CronSchedule
from ..discovery import Catalog
from ..errors import WorkflowError
from ..serialization import to_json
from ..store.db import Database
from ..store.runs import RunStore
from ..store.schedules import ScheduleExistsError, ScheduleRecord, ScheduleStore
from .misfire import DEFAULT_MISFIRE, DEFAULT_MISFIRE_LIMIT, MisfirePolicy

logger = logging.getLogger("engine.schedules")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

ScheduleDb = str | Path | Database | RunStore | None


class ScheduleError(WorkflowError, ValueError):
    """A schedule request that cannot be done as asked (bad name or limit, a declared delete);
    ``field`` names the input at fault, when one is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What ``sync_declared`` changed, by schedule name."""

    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    """Workflows declaring a schedule whose name an API schedule already holds."""


class Schedules:
    """The schedules of one store: the checked way to create and change them."""

    def __init__(self, db: ScheduleDb = None, *, clock: Callable[[], float] = time.time) -> None:
        self.store = ScheduleStore(db)
        self.clock = clock

    def create(self, name: str, workflow: str, cron: str, *, timezone: str | None = None,
               params: Mapping[str, Any] | None = None,
               misfire: str | MisfirePolicy = DEFAULT_MISFIRE,
               misfire_limit: int = DEFAULT_MISFIRE_LIMIT,
               enabled: bool = True) -> ScheduleRecord:
        """A new API schedule; ``cron`` may carry a ``CRON_TZ=`` prefix instead of ``timezone``.

        Raises ``CronError`` (cron, zone, misfire policy), ``ScheduleError`` (name, limit,
        params) or ``ScheduleExistsError``.
        """
        if not _NAME.fullmatch(name):
            raise ScheduleError(f"schedule name {name!r} must be 1-128 letters, digits, '.', "
                                "'_', ':' or '-', starting with a letter or digit", "name")
        if not workflow.strip():
            raise ScheduleError("a schedule needs the name of the workflow it runs", "workflow")
        schedule = CronSchedule.parse(cron, timezone)
        policy = MisfirePolicy.parse(misfire)
        if misfire_limit < 1:
            raise ScheduleError(f"misfire_limit must be at least 1, got {misfire_limit}",
                                "misfire_limit")
        try:
            to_json(dict(params or {}))
        except (TypeError, ValueError) as exc:
            raise ScheduleError(f"schedule params must be JSON data: {exc}", "params") from None
        now = self.clock()
        return self.store.insert(ScheduleRecord(
            name=name, workflow=workflow, cron=schedule.expression, timezone=schedule.timezone,
            params=dict(params or {}), enabled=enabled, misfire=policy.value,
            misfire_limit=misfire_limit, declared_in="api",
            next_fire_at=schedule.next_after(now), created_at=now, updated_at=now))

    def get(self, name: str) -> ScheduleRecord:
        return self.store.get(name)

    def list_schedules(self) -> list[ScheduleRecord]:
        return self.store.list_schedules()

    def pause(self, name: str) -> ScheduleRecord:
        """Stop firing until ``resume``; fires due meanwhile are not made up for."""
        return self.store.set_enabled(name, False, None, self.clock())

    def resume(self, name: str) -> ScheduleRecord:
        """Fire again from the next time after now (a pause is not a misfire)."""
        record = self.store.get(name)
        now = self.clock()
        next_at = CronSchedule(record.cron, record.timezone).next_after(now)
        return self.store.set_enabled(name, True, next_at, now)

    def delete(self, name: str) -> ScheduleRecord:
        """Remove an API schedule and return it; a workflow's own schedule is refused."""
        record = self.store.get(name)
        if record.declared_in == "workflow":
            raise ScheduleError(f"schedule {name!r} is declared by workflow {record.workflow!r}; "
                                "pause it, or remove the workflow's schedule")
        self.store.delete(name)
        return record

    def sync_declared(self, catalog: Catalog) -> SyncReport:
        """Make the workflow-declared rows match ``catalog`` (see the module docstring)."""
        now = self.clock()
        existing = {r.name: r for r in self.store.list_schedules()}
        created: list[str] = []
        updated: list[str] = []
        conflicts: list[str] = []
        declared: set[str] = set()
        for item in catalog.workflows:
            wf = item.workflow
            if not wf.schedule:
                continue
            declared.add(wf.name)
            schedule = CronSchedule.parse(wf.schedule)  # validated when the workflow was built
            row = existing.get(wf.name)
            if row is not None and row.declared_in != "workflow":
                conflicts.append(wf.name)
                continue
            if row is not None and (row.workflow, row.cron, row.timezone) == (
                    wf.name, schedule.expression, schedule.timezone):
                continue
            record = ScheduleRecord(
                name=wf.name, workflow=wf.name, cron=schedule.expression,
                timezone=schedule.timezone, declared_in="workflow",
                next_fire_at=schedule.next_after(now), created_at=now, updated_at=now)
            if row is not None:
                if self.store.replace_declared(record):
                    updated.append(wf.name)
                continue
            try:
                self.store.insert(record)
                created.append(wf.name)
            except ScheduleExistsError:  # another process synced it first
                continue
        gone = [r.name for r in existing.values() if r.declared_in == "workflow"
                and r.name not in declared
                and (catalog.get(r.workflow) is not None or not catalog.errors)]
        removed = tuple(gone) if gone and self.store.delete_declared(gone) else ()
        for name in conflicts:
            logger.warning("workflow %r declares a schedule, but an API schedule of that name "
                           "exists; the API schedule is kept", name)
        return SyncReport(tuple(created), tuple(updated), removed, tuple(conflicts))
