"""Correction records: an audited change of one field of one entity, with why and by whom.

``CorrectionRecord.create`` stamps the time and derives a content id (the SHA-256 of the
entity, field, both values, reason and time), so the same correction recorded twice from
the same inputs gets the same id and a ledger can ignore the repeat.
``delta`` is ``corrected - original`` and ``pct_change`` the relative change as a fraction
(as pandas' ``pct_change``: ``-0.004`` is -0.4 %). Both are ``None`` when either value is
not a number, and ``pct_change`` is ``None`` when the original is zero: ``None`` stays valid
JSON in a step output where NaN would not.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..serialization import register_json_type, to_json
from ._time import iso, parse_aware, require_aware, utc_now


class CorrectionReason(StrEnum):
    """Why a value was corrected."""

    ROUNDING = "ROUNDING"
    VENDOR_CORRECTION = "VENDOR_CORRECTION"
    RESTATEMENT = "RESTATEMENT"
    DATA_ENTRY_ERROR = "DATA_ENTRY_ERROR"
    LATE_DATA = "LATE_DATA"
    CORPORATE_ACTION = "CORPORATE_ACTION"
    METHODOLOGY_CHANGE = "METHODOLOGY_CHANGE"
    DUPLICATE = "DUPLICATE"
    OTHER = "OTHER"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class CorrectionRecord:
    """One correction; build it with ``create`` (which stamps the time and the id)."""

    id: str
    entity_key: str
    field_name: str
    original_value: Any
    corrected_value: Any
    reason: CorrectionReason
    corrected_by: str
    corrected_at: datetime
    source_ref: str | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", CorrectionReason(self.reason))
        require_aware("corrected_at", self.corrected_at)
        if not self.entity_key or not self.field_name:
            raise ValueError("a correction needs an entity_key and a field_name")

    @classmethod
    def create(cls, entity_key: str, field_name: str, original_value: Any,
               corrected_value: Any, reason: CorrectionReason | str, corrected_by: str,
               source_ref: str | None = None, notes: str = "",
               corrected_at: datetime | None = None) -> CorrectionRecord:
        """A new correction of ``entity_key.field_name`` from ``original_value`` to
        ``corrected_value``; ``corrected_at`` defaults to now (UTC)."""
        when = corrected_at or utc_now()
        reason = CorrectionReason(reason)
        digest = hashlib.sha256(to_json(
            [entity_key, field_name, original_value, corrected_value, reason.value,
             iso(require_aware("corrected_at", when))]).encode()).hexdigest()
        return cls(id=f"corr_{digest[:16]}", entity_key=entity_key, field_name=field_name,
                   original_value=original_value, corrected_value=corrected_value,
                   reason=reason, corrected_by=corrected_by, corrected_at=when,
                   source_ref=source_ref, notes=notes)

    @property
    def delta(self) -> float | None:
        """``corrected_value - original_value``; None unless both are numbers."""
        old, new = _number(self.original_value), _number(self.corrected_value)
        return None if old is None or new is None else new - old

    @property
    def pct_change(self) -> float | None:
        """``delta / |original_value|`` as a fraction; None for non-numbers or a zero original."""
        delta, old = self.delta, _number(self.original_value)
        if delta is None or not old:
            return None
        return delta / abs(old)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "entity_key": self.entity_key, "field_name": self.field_name,
                "original_value": self.original_value, "corrected_value": self.corrected_value,
                "reason": self.reason.value, "corrected_by": self.corrected_by,
                "corrected_at": iso(self.corrected_at), "source_ref": self.source_ref,
                "notes": self.notes, "delta": self.delta, "pct_change": self.pct_change}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CorrectionRecord:
        return cls(id=str(data["id"]), entity_key=str(data["entity_key"]),
                   field_name=str(data["field_name"]), original_value=data["original_value"],
                   corrected_value=data["corrected_value"],
                   reason=CorrectionReason(data["reason"]),
                   corrected_by=str(data["corrected_by"]),
                   corrected_at=parse_aware("corrected_at", data["corrected_at"]),  # type: ignore[arg-type]
                   source_ref=data.get("source_ref"), notes=str(data.get("notes", "")))


register_json_type(CorrectionRecord)
