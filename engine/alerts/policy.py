"""``AlertPolicy``: who hears about a workflow's failed runs, slow runs and approval waits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .channels import AlertChannel, channel_from_config
from .errors import AlertConfigError

DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_BACKOFF_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """Channels to alert when a run fails (``on_failure``) or runs longer than
    ``slow_threshold_seconds`` (``on_slow``: once, as soon as it passes the threshold, even
    while it is still going), and when an approval step starts waiting (``on_approval``;
    None means the ``on_failure`` channels, the people who watch the workflow).

    Each alert is queued in the run store's outbox and sent off the run's path; a failed
    attempt is retried ``max_attempts`` times in all, ``retry_backoff_seconds`` after the
    first, doubling each time (at most ``engine.alerts.sender.MAX_BACKOFF_SECONDS`` apart), then marked failed.
    """

    on_failure: Sequence[AlertChannel] = ()
    on_slow: Sequence[AlertChannel] = ()
    slow_threshold_seconds: float | None = None
    on_approval: Sequence[AlertChannel] | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry_backoff_seconds: float = DEFAULT_BACKOFF_SECONDS

    def __post_init__(self) -> None:
        for name in ("on_failure", "on_slow", "on_approval"):
            value = getattr(self, name)
            if value is not None or name != "on_approval":
                object.__setattr__(self, name, _channels(name, value))
        threshold = self.slow_threshold_seconds
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(
                threshold, int | float) or threshold <= 0):
            raise AlertConfigError(f"AlertPolicy.slow_threshold_seconds must be a number of "
                                   f"seconds > 0, got {threshold!r}")
        if self.on_slow and threshold is None:
            raise AlertConfigError("AlertPolicy.on_slow needs slow_threshold_seconds: how long "
                                   "a run may take before it counts as slow")
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int) or (
                self.max_attempts < 1):
            raise AlertConfigError(f"AlertPolicy.max_attempts must be an int >= 1, "
                                   f"got {self.max_attempts!r}")
        backoff = self.retry_backoff_seconds
        if isinstance(backoff, bool) or not isinstance(backoff, int | float) or backoff < 0:
            raise AlertConfigError(f"AlertPolicy.retry_backoff_seconds must be a number >= 0, "
                                   f"got {backoff!r}")

    @property
    def approval_channels(self) -> tuple[AlertChannel, ...]:
        return tuple(self.on_failure if self.on_approval is None else self.on_approval)

    @property
    def delivery(self) -> dict[str, Any]:
        """The retry settings each queued alert carries, so any later sender honours them."""
        return {"max_attempts": self.max_attempts,
                "backoff_seconds": float(self.retry_backoff_seconds)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (channels as ``to_config()``; references kept as written)."""
        data: dict[str, Any] = {"on_failure": [c.to_config() for c in self.on_failure],
                                "on_slow": [c.to_config() for c in self.on_slow],
                                "slow_threshold_seconds": self.slow_threshold_seconds,
                                "max_attempts": self.max_attempts,
                                "retry_backoff_seconds": self.retry_backoff_seconds}
        if self.on_approval is not None:
            data["on_approval"] = [c.to_config() for c in self.on_approval]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AlertPolicy:
        """The policy ``to_dict`` describes."""
        def channels(key: str) -> tuple[AlertChannel, ...]:
            return tuple(channel_from_config(c) for c in data.get(key) or ())

        approval = data.get("on_approval")
        return cls(on_failure=channels("on_failure"), on_slow=channels("on_slow"),
                   slow_threshold_seconds=data.get("slow_threshold_seconds"),
                   on_approval=None if approval is None else channels("on_approval"),
                   max_attempts=data.get("max_attempts", DEFAULT_MAX_ATTEMPTS),
                   retry_backoff_seconds=data.get("retry_backoff_seconds",
                                                  DEFAULT_BACKOFF_SECONDS))


def _channels(name: str, value: Iterable[AlertChannel] | AlertChannel | None
              ) -> tuple[AlertChannel, ...]:
    items = (value,) if isinstance(value, AlertChannel) else tuple(value or ())
    for item in items:
        if not isinstance(item, AlertChannel):
            raise AlertConfigError(
                f"AlertPolicy.{name} takes alert channels (ConsoleChannel, WebhookChannel, "
                f"SlackChannel, EmailChannel), got {type(item).__name__}")
    return items
