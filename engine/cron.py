"""Cron expressions with a time zone: the one place they are parsed, checked and turned into
fire times, shared by workflow validation, the YAML spec and the schedule loop.

A schedule's text is a five-field cron expression (croniter's syntax, so ``@daily``, ``L`` and a
sixth seconds field work too), optionally prefixed the cronie way with its zone:
``CRON_TZ=Europe/Paris 0 6 * * *``. Zones are IANA names (``zoneinfo``); the default is UTC.

Fire times are instants (unix seconds) computed from wall-clock times in the zone, and every
wall-clock time the expression names fires once, so a daily job runs exactly once a day across
daylight-saving changes, as cron users expect:

- a time that happens twice (autumn, ``02:30`` when clocks go back) fires at its first
  occurrence only; the repeated hour has no fires of its own;
- a time that does not exist (spring, ``02:30`` when clocks jump from 02:00 to 03:00) fires as
  the clock jumps past it, shifted by the gap (``03:30``), and never twice with a time that
  lands on the same instant (an hourly job fires once at 03:00).

Schedules that need a constant interval through those nights use UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import WorkflowError

DEFAULT_TIMEZONE = "UTC"
TZ_PREFIX = "CRON_TZ="
CRON_HELP = ("five fields: minute hour day-of-month month day-of-week, e.g. '0 6 * * *', "
             "optionally with a zone: 'CRON_TZ=Europe/Paris 0 6 * * *'")
ZONE_HELP = "an IANA time zone name such as 'UTC', 'Europe/Paris' or 'America/New_York'"


class CronError(WorkflowError, ValueError):
    """A cron expression or time zone that cannot be scheduled; the message says how to fix it
    and ``field`` names the input at fault (``cron``, ``timezone``, ``misfire``)."""

    def __init__(self, message: str, field: str = "cron") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A validated cron expression in a time zone; ``next_after``/``latest`` give fire times."""

    expression: str
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        zone(self.timezone)
        if self.expression.strip().startswith(TZ_PREFIX):
            raise CronError(f"{self.expression!r}: give the zone once, either as the "
                            f"{TZ_PREFIX}Zone prefix or as the time zone, not both")
        if not _croniter().is_valid(self.expression):
            raise CronError(f"{self.expression!r} is not a valid cron expression ({CRON_HELP})")
        try:
            self._iterate(datetime(2000, 1, 1)).get_next(datetime)
        except ValueError:  # croniter's CroniterBadDateError: no date matches (Feb 30)
            raise CronError(f"{self.expression!r} never fires: no date matches it "
                            "(check the day-of-month and month fields)") from None

    @classmethod
    def parse(cls, text: str, timezone: str | None = None) -> CronSchedule:
        """``0 6 * * *`` or ``CRON_TZ=Europe/Paris 0 6 * * *``; ``timezone`` applies when the
        text has no prefix (a different zone in both places is an error)."""
        expression, prefixed = split_timezone(text)
        if prefixed is not None and timezone is not None and prefixed != timezone:
            raise CronError(f"{text!r} says {TZ_PREFIX}{prefixed} but the time zone given is "
                            f"{timezone!r}; keep one of them", "timezone")
        return cls(expression, prefixed or timezone or DEFAULT_TIMEZONE)

    def __str__(self) -> str:
        """The text ``parse`` reads back: the prefix only when the zone is not UTC."""
        if self.timezone == DEFAULT_TIMEZONE:
            return self.expression
        return f"{TZ_PREFIX}{self.timezone} {self.expression}"

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.timezone)

    def next_after(self, instant: float) -> float:
        """The first fire time strictly after ``instant``."""
        tz = self.zone
        start = datetime.fromtimestamp(instant, tz).replace(tzinfo=None)
        for wall in self._walls(start, forward=True):
            at = _instant(wall, tz)
            if at > instant:
                return at
        raise AssertionError("unreachable: croniter iterates forever")

    def latest(self, until: float, *, not_before: float, count: int = 1) -> list[float]:
        """Up to ``count`` of the most recent fire times in ``[not_before, until]``, oldest first."""
        tz = self.zone
        # the latest wall time that can map to ``until``: in a repeated hour, its first reading
        first_offset = datetime.fromtimestamp(until, tz).replace(fold=0).utcoffset()
        high = (datetime.fromtimestamp(until, UTC) + (first_offset or timedelta())
                ).replace(tzinfo=None, microsecond=0) + timedelta(seconds=1)
        found: list[float] = []
        for wall in self._walls(high, forward=False):
            at = _instant(wall, tz)
            if at > until or (found and at == found[-1]):  # a spring-gap time shifted forward
                continue
            if at < not_before or len(found) == count:
                break
            found.append(at)
        return found[::-1]

    def _iterate(self, start: datetime) -> Any:
        return _croniter()(self.expression, start)

    def _walls(self, start: datetime, *, forward: bool) -> Iterator[datetime]:
        """Naive wall-clock times the expression names after (or before) ``start``."""
        it = self._iterate(start)
        step = it.get_next if forward else it.get_prev
        while True:
            try:
                yield step(datetime)
            except ValueError:  # no earlier/later match within croniter's search window
                return


def split_timezone(text: str) -> tuple[str, str | None]:
    """``("0 6 * * *", "Europe/Paris")`` from ``CRON_TZ=Europe/Paris 0 6 * * *``; no prefix
    gives ``(text, None)``."""
    stripped = text.strip()
    if not stripped.startswith(TZ_PREFIX):
        return stripped, None
    name, _, expression = stripped[len(TZ_PREFIX):].partition(" ")
    if not name or not expression.strip():
        raise CronError(f"{text!r}: write the zone then the expression, e.g. "
                        f"'{TZ_PREFIX}Europe/Paris 0 6 * * *'")
    zone(name)
    return expression.strip(), name


def check_cron(text: str) -> str:
    """``text`` unchanged when it is a schedulable cron (prefix included), else ``CronError``."""
    CronSchedule.parse(text)
    return text


def zone(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` of an IANA name, or a ``CronError`` naming what is accepted."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CronError(f"unknown time zone {name!r}: use {ZONE_HELP}", "timezone") from None


def _instant(wall: datetime, tz: ZoneInfo) -> float:
    """A wall time's instant; a repeated time reads as its first occurrence (``fold=0``)."""
    return wall.replace(tzinfo=tz).timestamp()


def _croniter() -> Any:
    """croniter, imported on first use: ``import engine`` must not pay for it."""
    from croniter import croniter

    return croniter
