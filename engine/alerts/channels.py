"""Where alerts go: the console, a JSON webhook, a Slack incoming webhook, or e-mail (SMTP).

A channel is a frozen dataclass of its settings; ``to_config()`` is what the outbox stores
(secret references as written) and ``channel_from_config`` rebuilds it in whichever process
sends. ``send`` makes one attempt and raises ``AlertDeliveryError`` when it fails. A custom
channel subclasses ``AlertChannel``; it is stored by ``module:qualname``, so any process that
can import it can deliver it.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from ..refs import import_ref, is_ref
from ..secrets import is_well_formed
from .errors import AlertConfigError, AlertDeliveryError
from .references import Resolver, is_reference

DEFAULT_TIMEOUT_SECONDS = 10.0
USER_AGENT = "spine-alerts"
_RETRY_STATUSES = (408, 425, 429)  # 4xx answers worth trying again


@dataclass(frozen=True, slots=True)
class AlertChannel(ABC):
    """One destination for alerts; ``timeout_seconds`` bounds each network operation."""

    type: ClassVar[str] = ""
    timeout_seconds: float = field(default=DEFAULT_TIMEOUT_SECONDS, kw_only=True)

    @abstractmethod
    def send(self, alert: Mapping[str, Any], resolve: Resolver) -> None:
        """Deliver ``alert`` once (``resolve`` turns secret references into values)."""

    @property
    def lease_seconds(self) -> float:
        """How long a claimed row may stay ``sending`` before another sender may retry it:
        longer than any attempt can take (a timeout applies to each network operation)."""
        return 4 * self.timeout_seconds + 1.0

    def describe(self) -> str:
        """A short, secret-free label for listings (references shown as written)."""
        return self.type or type(self).__name__

    def to_config(self) -> dict[str, Any]:
        """The settings as JSON-ready data, with ``type`` saying which channel they are for."""
        kind = self.type or f"{type(self).__module__}:{type(self).__qualname__}"
        data: dict[str, Any] = {"type": kind}
        for item in fields(self):
            value = getattr(self, item.name)
            data[item.name] = list(value) if isinstance(value, tuple) else value
        return data

    def _check_timeout(self) -> None:
        if isinstance(self.timeout_seconds, bool) or not isinstance(
                self.timeout_seconds, int | float) or self.timeout_seconds <= 0:
            raise AlertConfigError(f"{type(self).__name__}.timeout_seconds must be a number "
                                   f"> 0, got {self.timeout_seconds!r}")


@dataclass(frozen=True, slots=True)
class ConsoleChannel(AlertChannel):
    """Print each alert as one line on the sending process's ``stderr`` (or ``stdout``)."""

    type: ClassVar[str] = "console"
    stream: str = "stderr"

    def __post_init__(self) -> None:
        self._check_timeout()
        if self.stream not in ("stderr", "stdout"):
            raise AlertConfigError(f"ConsoleChannel.stream must be 'stderr' or 'stdout', "
                                   f"got {self.stream!r}")

    def send(self, alert: Mapping[str, Any], resolve: Resolver) -> None:
        out = sys.stdout if self.stream == "stdout" else sys.stderr
        print(f"[spine alert] {alert.get('text', '')}", file=out, flush=True)


@dataclass(frozen=True, slots=True)
class WebhookChannel(AlertChannel):
    """POST the alert as JSON to ``url`` (which, like header values, may be a secret
    reference); a 2xx answer delivers it, 4xx other than 408/425/429 fails it for good."""

    type: ClassVar[str] = "webhook"
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        self._check_timeout()
        _check_url(type(self).__name__, "url", self.url)
        object.__setattr__(self, "headers", dict(self.headers or {}))

    def describe(self) -> str:
        return f"webhook {_shown(self.url)}"

    def send(self, alert: Mapping[str, Any], resolve: Resolver) -> None:
        headers = {"User-Agent": USER_AGENT, "X-Spine-Alert-Kind": str(alert.get("kind", ""))}
        headers.update({name: resolve(value) for name, value in self.headers.items()})
        _post_json(resolve(self.url), dict(alert), headers, self.timeout_seconds)


@dataclass(frozen=True, slots=True)
class SlackChannel(AlertChannel):
    """Post to a Slack incoming webhook: ``{"text": ..., "channel": ..., "blocks": [...]}``
    (``channel`` only where the webhook allows overriding it; ``webhook_url`` may be a secret
    reference such as ``secret:env:SLACK_WEBHOOK``)."""

    type: ClassVar[str] = "slack"
    webhook_url: str
    channel: str | None = None
    username: str | None = None

    def __post_init__(self) -> None:
        self._check_timeout()
        _check_url(type(self).__name__, "webhook_url", self.webhook_url)

    def describe(self) -> str:
        return f"slack {self.channel or _shown(self.webhook_url)}"

    def message(self, alert: Mapping[str, Any]) -> dict[str, Any]:
        """The incoming-webhook body: ``text`` (the fallback) plus a section and a context."""
        context = f"workflow `{alert.get('workflow')}` · run `{alert.get('run_id')}`"
        body: dict[str, Any] = {
            "text": alert.get("text", ""),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": alert.get("text", "")}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
            ]}
        if self.channel:
            body["channel"] = self.channel
        if self.username:
            body["username"] = self.username
        return body

    def send(self, alert: Mapping[str, Any], resolve: Resolver) -> None:
        _post_json(resolve(self.webhook_url), self.message(alert), {"User-Agent": USER_AGENT},
                   self.timeout_seconds)


