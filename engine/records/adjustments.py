"""Corporate-action adjustment factors and the chain that back-adjusts prices and share counts.

Every factor is the *price divisor* for observations before its ``effective_date`` (the
ex-date): a 4-for-1 split is ``factor=4.0`` (a $700 close before it is $175 adjusted), a
1-for-10 reverse split ``factor=0.1``, a 10% stock dividend ``1.1``, a cash dividend
``close / (close - dividend)`` (see ``AdjustmentFactor.cash_dividend``). A price observed
*on* the ex-date already trades on the new basis, so it is not adjusted by that action.
Share counts are multiplied by the factors of share-changing actions only (splits, reverse
splits, stock dividends); a cash dividend or spin-off changes prices, not shares.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from ..serialization import register_json_type


class AdjustmentMethod(StrEnum):
    """The kind of corporate action behind a factor (it decides what the factor applies to)."""

    SPLIT = "SPLIT"
    REVERSE_SPLIT = "REVERSE_SPLIT"
    STOCK_DIVIDEND = "STOCK_DIVIDEND"
    CASH_DIVIDEND = "CASH_DIVIDEND"
    SPIN_OFF = "SPIN_OFF"
    RIGHTS_ISSUE = "RIGHTS_ISSUE"

    @property
    def changes_shares(self) -> bool:
        return self in (AdjustmentMethod.SPLIT, AdjustmentMethod.REVERSE_SPLIT,
                        AdjustmentMethod.STOCK_DIVIDEND)


@dataclass(frozen=True, slots=True)
class AdjustmentFactor:
    """One corporate action: prices before ``effective_date`` are divided by ``factor``."""

    effective_date: date
    factor: float
    method: AdjustmentMethod = AdjustmentMethod.SPLIT
    description: str = ""

    def __post_init__(self) -> None:
        effective = self.effective_date
        if isinstance(effective, datetime):  # a datetime is a date too: keep the day
            object.__setattr__(self, "effective_date", effective.date())
        elif isinstance(effective, str):
            object.__setattr__(self, "effective_date", date.fromisoformat(effective))
        elif not isinstance(effective, date):
            raise TypeError(f"effective_date must be a date, got {type(effective).__name__}")
        object.__setattr__(self, "method", AdjustmentMethod(self.method))
        factor = self.factor
        if isinstance(factor, bool) or not isinstance(factor, int | float) \
                or not math.isfinite(factor) or factor <= 0:
            raise ValueError(f"{self.method.value} on {self.effective_date}: factor must be a "
                             f"positive finite number, got {factor!r}")
        object.__setattr__(self, "factor", float(factor))
        if self.method is AdjustmentMethod.SPLIT and factor <= 1:
            raise ValueError(f"SPLIT on {self.effective_date}: factor {factor} must be > 1 "
                             "(4.0 for 4-for-1); use REVERSE_SPLIT for a share consolidation")
        if self.method is AdjustmentMethod.REVERSE_SPLIT and factor >= 1:
            raise ValueError(f"REVERSE_SPLIT on {self.effective_date}: factor {factor} must "
                             "be < 1 (0.1 for 1-for-10), since it divides earlier prices")

    @classmethod
    def cash_dividend(cls, effective_date: date, dividend: float, prior_close: float,
                      description: str = "") -> AdjustmentFactor:
        """The factor of a cash dividend: ``prior_close / (prior_close - dividend)``."""
        if not 0 < dividend < prior_close:
            raise ValueError(f"dividend {dividend} must be positive and below the prior close "
                             f"{prior_close}")
        return cls(effective_date, prior_close / (prior_close - dividend),
                   AdjustmentMethod.CASH_DIVIDEND, description)

    def applies_to(self, observed_on: date) -> bool:
        """Whether a value observed on ``observed_on`` predates this action."""
        return _day(observed_on) < self.effective_date

    def to_dict(self) -> dict[str, Any]:
        return {"effective_date": self.effective_date.isoformat(), "factor": self.factor,
                "method": self.method.value, "description": self.description}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AdjustmentFactor:
        return cls(date.fromisoformat(str(data["effective_date"])), float(data["factor"]),
                   AdjustmentMethod(data.get("method", "SPLIT")), str(data.get("description", "")))


@dataclass(frozen=True, slots=True)
class AdjustmentChain:
    """A security's corporate actions, oldest first, applied together.

    ``factors`` may be given in any order (any sequence); the chain keeps them as a tuple,
    by effective date. The same
    method twice on one date is refused (a data feed listing an action twice would
    otherwise double its effect).
    """

    factors: Sequence[AdjustmentFactor] = ()

    def __post_init__(self) -> None:
        for f in self.factors:
            if not isinstance(f, AdjustmentFactor):
                raise TypeError(f"AdjustmentChain factors must be AdjustmentFactor, got "
                                f"{type(f).__name__}")
        ordered = tuple(sorted(self.factors, key=lambda f: (f.effective_date, f.method.value)))
        seen: set[tuple[date, AdjustmentMethod]] = set()
        for f in ordered:
            if (f.effective_date, f.method) in seen:
                raise ValueError(f"{f.method.value} on {f.effective_date} is listed twice")
            seen.add((f.effective_date, f.method))
        object.__setattr__(self, "factors", ordered)

    @property
    def composite_factor(self) -> float:
        """The product of every factor: what a price from before the first action is divided by."""
        return math.prod(f.factor for f in self.factors)

    @property
    def composite_share_factor(self) -> float:
        """The product of the share-changing factors (share counts are multiplied by it)."""
        return math.prod(f.factor for f in self.factors if f.method.changes_shares)

    def factor_for(self, observed_on: date) -> float:
        """The divisor for a price observed on ``observed_on``: every later action's factor."""
        return math.prod(f.factor for f in self.factors if f.applies_to(observed_on))

    def share_factor_for(self, observed_on: date) -> float:
        """The multiplier for a share count observed on ``observed_on``."""
        return math.prod(f.factor for f in self.factors
                         if f.method.changes_shares and f.applies_to(observed_on))

    def adjust_price(self, price: float, observed_on: date) -> float:
        """``price`` observed on ``observed_on``, on today's basis."""
        return price / self.factor_for(observed_on)

    def adjust_shares(self, shares: float, observed_on: date) -> float:
        """A share count (or volume) observed on ``observed_on``, on today's basis."""
        return shares * self.share_factor_for(observed_on)

    def adjust_series(self, observations: Iterable[tuple[date, float]]
                      ) -> list[tuple[date, float]]:
        """``(date, price)`` pairs back-adjusted, in the order given."""
        return [(_day(day), self.adjust_price(price, day)) for day, price in observations]

    def between(self, start: date, end: date) -> AdjustmentChain:
        """The actions effective after ``start`` and up to ``end``: what separates a value
        observed on ``start`` from one observed on ``end``."""
        return AdjustmentChain(tuple(f for f in self.factors
                                     if _day(start) < f.effective_date <= _day(end)))

    def to_dict(self) -> dict[str, Any]:
        return {"factors": [f.to_dict() for f in self.factors],
                "composite_factor": self.composite_factor}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AdjustmentChain:
        return cls(tuple(AdjustmentFactor.from_dict(f) for f in data.get("factors", ())))


def _day(value: date) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value)
    return value


for _cls in (AdjustmentFactor, AdjustmentChain):
    register_json_type(_cls)
