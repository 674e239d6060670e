"""Where trigger events come from: a signed webhook, files appearing in a folder, or new objects
in an object store found by polling.

Sources only describe; the router verifies webhooks (``webhook``) and runs the watchers
(``watchers``). Each source has a ``kind`` (``webhook``, ``file``, ``poll``: the YAML key),
a ``detail`` for listings, and a ``key`` that ``EventRouter.dispatch(source, ...)`` matches.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from .errors import TriggerDefinitionError

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MIN_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class EventSource(ABC):
    """Base class of the sources an ``EventTrigger`` listens to."""

    kind: ClassVar[str] = "source"

    @property
    def detail(self) -> str:
        """One line saying what is listened to, for ``spine-engine triggers``."""
        return self.key

    @property
    @abstractmethod
    def key(self) -> str:
        """What ``EventRouter.dispatch(source, event)`` matches besides the trigger's name."""


@dataclass(frozen=True)
class WebhookSource(EventSource):
    """An HTTP POST to ``/webhooks/trigger/{trigger name}`` (or ``path``), signed with HMAC-SHA256.

    ``secret`` names where the HMAC key comes from. Until the server has a secrets store it is
    the name of an environment variable, read each time a request is verified (so rotating it
    needs no restart). When that variable is unset or empty every request is refused (401) and
    the log says which variable to set: an unsigned webhook is never accepted. ``path`` is an
    extra route the server may offer for the trigger (e.g. ``/hooks/github``).
    """

    path: str | None = None
    secret: str = ""
    kind: ClassVar[str] = "webhook"

    def __post_init__(self) -> None:
        if not isinstance(self.secret, str) or not _ENV_NAME.fullmatch(self.secret):
            raise TriggerDefinitionError(
                f"WebhookSource needs secret=ENV_VAR, the name of the environment variable "
                f"holding the HMAC key (e.g. 'GITHUB_WEBHOOK_SECRET'), got {self.secret!r}")
        if self.path is not None and not (isinstance(self.path, str)
                                          and self.path.startswith("/")):
            raise TriggerDefinitionError(f"WebhookSource path must start with '/', got "
                                         f"{self.path!r}")

    @property
    def key(self) -> str:
        return self.path or ""

    @property
    def detail(self) -> str:
        route = f"{self.path}, " if self.path else ""
        return f"{route}signed with ${self.secret}"


@dataclass(frozen=True)
class FileSource(EventSource):
    """Files created in the folder ``path`` whose path relative to it matches ``pattern``
    (``fnmatch``: ``*.csv`` matches in sub-folders too when ``recursive``); hidden files
    (a name starting with ``.``) are ignored. A file renamed into the folder counts as
    created; write big files elsewhere and move them in, so a run never sees half a file.
    A relative ``path`` is taken from the working directory of the process that watches."""

    path: str
    pattern: str = "*"
    recursive: bool = False
    kind: ClassVar[str] = "file"

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path.strip():
            raise TriggerDefinitionError(f"FileSource needs the folder to watch, got "
                                         f"{self.path!r}")
        _check_pattern("FileSource", self.pattern)

    @property
    def key(self) -> str:
        return self.path

    @property
    def detail(self) -> str:
        deep = ", recursive" if self.recursive else ""
        return f"{self.path} ({self.pattern}{deep})"


@dataclass(frozen=True)
class PollingSource(EventSource):
    """Objects under ``url`` (any ``fsspec`` URL: ``s3://bucket/raw/``, ``gs://...``,
    ``file:///data/in``) listed every ``interval`` seconds; an object not listed before fires.
    ``pattern`` matches the object's path relative to ``url``; ``recursive`` lists sub-folders."""

    url: str
    interval: float = 60.0
    pattern: str = "*"
    recursive: bool = True
    kind: ClassVar[str] = "poll"

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.strip():
            raise TriggerDefinitionError(f"PollingSource needs a URL to list, got {self.url!r}")
        if isinstance(self.interval, bool) or not isinstance(self.interval, int | float) \
                or self.interval < MIN_POLL_SECONDS:
            raise TriggerDefinitionError(f"PollingSource interval must be a number of seconds "
                                         f"of at least {MIN_POLL_SECONDS}, got "
                                         f"{self.interval!r}")
        _check_pattern("PollingSource", self.pattern)

    @property
    def key(self) -> str:
        return self.url

    @property
    def detail(self) -> str:
        return f"{self.url} ({self.pattern}, every {self.interval:g}s)"


def _check_pattern(source: str, pattern: object) -> None:
    if not isinstance(pattern, str) or not pattern:
        raise TriggerDefinitionError(f"{source} pattern must be a glob such as '*.csv', got "
                                     f"{pattern!r}")