@dataclass(frozen=True, slots=True)
class EmailChannel(AlertChannel):
    """Send a plain-text e-mail over SMTP (``use_ssl`` for SMTPS, ``starttls`` to upgrade;
    ``password`` may be a secret reference and is only used with ``username``)."""

    type: ClassVar[str] = "email"
    to: tuple[str, ...] | list[str] | str
    smtp_host: str = "localhost"
    smtp_port: int = 25
    sender: str = "spine@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    use_ssl: bool = False

    def __post_init__(self) -> None:
        self._check_timeout()
        recipients = (self.to,) if isinstance(self.to, str) else tuple(self.to or ())
        if not recipients or not all(isinstance(r, str) and "@" in r for r in recipients):
            raise AlertConfigError(f"EmailChannel.to must list e-mail addresses, got {self.to!r}")
        object.__setattr__(self, "to", recipients)
        if isinstance(self.smtp_port, bool) or not isinstance(self.smtp_port, int) or not (
                0 < self.smtp_port < 65536):
            raise AlertConfigError(f"EmailChannel.smtp_port must be a port number, "
                                   f"got {self.smtp_port!r}")
        if self.password is not None and not is_well_formed(self.password):
            raise AlertConfigError("EmailChannel.password must be a secret reference such as "
                                   "'secret:env:SMTP_PASSWORD', so it is never stored")

    def describe(self) -> str:
        return f"email {', '.join(self.to)}"

    def send(self, alert: Mapping[str, Any], resolve: Resolver) -> None:
        import smtplib  # with the email package ~10 ms: loaded by the sender, not the engine
        from email.message import EmailMessage

        message = EmailMessage()
        message["From"], message["To"] = self.sender, ", ".join(self.to)
        message["Subject"] = str(alert.get("title", "spine alert"))
        message.set_content(email_body(alert))
        smtp_class = smtplib.SMTP_SSL if self.use_ssl else smtplib.SMTP
        try:
            with smtp_class(self.smtp_host, self.smtp_port, timeout=self.timeout_seconds) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, resolve(self.password or ""))
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace") if isinstance(
                exc.smtp_error, bytes) else str(exc.smtp_error)
            raise AlertDeliveryError(f"SMTP {self.smtp_host}:{self.smtp_port} answered "
                                     f"{exc.smtp_code} {text}",
                                     permanent=exc.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise AlertDeliveryError(f"SMTP {self.smtp_host}:{self.smtp_port}: "
                                     f"{type(exc).__name__}: {exc}") from None


BUILTIN: dict[str, type[AlertChannel]] = {
    c.type: c for c in (ConsoleChannel, WebhookChannel, SlackChannel, EmailChannel)}


def channel_from_config(config: Mapping[str, Any]) -> AlertChannel:
    """Rebuild a channel from ``to_config()`` data (a built-in type, or a ``module:qualname``
    of an ``AlertChannel`` subclass); other keys than its fields are ignored."""
    kind = str(config.get("type", ""))
    cls: Any = BUILTIN.get(kind)
    if cls is None and is_ref(kind):
        try:
            cls = import_ref(kind)
        except (ImportError, AttributeError) as exc:
            raise AlertConfigError(f"alert channel type {kind!r} cannot be imported here: "
                                   f"{exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, AlertChannel)):
        known = ", ".join(sorted(BUILTIN))
        raise AlertConfigError(f"unknown alert channel type {kind!r}; the built-in ones are "
                               f"{known}, or give a 'module:qualname' AlertChannel subclass")
    names = {f.name for f in fields(cls)}
    try:
        channel: AlertChannel = cls(**{k: v for k, v in config.items() if k in names})
    except TypeError as exc:
        raise AlertConfigError(f"alert channel {kind!r}: {exc}") from None
    return channel


def describe_channel(config: Mapping[str, Any]) -> str:
    """A short, secret-free label of a stored channel config (its type when it cannot be
    rebuilt here)."""
    try:
        return channel_from_config(config).describe()
    except AlertConfigError:
        return str(config.get("type", "?"))


def email_body(alert: Mapping[str, Any]) -> str:
    """The e-mail text: the alert's sentence, then its details one per line."""
    skip = {"text", "title"}
    lines = [str(alert.get("text", "")), ""]
    lines += [f"{key}: {value}" for key, value in alert.items()
              if key not in skip and value not in (None, "", [], {})]
    return "\n".join(lines) + "\n"


def _check_url(owner: str, name: str, value: object) -> None:
    if not isinstance(value, str) or not (
            value.startswith(("http://", "https://")) or is_well_formed(value)):
        shown = value if is_reference(value) else repr(value)  # a reference is no secret
        raise AlertConfigError(f"{owner}.{name} must be an http(s) URL or a secret reference "
                               f"such as 'secret:env:NAME', got {shown}")


def _shown(url: str) -> str:
    """A URL for listings: a reference as written, else scheme and host only (a webhook's
    path is often its secret)."""
    if is_reference(url):
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/…"


def _post_json(url: str, body: dict[str, Any], headers: dict[str, str],
               timeout: float) -> None:
    """One JSON POST; transport errors and non-2xx answers become ``AlertDeliveryError``."""
    import httpx  # ~40 ms to import: only processes that send alerts pay for it

    try:
        response = httpx.post(url, json=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise AlertDeliveryError(f"POST failed: {type(exc).__name__}: {exc}") from None
    if response.status_code >= 300:
        code = response.status_code
        permanent = 400 <= code < 500 and code not in _RETRY_STATUSES
        raise AlertDeliveryError(f"POST answered HTTP {code}: {response.text[:200]}",
                                 permanent=permanent)
