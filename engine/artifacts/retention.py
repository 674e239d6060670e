"""Artifact retention: how long a run's artifacts outlive the run, by how the run ended."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .protocol import ArtifactStore
from .refs import parse_datetime

#: A retention rule: "keep"/"keep_forever" (None), "delete" (now), "delete_after_7d" /
#: "delete_after_12h", an int/float number of days, or a timedelta.
RetentionRule = str | int | float | timedelta | None

_KEEP = {"keep", "keep_forever", "forever"}
_DELETE = {"delete", "delete_now", "delete_immediately"}
_AFTER = re.compile(r"(?:delete_after_)?(\d+(?:\.\d+)?)([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
_SUCCESS = {"completed", "success", "succeeded", "skipped"}
_FAILURE = {"failed", "failure", "cancelled", "canceled"}


def parse_retention(rule: RetentionRule) -> timedelta | None:
    """How long to keep artifacts: None keeps them forever, ``timedelta(0)`` deletes at once."""
    if rule is None:
        return None
    if isinstance(rule, timedelta):
        delay = rule
    elif isinstance(rule, bool):
        raise ValueError(f"retention rule {rule!r} is ambiguous; use 'keep' or 'delete'")
    elif isinstance(rule, int | float):
        delay = timedelta(days=rule)
    elif isinstance(rule, str):
        text = rule.strip().lower()
        if text in _KEEP:
            return None
        if text in _DELETE:
            return timedelta(0)
        match = _AFTER.fullmatch(text)
        if match is None:
            raise ValueError(
                f"unknown retention rule {rule!r}; use 'keep', 'keep_forever', 'delete', "
                "'delete_after_<N>d' (or h/m), a number of days, or a timedelta")
        delay = timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    else:
        raise TypeError(f"retention rule must be a str, number or timedelta, "
                        f"got {type(rule).__name__}")
    if delay < timedelta(0):
        raise ValueError(f"retention rule {rule!r} is negative")
    return delay


@dataclass(frozen=True)
class ArtifactRetention:
    """Cleanup policy per workflow: what happens to a run's artifacts once it has finished.

    Defaults keep everything (nothing is lost unless asked). Failed and cancelled runs use
    ``on_failure`` (typically "keep_forever", for debugging); completed runs ``on_success``.
    Delays count from each artifact's ``created_at``, so applying a policy is idempotent and
    does not depend on when the sweep runs.
    """

    on_success: RetentionRule = "keep"
    on_failure: RetentionRule = "keep"

    def __post_init__(self) -> None:
        parse_retention(self.on_success)  # fail at construction, not at the end of a run
        parse_retention(self.on_failure)

    def delay_for(self, status: Any) -> timedelta | None:
        """The retention delay for a run that ended with ``status`` (a RunStatus or str)."""
        value = str(getattr(status, "value", status)).lower()
        if value in _SUCCESS:
            return parse_retention(self.on_success)
        if value in _FAILURE:
            return parse_retention(self.on_failure)
        raise ValueError(f"cannot apply artifact retention to a run with status {value!r}; "
                         "apply it once the run has completed, failed or been cancelled")

    def apply(self, store: ArtifactStore, run_id: str, status: Any,
              now: datetime | None = None) -> list[str]:
        """Expire the run's artifacts per this policy and delete those already due;
        returns the deleted keys. Later sweeps (``store.purge_expired()``) delete the rest."""
        delay = self.delay_for(status)
        if delay == timedelta(0):
            return store.delete_run_artifacts(run_id)
        for info in store.list_info(run_id=run_id):
            expires_at = None if delay is None else info.ref.created_at + delay
            if expires_at != info.expires_at:
                store.set_expiry(info.key, expires_at)
        if delay is None:
            return []
        moment = parse_datetime(now) if now is not None else datetime.now(UTC)
        return store.purge_expired(now=moment, run_id=run_id)


def delete_run_artifacts(store: ArtifactStore, run_id: str) -> list[str]:
    """Delete every artifact recorded for ``run_id`` (and bytes no other key shares)."""
    return store.delete_run_artifacts(run_id)
