"""Cron schedules (spec §7): the loop that fires them, their misfire policies, and the checked
way to create and change them. Cron parsing lives in ``engine.cron``; rows in
``engine.store.schedules``. Public names are re-exported from ``engine``.
"""

from .loop import ScheduleFire, ScheduleLoop
from .manage import ScheduleError, Schedules, SyncReport
from .misfire import FirePlan, MisfirePolicy, plan_fires

__all__ = [
    "FirePlan",
    "MisfirePolicy",
    "ScheduleError",
    "ScheduleFire",
    "ScheduleLoop",
    "Schedules",
    "SyncReport",
    "plan_fires",
]
