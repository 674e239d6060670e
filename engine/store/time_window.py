"""Time windows over stored runs: one parser for "since"/"until" text shared by every front end.

A bound is a duration back from now (``30m``, ``2h``, ``3d``, ``1w``, ``1h30m``), ``now``,
an ISO date (``2026-01-31``) or an ISO date and time (``2026-01-31T08:00``, an offset or
``Z`` honoured; without one it is local time). A window is ``SINCE``, or ``SINCE..UNTIL``
with either side left empty. ``since`` is inclusive and ``until`` exclusive; a bare date as
``until`` means the end of that day, so ``2026-01-31..2026-01-31`` is that whole day.
Durations are resolved against the caller's clock each time, so a live view of "the last
hour" keeps moving.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_SHAPES = ("a duration like 30m, 2h, 3d or 1w, an ISO date like 2026-01-31, "
           "or a date and time like 2026-01-31T08:00")


class TimeWindowError(ValueError):
    """Text that is not a time bound or window; the message says what would be."""


def parse_duration(text: str) -> float | None:
    """Seconds in ``text`` (``90s``, ``2h``, ``1h30m``), or None when it is not a duration."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        return None
    return sum(float(n) * _UNITS[unit] for n, unit in _DURATION.findall(compact))


def check_bound(text: str) -> str:
    """``text`` stripped if it is a bound; else ``TimeWindowError`` saying what would be."""
    value = text.strip()
    if not value:
        raise TimeWindowError(f"empty time: use {_SHAPES}")
    seconds = parse_duration(value)
    if seconds is not None:
        if seconds <= 0:
            raise TimeWindowError(f"{value!r} is no time ago: a duration must be more than "
                                  "0 (e.g. 30m)")
        return value
    if re.fullmatch(r"\d+(\.\d+)?", value):
        raise TimeWindowError(f"{value!r} has no unit: write {value}m, {value}h or "
                              f"{value}d (s, m, h, d and w are understood)")
    if value.lower() == "now":
        return value
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise TimeWindowError(f"{value!r} is not a time: use {_SHAPES}") from None
    return value


def resolve_bound(text: str, now: float, *, end_of_day: bool = False) -> float:
    """Epoch seconds of one bound; ``end_of_day`` turns a bare date into the next midnight."""
    value = check_bound(text)
    seconds = parse_duration(value)
    if seconds is not None:
        return now - seconds
    if value.lower() == "now":
        return now
    moment = datetime.fromisoformat(value)
    if end_of_day and _is_date(value):
        moment += timedelta(days=1)
    if moment.tzinfo is None:
        moment = moment.astimezone()  # naive times are the user's local time
    return moment.timestamp()


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Checked ``since``/``until`` texts; ``bounds(now)`` turns them into epoch seconds."""

    since: str | None = None
    until: str | None = None

    def __post_init__(self) -> None:
        for text in (self.since, self.until):
            if text is not None:
                check_bound(text)

    @classmethod
    def parse(cls, text: str) -> TimeWindow:
        """``SINCE``, ``SINCE..UNTIL``, ``..UNTIL`` or ``SINCE..``; empty means all time."""
        value = text.strip()
        if ".." not in value:
            return cls(value or None)
        since, _, until = value.partition("..")
        window = cls(since.strip() or None, until.strip() or None)
        window.bounds(time.time())  # a reversed range fails here, not on every refresh
        return window

    @property
    def text(self) -> str:
        """The window as ``parse`` reads it back (``""`` for all time)."""
        if self.until is None:
            return self.since or ""
        return f"{self.since or ''}..{self.until}"

    @property
    def is_open(self) -> bool:
        """Whether it lets every run through (no bound at all)."""
        return self.since is None and self.until is None

    def bounds(self, now: float) -> tuple[float | None, float | None]:
        """(since, until) in epoch seconds for ``RunStore.list_runs``; None where unbounded."""
        since = None if self.since is None else resolve_bound(self.since, now)
        until = (None if self.until is None
                 else resolve_bound(self.until, now, end_of_day=True))
        if since is not None and until is not None and since >= until:
            raise TimeWindowError(f"since {self.since!r} is not before until {self.until!r}")
        return since, until

    @property
    def label(self) -> str:
        """Short words for titles: ``last 2h``, ``since 2026-01-31``, ``3d ago → 1d ago``."""
        if self.since is not None and self.until is None:
            if parse_duration(self.since) is not None:
                return f"last {_words(self.since)}"
            return f"since {self.since}"
        if self.since is None and self.until is not None:
            return f"until {_ago(self.until)}"
        if self.since is None:
            return "all time"
        return f"{_ago(self.since)} → {_ago(self.until or '')}"


def _ago(text: str) -> str:
    return f"{text} ago" if parse_duration(text) is not None else text


_NAMES = {"1h": "hour", "24h": "24 h", "1d": "day", "7d": "7 days", "1w": "week",
          "30d": "30 days"}


def _words(duration: str) -> str:
    return _NAMES.get(duration.strip().lower(), duration.strip())
