"""``spec.alerts`` of a workflow document, and its conversion to and from ``AlertPolicy``.

Each channel is a one-key mapping naming its kind::

    alerts:
      on_failure:
        - webhook: {url: "secret:env:ALERT_HOOK"}
        - slack: {webhook_url: "secret:env:SLACK_WEBHOOK", channel: "#pipeline-alerts"}
        - email: {to: [oncall@company.com], smtp_host: mail.internal}
      on_slow: [{console: {}}]
      slow_threshold_seconds: 300

Channels are checked by building the runtime ones, so a bad URL or a password that is not a
secret reference fails with the document's line. A custom ``AlertChannel`` subclass has no
document form: such a workflow is exported as a non-replayable definition.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..alerts import (
    AlertChannel,
    AlertConfigError,
    AlertPolicy,
    ConsoleChannel,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
)
from ..alerts.channels import DEFAULT_TIMEOUT_SECONDS
from ..alerts.policy import DEFAULT_BACKOFF_SECONDS, DEFAULT_MAX_ATTEMPTS
from ..errors import WorkflowSpecError

_STRICT = ConfigDict(extra="forbid", frozen=True)
_KINDS: dict[str, type[AlertChannel]] = {
    "console": ConsoleChannel, "webhook": WebhookChannel, "slack": SlackChannel,
    "email": EmailChannel}


class ConsoleSpec(BaseModel):
    model_config = _STRICT
    stream: str = "stderr"


class WebhookSpec(BaseModel):
    model_config = _STRICT
    url: str = Field(description="http(s) URL or a secret reference (secret:env:NAME)")
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0)


class SlackSpec(BaseModel):
    model_config = _STRICT
    webhook_url: str = Field(description="the incoming webhook, usually secret:env:NAME")
    channel: str | None = None
    username: str | None = None
    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0)


class EmailSpec(BaseModel):
    model_config = _STRICT
    to: list[str] = Field(min_length=1)
    smtp_host: str = "localhost"
    smtp_port: int = 25
    sender: str = "spine@localhost"
    username: str | None = None
    password: str | None = Field(default=None, description="a secret reference, never a value")
    starttls: bool = False
    use_ssl: bool = False
    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0)


class ChannelSpec(BaseModel):
    """One channel: exactly one of ``console``, ``webhook``, ``slack``, ``email``."""

    model_config = _STRICT
    console: ConsoleSpec | None = None
    webhook: WebhookSpec | None = None
    slack: SlackSpec | None = None
    email: EmailSpec | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ChannelSpec:
        given = [kind for kind in _KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            raise ValueError(f"an alert channel has exactly one of {', '.join(_KINDS)}; "
                             f"got {', '.join(given) or 'none'}")
        self.to_channel()  # a bad URL or a literal password fails here, with the line
        return self

    def to_channel(self) -> AlertChannel:
        for kind, cls in _KINDS.items():
            settings = getattr(self, kind)
            if settings is not None:
                try:
                    channel: AlertChannel = cls(**settings.model_dump())
                except AlertConfigError as exc:
                    raise ValueError(str(exc)) from None
                return channel
        raise ValueError("an alert channel needs a kind")  # _one_kind makes this unreachable


class AlertsSpec(BaseModel):
    """``spec.alerts``: mirrors ``AlertPolicy`` and its defaults."""

    model_config = _STRICT
    on_failure: list[ChannelSpec] = Field(default_factory=list)
    on_slow: list[ChannelSpec] = Field(default_factory=list)
    on_approval: list[ChannelSpec] | None = Field(
        default=None, description="channels told when an approval step waits (default: "
        "on_failure's)")
    slow_threshold_seconds: float | None = Field(default=None, gt=0)
    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1)
    retry_backoff_seconds: float = Field(default=DEFAULT_BACKOFF_SECONDS, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> AlertsSpec:
        self.to_policy()
        return self

    def to_policy(self) -> AlertPolicy:
        try:
            return AlertPolicy(
                on_failure=[c.to_channel() for c in self.on_failure],
                on_slow=[c.to_channel() for c in self.on_slow],
                on_approval=None if self.on_approval is None else [
                    c.to_channel() for c in self.on_approval],
                slow_threshold_seconds=self.slow_threshold_seconds,
                max_attempts=self.max_attempts, retry_backoff_seconds=self.retry_backoff_seconds)
        except AlertConfigError as exc:
            raise ValueError(str(exc)) from None


def alert_policy(spec: AlertsSpec | None) -> AlertPolicy | None:
    """The runtime policy of a ``spec.alerts`` section (None when absent)."""
    return None if spec is None else spec.to_policy()


def alerts_doc(policy: AlertPolicy | None, source: str) -> dict[str, Any] | None:
    """``spec.alerts`` of a runtime policy, holding only what differs from the defaults."""
    if policy is None:
        return None
    doc: dict[str, Any] = {"on_failure": [_channel_doc(c, source) for c in policy.on_failure],
                           "on_slow": [_channel_doc(c, source) for c in policy.on_slow]}
    if policy.on_approval is not None:
        doc["on_approval"] = [_channel_doc(c, source) for c in policy.on_approval]
    doc = {k: v for k, v in doc.items() if v or k == "on_approval"}
    for key, default in (("slow_threshold_seconds", None), ("max_attempts", DEFAULT_MAX_ATTEMPTS),
                         ("retry_backoff_seconds", DEFAULT_BACKOFF_SECONDS)):
        if getattr(policy, key) != default:
            doc[key] = getattr(policy, key)
    return doc


def _channel_doc(channel: AlertChannel, source: str) -> dict[str, Any]:
    kind = next((k for k, cls in _KINDS.items() if type(channel) is cls), None)
    if kind is None:
        raise WorkflowSpecError(f"alert channel {type(channel).__name__} has no document form "
                                "(only console, webhook, slack and email do)", source)
    config = channel.to_config()
    config.pop("type")
    defaults = {f.name: f for f in dataclasses.fields(_KINDS[kind])}
    settings = {k: v for k, v in config.items()
                if k not in defaults or _default_of(defaults[k]) != v}
    return {kind: settings}


def _default_of(spec_field: dataclasses.Field[Any]) -> Any:
    """A dataclass field's default (its factory's value), or ``MISSING``, which no value
    equals."""
    if spec_field.default_factory is not dataclasses.MISSING:
        return spec_field.default_factory()
    return spec_field.default


#: the model of the mapping found under each key, for "allowed keys" hints in errors
MODEL_UNDER: dict[str, type[BaseModel]] = {
    "alerts": AlertsSpec, "console": ConsoleSpec, "webhook": WebhookSpec, "slack": SlackSpec,
    "email": EmailSpec}
