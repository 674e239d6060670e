"""Inline-XBRL facts out of a parsed filing: contexts (period, dimensions), units, and each
``ix:nonFraction``/``ix:nonNumeric`` with its transform, ``scale`` and ``sign`` applied.

A fact that cannot be read (unknown context or unit, text its format cannot parse) is kept
with ``value=None`` and a problem line, so one bad tag lowers confidence instead of stopping
the parse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .models import XbrlFact
from .nodes import XSI_NIL, attr, descendants, local, text_of
from .numbers import as_number

_TEXT_LIMIT = 500


@dataclass(frozen=True)
class Context:
    """An ``xbrli:context``: its period and dimension members."""

    start: str | None
    end: str | None
    dimensions: dict[str, str] = field(default_factory=dict)


@dataclass
class XbrlExtraction:
    """Facts in document order, the fact id of each tag element, and what could not be read."""

    facts: list[XbrlFact]
    ids: dict[Any, str]
    problems: list[str]


def extract_facts(root: Any) -> XbrlExtraction:
    """Read every context, unit and fact under ``root``."""
    contexts = _contexts(root)
    units = _units(root)
    facts: list[XbrlFact] = []
    ids: dict[Any, str] = {}
    problems: list[str] = []
    for n, el in enumerate(descendants(root, "ix", "nonFraction", "nonNumeric"), start=1):
        fact_id = attr(el, "id") or f"fact-{n}"
        fact, problem = _fact(el, fact_id, contexts, units)
        ids[el] = fact_id
        facts.append(fact)
        if problem:
            problems.append(problem)
    return XbrlExtraction(facts=facts, ids=ids, problems=problems)


def _contexts(root: Any) -> dict[str, Context]:
    found: dict[str, Context] = {}
    for ctx in descendants(root, "xbrli", "context"):
        start = next((text_of(n) for n in descendants(ctx, "xbrli", "startDate")), None)
        end = next((text_of(n) for n in descendants(ctx, "xbrli", "endDate", "instant")), None)
        dims = {attr(n, "dimension") or "": text_of(n)
                for n in descendants(ctx, "xbrldi", "explicitMember", "typedMember")}
        found[attr(ctx, "id") or ""] = Context(start=start, end=end, dimensions=dims)
    return found


def _units(root: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for unit in descendants(root, "xbrli", "unit"):
        numerator = [_measure(m) for part in descendants(unit, "xbrli", "unitNumerator")
                     for m in descendants(part, "xbrli", "measure")]
        denominator = [_measure(m) for part in descendants(unit, "xbrli", "unitDenominator")
                       for m in descendants(part, "xbrli", "measure")]
        if numerator or denominator:
            found[attr(unit, "id") or ""] = "*".join(numerator) + "/" + "*".join(denominator)
        else:
            found[attr(unit, "id") or ""] = "*".join(
                _measure(m) for m in descendants(unit, "xbrli", "measure"))
    return found


def _measure(el: Any) -> str:
    return text_of(el).rpartition(":")[2]


def _fact(el: Any, fact_id: str, contexts: dict[str, Context],
          units: dict[str, str]) -> tuple[XbrlFact, str | None]:
    concept = attr(el, "name") or "?"
    context_ref = attr(el, "contextRef") or ""
    context = contexts.get(context_ref)
    numeric = local(el) == "nonfraction"
    displayed = text_of(el)
    unit_ref = attr(el, "unitRef")
    unit = units.get(unit_ref or "") if numeric else None
    scale = _int(attr(el, "scale")) or 0
    problem = None
    value: float | int | str | None
    if numeric:
        value, problem = _numeric_value(el, displayed, scale)
        if problem is None and unit is None:
            problem = f"refers to unit {unit_ref!r}, which the filing does not define"
    else:
        value = _text_value(displayed, attr(el, "format"))
    if context is None:
        problem = problem or f"refers to context {context_ref!r}, which the filing does not define"
    fact = XbrlFact(concept=concept, value=value, context=context_ref,
                    period_start=context.start if context else None,
                    period_end=context.end if context else None,
                    unit=unit, decimals=attr(el, "decimals"), scale=scale,
                    dimensions=dict(context.dimensions) if context else {},
                    numeric=numeric, fact_id=fact_id, displayed=displayed[:_TEXT_LIMIT])
    return fact, (f"fact {concept} ({fact_id}) {problem}" if problem else None)


def _numeric_value(el: Any, displayed: str, scale: int) -> tuple[float | int | None, str | None]:
    if (el.get(XSI_NIL) or el.get("xsi:nil") or "").lower() == "true":
        return None, None
    fmt = (attr(el, "format") or "").rpartition(":")[2].lower().replace("-", "")
    text = displayed.replace("\u00a0", "").replace(" ", "")
    if fmt in ("fixedzero", "zerodash", "numdash"):
        number = 0.0
    else:
        if fmt in ("numcommadecimal", "numcommadot"):
            text = text.replace(".", "").replace(",", ".")
        elif fmt in ("numdotdecimal", "numdotcomma", "numspacedot", "numcomma", "numdot", ""):
            text = text.replace(",", "")
        try:
            number = float(text)
        except ValueError:
            return None, (f"value {displayed!r} is not a number in format "
                          f"{attr(el, 'format') or 'plain'}")
    number *= 10.0 ** scale
    if attr(el, "sign") == "-":
        number = -number
    return as_number(number), None


def _text_value(displayed: str, fmt: str | None) -> str:
    if fmt and fmt.rpartition(":")[2].lower() in ("date-monthname-day-year-en", "datemonthdayyearen"):
        try:
            return datetime.strptime(displayed.replace(",", ""), "%B %d %Y").date().isoformat()
        except ValueError:
            return displayed
    return displayed[:_TEXT_LIMIT]


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def period_days(fact: XbrlFact) -> int | None:
    """Length of a duration fact's period in days; None for instants or unreadable dates."""
    if fact.period_start is None or fact.period_end is None:
        return None
    try:
        return (date.fromisoformat(fact.period_end) - date.fromisoformat(fact.period_start)).days
    except ValueError:
        return None
