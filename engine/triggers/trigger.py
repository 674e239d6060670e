"""``EventTrigger`` (spec §7): an event source mapped to a workflow, its params and a filter.

Everything is checked when the trigger is constructed — the name, the source, every JSONPath of
``param_mapping`` and the ``filter`` (CEL, see ``filters``) — so a workflow file with a bad
trigger fails when it loads, not when the first event arrives.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..expressions import Expression
from . import filters
from .errors import TriggerDefinitionError
from .mapping import ParamMapping
from .sources import EventSource

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def check_name(name: object) -> str:
    """``name`` if it can name a trigger (it appears in URLs), else ``TriggerDefinitionError``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise TriggerDefinitionError(
            f"trigger name {name!r} must be 1-100 letters, digits, '_', '.' or '-', starting "
            "with a letter or digit (it is part of the webhook URL)")
    return name


@dataclass(frozen=True)
class EventTrigger:
    """Maps an event source to a workflow: an event that passes ``filter`` starts a run of
    ``workflow_name`` with params read from the event by ``param_mapping`` (JSONPath), recorded
    as ``started_by="trigger:NAME"``.

    ``name`` is unique among triggers and appears in URLs (``/webhooks/trigger/NAME``), so it
    is letters, digits, ``_``, ``.`` and ``-``. A disabled trigger is listed but never fires.
    """

    name: str
    event_source: EventSource
    workflow_name: str
    param_mapping: dict[str, str] = field(default_factory=dict)
    filter: str | None = None
    enabled: bool = True
    _mapping: ParamMapping = field(init=False, repr=False, compare=False)
    _filter: Expression | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_name(self.name)
        if not isinstance(self.event_source, EventSource):
            raise TriggerDefinitionError(
                f"trigger {self.name!r}: event_source must be a WebhookSource, FileSource or "
                f"PollingSource, got {type(self.event_source).__name__}")
        if not isinstance(self.workflow_name, str) or not self.workflow_name.strip():
            raise TriggerDefinitionError(f"trigger {self.name!r}: workflow_name must name the "
                                         f"workflow to start, got {self.workflow_name!r}")
        if not isinstance(self.enabled, bool):
            raise TriggerDefinitionError(f"trigger {self.name!r}: enabled must be true or "
                                         f"false, got {self.enabled!r}")
        mapping = ParamMapping(self.name, self.param_mapping)
        object.__setattr__(self, "param_mapping", dict(mapping.paths))  # a copy of its own
        object.__setattr__(self, "_mapping", mapping)
        compiled = None if self.filter is None else filters.compile_filter(self.name,
                                                                           self.filter)
        object.__setattr__(self, "_filter", compiled)

    @property
    def started_by(self) -> str:
        """What the runs it starts record as who started them."""
        return f"trigger:{self.name}"

    @property
    def kind(self) -> str:
        """The source's kind: ``webhook``, ``file`` or ``poll``."""
        return self.event_source.kind

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether ``event`` passes the filter (always, without one); a filter that fails
        raises ``TriggerFilterError`` (see ``filters``)."""
        if self._filter is None:
            return True
        return filters.matches(self.name, self._filter, event)

    def params_for(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The run params ``param_mapping`` reads from ``event``."""
        return self._mapping.apply(event)

    def describe(self) -> dict[str, Any]:
        """The trigger as plain data, for listings (``spine-engine triggers --json``, the API)."""
        return {"name": self.name, "kind": self.kind, "detail": self.event_source.detail,
                "workflow": self.workflow_name, "param_mapping": dict(self.param_mapping),
                "filter": self.filter, "enabled": self.enabled}


@dataclass(frozen=True, slots=True)
class TriggerFire:
    """A run a trigger started: which trigger, which workflow, the run and its params."""

    trigger: str
    workflow: str
    run_id: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def started_by(self) -> str:
        return f"trigger:{self.trigger}"
