"""How one raw ``num`` row becomes a silver fact, or a reason to quarantine it.

Kept apart from the pipeline so the parsing rules read in one place: the value must be a
number (empty means "no value", which is allowed), the date a real ``YYYYMMDD``, ``qtrs`` a
whole number of quarters, and the filing must exist in ``sub``. A fact dated before its
filing's period end is a comparative (prior-period) figure, except cover-page (``dei``)
facts, which are dated by their own rule.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime

from sample_workflows.medallion.tags import TagMappingService

#: units whose values the sample keeps in ``value_usd`` (all its money is USD)
USD_UNITS = frozenset({"USD", "USD/shares", "shares"})


@dataclass(frozen=True, slots=True)
class FilingInfo:
    """What a fact needs from its filing."""

    filing_id: int
    company_id: int
    period_end: str  # ISO date, compared as text
    rank: int


class Malformed(ValueError):
    """A raw row that cannot become a fact; the message says what is wrong with it."""


@functools.lru_cache(maxsize=4096)
def parse_ymd(text: str) -> date:
    """``20231231`` -> a date, ``Malformed`` if it is not a real day (cached: a data set
    holds a few hundred distinct dates across hundreds of thousands of facts)."""
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise Malformed(f"date {text!r} is not a real YYYYMMDD day") from None


@functools.lru_cache(maxsize=4096)
def _period(ddate: str, qtrs_text: str) -> tuple[str, int, int]:
    """(ISO end date, quarters, duration days) of a fact's period, checked once per pair."""
    end = parse_ymd(ddate)
    try:
        qtrs = int(qtrs_text)
    except ValueError:
        raise Malformed(f"qtrs {qtrs_text!r} is not a whole number of quarters") from None
    if not 0 <= qtrs <= 4:
        raise Malformed(f"qtrs {qtrs} is outside 0-4")
    return end.isoformat(), qtrs, duration_days(end, qtrs)


def duration_days(end: date, qtrs: int) -> int:
    """Days in the ``qtrs``-quarter period ending ``end`` (0 for an instant): from the day
    after the month-end ``3 * qtrs`` months earlier."""
    if qtrs == 0:
        return 0
    months = end.year * 12 + end.month - 1 - 3 * qtrs + 1  # the month after the prior end
    first_of_next = date(months // 12, months % 12 + 1, 1)
    return (end - first_of_next).days + 1


def to_fact(row: tuple[str, ...], filings: dict[str, FilingInfo],
            tags: TagMappingService, silver_load_id: int) -> tuple[object, ...]:
    """A ``silver_financial_facts`` row from a bronze ``num`` row (``record_hash, load_id,
    adsh, tag, version, ddate, qtrs, uom, segments, coreg, value``)."""
    record_hash, _load, adsh, tag, version, ddate, qtrs_text, uom, segments, coreg, raw = row
    filing = filings.get(adsh)
    if filing is None:
        raise Malformed(f"filing {adsh} is not in sub.txt (an orphan fact)")
    if not tag:
        raise Malformed("the tag is empty")
    try:
        value = float(raw) if raw != "" else None
    except ValueError:
        raise Malformed(f"value {raw!r} is not a number") from None
    end, qtrs, days = _period(ddate, qtrs_text)
    resolved = tags.resolve(tag)
    comparative = not version.startswith("dei/") and end < filing.period_end
    return (record_hash, filing.filing_id, filing.company_id, tag, version, tag,
            resolved.standard_tag_norm, resolved.priority, end, qtrs,
            days, int(qtrs == 0), int(qtrs == 1), int(qtrs == 4), uom,
            value, value if uom in USD_UNITS else None,
            "consolidated" if not coreg else f"coregistrant:{coreg}", segments,
            int(comparative), filing.rank, silver_load_id)


FACT_COLUMNS = ("record_hash", "filing_id", "company_id", "tag", "version", "standard_tag",
                "standard_tag_norm", "tag_priority", "fact_period_end_date", "qtrs",
                "period_duration_days", "is_instant", "is_quarterly", "is_annual", "uom",
                "value", "value_usd", "scope", "segments_context", "is_comparative_period",
                "filing_version_rank", "silver_load_id")
