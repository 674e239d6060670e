"""Data assets: a hierarchical ``AssetKey`` and the ``AssetMaterialization`` that says a run
produced (a partition of) it, as Dagster names them.

``AssetKey("sec", "earnings", "AAPL").path`` is the slash-joined ``"sec/earnings/AAPL"``
(``parts`` holds the tuple), so the spec's ``str(key.path)`` reads as the asset's address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..serialization import first_unserializable, register_json_type, to_jsonable
from ._time import iso, parse_aware, require_aware, utc_now

SEPARATOR = "/"


@dataclass(frozen=True, slots=True, order=True)
class AssetKey:
    """An asset's address: one or more non-empty parts without ``/``."""

    parts: tuple[str, ...]

    def __init__(self, *parts: str) -> None:
        if len(parts) == 1 and isinstance(parts[0], list | tuple):
            parts = tuple(parts[0])
        if not parts:
            raise ValueError("an AssetKey needs at least one part")
        for part in parts:
            if not isinstance(part, str) or not part or SEPARATOR in part:
                raise ValueError(f"asset key part {part!r} must be a non-empty string "
                                 f"without {SEPARATOR!r}")
        object.__setattr__(self, "parts", tuple(parts))

    @classmethod
    def from_string(cls, text: str) -> AssetKey:
        """``"sec/earnings/AAPL"`` -> ``AssetKey("sec", "earnings", "AAPL")``."""
        return cls(*text.split(SEPARATOR))

    @property
    def path(self) -> str:
        return SEPARATOR.join(self.parts)

    @property
    def parent(self) -> AssetKey | None:
        return AssetKey(*self.parts[:-1]) if len(self.parts) > 1 else None

    def child(self, *parts: str) -> AssetKey:
        return AssetKey(*self.parts, *parts)

    def __str__(self) -> str:
        return self.path

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "parts": list(self.parts)}


@dataclass(frozen=True, slots=True)
class AssetMaterialization:
    """A run produced ``asset_key`` (one ``partition`` of it, when partitioned).

    ``metadata`` must be JSON-safe (it travels in step outputs and events); ``asset_key``
    may be given as an ``AssetKey``, a ``"a/b/c"`` string or a sequence of parts.
    """

    asset_key: AssetKey
    partition: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    materialized_at: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        key = self.asset_key
        if isinstance(key, str):
            key = AssetKey.from_string(key)
        elif isinstance(key, Sequence):
            key = AssetKey(*key)
        elif not isinstance(key, AssetKey):
            raise TypeError(f"asset_key must be an AssetKey, got {type(key).__name__}")
        object.__setattr__(self, "asset_key", key)
        object.__setattr__(self, "metadata", dict(self.metadata))
        bad = first_unserializable(self.metadata, "metadata")
        if bad is not None:
            raise ValueError(f"{key}: {bad[0]} is a {bad[1]}, which is not JSON-serialisable")
        require_aware("materialized_at", self.materialized_at)

    def to_dict(self) -> dict[str, Any]:
        return {"asset_key": self.asset_key.path, "partition": self.partition,
                "metadata": to_jsonable(self.metadata),
                "materialized_at": iso(self.materialized_at)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AssetMaterialization:
        return cls(AssetKey.from_string(str(data["asset_key"])), data.get("partition"),
                   dict(data.get("metadata") or {}),
                   parse_aware("materialized_at", data["materialized_at"]))  # type: ignore[arg-type]


for _cls in (AssetKey, AssetMaterialization):
    register_json_type(_cls)
