"""Alerts (spec §15b): an ``AlertPolicy`` on a workflow names channels for failed runs, slow
runs and approval waits; alerts go through the run store's outbox and are sent in the
background, retried with backoff, by any process on the store."""

from __future__ import annotations

from .channels import (
    AlertChannel,
    ConsoleChannel,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
    describe_channel,
)
from .errors import AlertConfigError, AlertDeliveryError
from .listener import AlertListener
from .policy import AlertPolicy
from .sender import AlertSender, SendReport

__all__ = [
    "AlertChannel",
    "AlertConfigError",
    "AlertDeliveryError",
    "AlertListener",
    "AlertPolicy",
    "AlertSender",
    "ConsoleChannel",
    "EmailChannel",
    "SendReport",
    "SlackChannel",
    "WebhookChannel",
    "describe_channel",
]
