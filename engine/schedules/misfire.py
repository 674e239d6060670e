"""What a due schedule runs: its on-time fire, or what its misfire policy says after downtime.

Pure (no store, no clock): given the schedule's cron, the fire time it was waiting for, the
current instant and the policy, ``plan_fires`` says which scheduled times get a run and when
the schedule fires next. The decisions:

- A fire up to ``grace`` seconds late (a poll interval, a busy host) is on time and runs under
  every policy. Due times older than that were *missed* (the loop was down or blocked).
- ``skip``: missed times get no run; only on-time ones run; the schedule jumps to its next
  future time. For jobs whose late result is worthless (a "send the 9:00 digest" job).
- ``run_once`` (the default, like Airflow's ``catchup=False`` or Quartz's "fire now"): all
  the due times, missed or not, coalesce into one run for the latest of them, so a daily job
  down for a week runs once, for the last day.
- ``run_all``: one run per due time, oldest first, but at most ``limit`` of them: the most
  recent ``limit`` (older ones are dropped, as their data matters least and a month of
  downtime must not start a month of runs at once).

The next fire is always the first time after now: a schedule never fires in the past twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..cron import CronError, CronSchedule

MISFIRE_GRACE_SECONDS = 60.0
DEFAULT_MISFIRE_LIMIT = 10


class MisfirePolicy(StrEnum):
    """What a schedule does with fire times it missed (see the module docstring)."""

    SKIP = "skip"
    RUN_ONCE = "run_once"
    RUN_ALL = "run_all"

    @classmethod
    def parse(cls, value: str | MisfirePolicy) -> MisfirePolicy:
        """The policy named ``value`` (``run-once`` works too); ``CronError`` lists the names."""
        try:
            return cls(str(value).strip().lower().replace("-", "_"))
        except ValueError:
            names = ", ".join(p.value for p in cls)
            raise CronError(f"unknown misfire policy {value!r}: use one of {names}",
                            "misfire") from None


DEFAULT_MISFIRE = MisfirePolicy.RUN_ONCE


@dataclass(frozen=True, slots=True)
class FirePlan:
    """The scheduled times to start a run for (oldest first) and the next time to wait for."""

    run: tuple[float, ...]
    next_fire_at: float
    dropped: bool = False
    """Some due times get no run (skipped, coalesced or over the limit)."""


def plan_fires(cron: CronSchedule, due_at: float, now: float,
               policy: MisfirePolicy = DEFAULT_MISFIRE, limit: int = DEFAULT_MISFIRE_LIMIT,
               grace: float = MISFIRE_GRACE_SECONDS) -> FirePlan:
    """Which of ``cron``'s times from ``due_at`` (the fire it waited for) to ``now`` run."""
    if due_at > now:
        return FirePlan((), due_at)
    if policy is MisfirePolicy.SKIP:
        times = cron.latest(now, not_before=max(due_at, now - grace), count=max(limit, 1))
    elif policy is MisfirePolicy.RUN_ONCE:
        times = cron.latest(now, not_before=due_at, count=1)
    else:
        times = cron.latest(now, not_before=due_at, count=max(limit, 1))
    return FirePlan(tuple(times), cron.next_after(now), dropped=not times or times[0] != due_at)
