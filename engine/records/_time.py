"""Checks shared by the record types: timezone-aware datetimes and their JSON form."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any


def require_aware(name: str, value: Any, *, optional: bool = False) -> datetime | None:
    """``value`` when it is a timezone-aware datetime (``None`` allowed when ``optional``).

    Naive datetimes are refused rather than guessed: a record that mixes local and UTC
    times would answer point-in-time queries wrongly without any error.
    """
    if value is None and optional:
        return None
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (e.g. datetime(..., tzinfo=UTC)), "
                         f"got naive {value.isoformat()}")
    return value


def parse_aware(name: str, value: Any, *, optional: bool = False) -> datetime | None:
    """An aware datetime from a datetime or an ISO-8601 string (what ``to_dict`` wrote)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return require_aware(name, value, optional=optional)


def iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def utc_now() -> datetime:
    return datetime.now(UTC)
