"""Run ids: the one place they are minted, so every front end's runs look alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def new_run_id() -> str:
    """A fresh run id: 16 hex digits (64 random bits; prefixes of 4+ are accepted on lookup)."""
    return uuid.uuid4().hex[:16]


def now() -> datetime:
    """The current time, timezone-aware (UTC), as every event carries it."""
    return datetime.now(UTC)
