"""The time bounds run listings accept."""

from __future__ import annotations

from datetime import datetime

Since = datetime | str | None
"""A time bound: a datetime (naive ones are taken as UTC) or an ISO 8601 string."""
