"""Temporal records: the four timestamps of a captured fact, and bi-temporal versions of it.

``TemporalEnvelope`` says when something happened (``event_time``), when its source made it
public (``publish_time``), when we captured it (``ingest_time``) and, optionally, from when
it takes effect (``effective_time``). ``BiTemporalRecord`` keeps two time axes per version:
*valid* time (when the fact is true in the world) and *system* time (when we believed it).
Intervals are half-open, ``[from, to)``; ``None`` as the end means "still open".

``supersede`` closes the version it is called on (its ``system_to`` becomes the new
version's ``system_from``) and returns the next version: the old object is mutated on
purpose, so code holding it (spec A3 reads ``original.system_to`` after the amendment) sees
that it was superseded, exactly as the row in a bi-temporal table would be closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..serialization import register_json_type, to_jsonable
from ._time import iso, parse_aware, require_aware


@dataclass(frozen=True)
class TemporalEnvelope:
    """A payload with the times it happened, was published and was ingested.

    Plain (slotless) on purpose: ``envelope.__dict__`` is the spec's way to put one in a
    step output. All times must be timezone-aware. The one ordering enforced is
    ``publish_time <= ingest_time`` (nothing can be captured before it is published);
    ``event_time`` may follow ``publish_time`` (forecasts, announced corporate actions).
    """

    event_time: datetime
    publish_time: datetime
    ingest_time: datetime
    payload: Any = None
    effective_time: datetime | None = None

    def __post_init__(self) -> None:
        require_aware("event_time", self.event_time)
        require_aware("publish_time", self.publish_time)
        require_aware("ingest_time", self.ingest_time)
        require_aware("effective_time", self.effective_time, optional=True)
        if self.ingest_time < self.publish_time:
            raise ValueError(f"ingest_time {self.ingest_time.isoformat()} is before "
                             f"publish_time {self.publish_time.isoformat()}: data cannot be "
                             "ingested before it is published")

    @property
    def publish_lag(self) -> timedelta:
        """How long after the event its source published it (negative for announcements)."""
        return self.publish_time - self.event_time

    @property
    def ingest_lag(self) -> timedelta:
        """How long after publication we captured it: the freshness of our copy."""
        return self.ingest_time - self.publish_time

    def known_at(self, when: datetime) -> bool:
        """Whether we held this payload at ``when`` (ingested at or before it)."""
        return self.ingest_time <= require_aware("when", when)  # type: ignore[operator]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ISO times; a payload with ``to_dict`` is converted too."""
        return {"event_time": iso(self.event_time), "publish_time": iso(self.publish_time),
                "ingest_time": iso(self.ingest_time),
                "effective_time": iso(self.effective_time),
                "payload": to_jsonable(self.payload)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TemporalEnvelope:
        """Rebuild from ``to_dict()`` output or ``envelope.__dict__`` (ISO strings or datetimes)."""
        return cls(event_time=parse_aware("event_time", data["event_time"]),  # type: ignore[arg-type]
                   publish_time=parse_aware("publish_time", data["publish_time"]),  # type: ignore[arg-type]
                   ingest_time=parse_aware("ingest_time", data["ingest_time"]),  # type: ignore[arg-type]
                   payload=data.get("payload"),
                   effective_time=parse_aware("effective_time", data.get("effective_time"),
                                              optional=True))


@dataclass
class BiTemporalRecord:
    """One version of a fact on the valid-time and system-time axes (see the module doc)."""

    valid_from: datetime
    valid_to: datetime | None
    system_from: datetime
    system_to: datetime | None
    payload: Any = None
    version: int = 1
    entity_key: str = ""

    def __post_init__(self) -> None:
        require_aware("valid_from", self.valid_from)
        require_aware("valid_to", self.valid_to, optional=True)
        require_aware("system_from", self.system_from)
        require_aware("system_to", self.system_to, optional=True)
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError(f"valid_to {self.valid_to.isoformat()} must be after valid_from "
                             f"{self.valid_from.isoformat()}")
        if self.system_to is not None and self.system_to <= self.system_from:
            raise ValueError(f"system_to {self.system_to.isoformat()} must be after "
                             f"system_from {self.system_from.isoformat()}")
        if not isinstance(self.version, int) or isinstance(self.version, bool) \
                or self.version < 1:
            raise ValueError(f"version must be a positive integer, got {self.version!r}")

    @property
    def is_current(self) -> bool:
        """Not superseded: what we believe now."""
        return self.system_to is None

    def known_at(self, system_time: datetime) -> bool:
        """Whether this version was what we believed at ``system_time``."""
        require_aware("system_time", system_time)
        return self.system_from <= system_time and (
            self.system_to is None or system_time < self.system_to)

    def valid_at(self, valid_time: datetime) -> bool:
        """Whether the fact holds in the world at ``valid_time``."""
        require_aware("valid_time", valid_time)
        return self.valid_from <= valid_time and (
            self.valid_to is None or valid_time < self.valid_to)

    def supersede(self, new_payload: Any, system_time: datetime, *,
                  valid_from: datetime | None = None,
                  valid_to: datetime | None = None) -> BiTemporalRecord:
        """Close this version at ``system_time`` and return the next one carrying ``new_payload``.

        The new version keeps this one's valid interval unless ``valid_from``/``valid_to``
        are given. Only the current version can be superseded, and only after it began.
        """
        require_aware("system_time", system_time)
        if self.system_to is not None:
            raise ValueError(f"version {self.version} was already superseded at "
                             f"{self.system_to.isoformat()}; supersede the current version")
        if system_time <= self.system_from:
            raise ValueError(f"system_time {system_time.isoformat()} must be after version "
                             f"{self.version}'s system_from {self.system_from.isoformat()}")
        successor = BiTemporalRecord(
            valid_from=valid_from if valid_from is not None else self.valid_from,
            valid_to=valid_to if valid_to is not None else self.valid_to,
            system_from=system_time, system_to=None, payload=new_payload,
            version=self.version + 1, entity_key=self.entity_key)
        self.system_to = system_time
        return successor

    def to_dict(self) -> dict[str, Any]:
        return {"entity_key": self.entity_key, "version": self.version,
                "valid_from": iso(self.valid_from), "valid_to": iso(self.valid_to),
                "system_from": iso(self.system_from), "system_to": iso(self.system_to),
                "payload": to_jsonable(self.payload)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BiTemporalRecord:
        return cls(valid_from=parse_aware("valid_from", data["valid_from"]),  # type: ignore[arg-type]
                   valid_to=parse_aware("valid_to", data.get("valid_to"), optional=True),
                   system_from=parse_aware("system_from", data["system_from"]),  # type: ignore[arg-type]
                   system_to=parse_aware("system_to", data.get("system_to"), optional=True),
                   payload=data.get("payload"), version=int(data.get("version", 1)),
                   entity_key=str(data.get("entity_key", "")))


def as_of(records: Iterable[BiTemporalRecord], system_time: datetime | None = None,
          valid_time: datetime | None = None) -> BiTemporalRecord | None:
    """The version we believed at ``system_time`` (``None``: now, the current versions) that
    is valid at ``valid_time`` (``None``: any valid time); ``None`` when nothing matches.

    When several match (versions with different valid intervals), the most recently
    recorded one wins.
    """
    matches = [r for r in records
               if (r.is_current if system_time is None else r.known_at(system_time))
               and (valid_time is None or r.valid_at(valid_time))]
    return max(matches, key=lambda r: (r.system_from, r.version), default=None)


@dataclass
class BiTemporalHistory:
    """Every version of one entity's fact, as a supersede chain, with point-in-time queries."""

    entity_key: str = ""
    versions: list[BiTemporalRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.versions = list(self.versions)
        for before, after in zip(self.versions, self.versions[1:], strict=False):
            if after.version != before.version + 1 or before.system_to != after.system_from:
                raise ValueError(f"versions {before.version} and {after.version} of "
                                 f"{self.entity_key or 'the history'} do not form a supersede "
                                 "chain (each version must close where the next begins)")

    @property
    def current(self) -> BiTemporalRecord | None:
        return self.versions[-1] if self.versions else None

    def record(self, payload: Any, system_time: datetime, *,
               valid_from: datetime | None = None,
               valid_to: datetime | None = None) -> BiTemporalRecord:
        """Add ``payload`` as known from ``system_time``: version 1 (``valid_from`` required),
        else a version superseding the current one."""
        current = self.current
        if current is None:
            if valid_from is None:
                raise ValueError("the first version of a history needs valid_from")
            new = BiTemporalRecord(valid_from=valid_from, valid_to=valid_to,
                                   system_from=system_time, system_to=None, payload=payload,
                                   entity_key=self.entity_key)
        else:
            new = current.supersede(payload, system_time, valid_from=valid_from,
                                    valid_to=valid_to)
        self.versions.append(new)
        return new

    def as_of(self, system_time: datetime | None = None,
              valid_time: datetime | None = None) -> BiTemporalRecord | None:
        """See the module-level ``as_of``."""
        return as_of(self.versions, system_time, valid_time)

    def changes(self) -> list[dict[str, Any]]:
        """What each supersede changed: ``{"version", "system_time", "changed": {field:
        {"from", "to"}}}`` for mapping payloads (a non-mapping payload is one field, ``payload``)."""
        out = []
        for before, after in zip(self.versions, self.versions[1:], strict=False):
            old, new = _fields(before.payload), _fields(after.payload)
            changed = {key: {"from": old.get(key), "to": new.get(key)}
                       for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)}
            out.append({"version": after.version, "system_time": iso(after.system_from),
                        "changed": changed})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"entity_key": self.entity_key, "versions": [v.to_dict() for v in self.versions]}


def _fields(payload: Any) -> dict[str, Any]:
    return dict(payload) if isinstance(payload, Mapping) else {"payload": payload}


for _cls in (TemporalEnvelope, BiTemporalRecord, BiTemporalHistory):
    register_json_type(_cls)
