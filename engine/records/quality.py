"""Quality checks: a named predicate over a record that yields a status and a message.

A check never raises into the batch it guards: a predicate that raises gives an ``ERROR``
result naming the exception, so one malformed record is reported, not fatal. A failing
check yields its ``severity`` (``FAIL`` by default, ``WARN`` for advisory checks). The
predicate returns a bool, or a ``QualityResult`` when it wants its own message or value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..serialization import register_json_type, to_jsonable
from ._time import iso, utc_now


class QualityCategory(StrEnum):
    """The data-quality dimension a check measures."""

    COMPLETENESS = "COMPLETENESS"
    ACCURACY = "ACCURACY"
    CONSISTENCY = "CONSISTENCY"
    VALIDITY = "VALIDITY"
    TIMELINESS = "TIMELINESS"
    UNIQUENESS = "UNIQUENESS"


class QualityStatus(StrEnum):
    """A check's outcome, from best to worst."""

    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    ERROR = "ERROR"

    @property
    def rank(self) -> int:
        return list(QualityStatus).index(self)

    @classmethod
    def worst(cls, statuses: Iterable[QualityStatus]) -> QualityStatus:
        """The worst of ``statuses`` (``PASS`` for none): a gate's overall verdict."""
        return max(statuses, key=lambda s: s.rank, default=cls.PASS)


@dataclass(frozen=True, slots=True)
class QualityResult:
    """What one check found about one record."""

    check_name: str
    category: QualityCategory
    status: QualityStatus
    message: str = ""
    value: Any = None
    checked_at: datetime = field(default_factory=utc_now)

    @property
    def passed(self) -> bool:
        """PASS or WARN: the record may go on."""
        return self.status in (QualityStatus.PASS, QualityStatus.WARN)

    def to_dict(self) -> dict[str, Any]:
        return {"check_name": self.check_name, "category": self.category.value,
                "status": self.status.value, "message": self.message,
                "value": to_jsonable(self.value), "checked_at": iso(self.checked_at)}


Predicate = Callable[[Mapping[str, Any]], "bool | QualityResult"]


@dataclass(frozen=True, slots=True)
class QualityCheck:
    """A named predicate over a record (a mapping), run with ``run(record)``."""

    name: str
    category: QualityCategory
    predicate: Predicate
    message: str = ""
    severity: QualityStatus = QualityStatus.FAIL

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a quality check needs a name")
        if not callable(self.predicate):
            raise TypeError(f"check {self.name!r}: predicate must be callable")
        object.__setattr__(self, "category", QualityCategory(self.category))
        object.__setattr__(self, "severity", QualityStatus(self.severity))
        if self.severity not in (QualityStatus.WARN, QualityStatus.FAIL):
            raise ValueError(f"check {self.name!r}: severity must be WARN or FAIL")

    def run(self, record: Mapping[str, Any]) -> QualityResult:
        """The check's result for ``record``; a raising predicate gives ``ERROR``."""
        try:
            verdict = self.predicate(record)
        except Exception as exc:  # reported as the check's ERROR result (module doc)
            return QualityResult(self.name, self.category, QualityStatus.ERROR,
                                 f"{self.name} could not run: {type(exc).__name__}: {exc}")
        if isinstance(verdict, QualityResult):
            return verdict
        if verdict:
            return QualityResult(self.name, self.category, QualityStatus.PASS,
                                 f"{self.name} passed")
        return QualityResult(self.name, self.category, self.severity,
                             self.message or f"{self.name} failed")

    @staticmethod
    def run_all(checks: Iterable[QualityCheck], record: Mapping[str, Any]
                ) -> list[QualityResult]:
        """Every check's result for ``record``, in order (all run, even after a failure)."""
        return [check.run(record) for check in checks]

    @classmethod
    def required(cls, field_name: str, *, category: QualityCategory =
                 QualityCategory.COMPLETENESS, severity: QualityStatus = QualityStatus.FAIL
                 ) -> QualityCheck:
        """``field_name`` is present, not None, not empty and not zero ("Missing revenue")."""
        return cls(f"required:{field_name}", category,
                   lambda record: bool(record.get(field_name)),
                   f"Missing {field_name}", severity)

    @classmethod
    def in_range(cls, field_name: str, low: float | None = None, high: float | None = None,
                 *, category: QualityCategory = QualityCategory.VALIDITY,
                 severity: QualityStatus = QualityStatus.FAIL) -> QualityCheck:
        """``field_name`` is a number within ``[low, high]`` (either bound may be open)."""
        def predicate(record: Mapping[str, Any]) -> QualityResult | bool:
            value = record.get(field_name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return QualityResult(f"range:{field_name}", category, severity,
                                     f"{field_name} is not a number: {value!r}", value)
            inside = (low is None or value >= low) and (high is None or value <= high)
            return QualityResult(f"range:{field_name}", category,
                                 QualityStatus.PASS if inside else severity,
                                 f"{field_name}={value} "
                                 f"{'within' if inside else 'outside'} [{low}, {high}]", value)
        return cls(f"range:{field_name}", category, predicate, severity=severity)


register_json_type(QualityResult)
