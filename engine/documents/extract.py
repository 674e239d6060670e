"""Values out of a parsed filing: schema fields from inline XBRL (falling back to statement
tables when a value is not tagged) and the figures the MD&A states in words, each an
``ExtractionResult`` whose confidence says whether the filing's other sources agree."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from .models import DocumentChunk, ExtractionResult, XbrlFact
from .numbers import as_number
from .schema import SCHEMA, Cell, FieldSpec, cell_index, field_facts, normalize_label

# confidence of a value by where it came from and what confirmed it
_TAGGED_CONFIRMED = 1.0      # tagged, and every other table line agrees
_TAGGED_ALONE = 0.9          # tagged, nothing else states it
_TAGGED_DISPUTED = 0.4       # tagged, but another table line says otherwise
_TABLE_ONLY = 0.7            # not tagged, read from a statement table
_MDA_CONFIRMED = 0.95        # the MD&A's words match the tagged value
_MDA_UNCHECKED = 0.6         # the MD&A names a figure nothing else states
_MDA_DISPUTED = 0.3          # the MD&A's words contradict the tagged value

_MENTION = re.compile(
    r"(?P<subject>[A-Za-z][A-Za-z ,'’&-]{2,80}?)\s+(?P<verb>increased|decreased|grew|"
    r"declined|rose|fell)\s+(?:by\s+)?(?P<pct>\d+(?:\.\d+)?)%\s+to\s+\$(?P<amount>\d[\d,]*(?:\.\d+)?)"
    r"\s*(?P<unit>thousand|million|billion)?")
_LEAD_IN = re.compile(r"^(?:(?:driven|led|offset|helped)\s+by|due\s+to|primarily|mainly|"
                      r"the|our|its)\s+", re.IGNORECASE)
_UNITS = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000, None: 1}


def map_fields(chunks: Sequence[DocumentChunk], facts: Iterable[XbrlFact],
               fiscal_year: str | None) -> dict[str, ExtractionResult]:
    """Every schema field for ``fiscal_year``: tagged value first, table line second."""
    facts = list(facts)
    tables = [t for c in chunks for t in c.tables]
    refs = _fact_refs(chunks)
    year = fiscal_year or _latest_year(facts)
    index = cell_index(tables)
    return {name: _field(name, spec, facts, index.get((name, year or ""), []), chunks, refs,
                         year)
            for name, spec in SCHEMA.items()}


def _field(name: str, spec: FieldSpec, facts: list[XbrlFact], cells: list[Cell],
           chunks: Sequence[DocumentChunk], refs: Mapping[str, str],
           year: str | None) -> ExtractionResult:
    tagged = [f for f in field_facts(facts, spec) if (f.period_end or "")[:4] == year]
    if tagged:
        fact = tagged[0]
        value = float(fact.value)  # type: ignore[arg-type]
        others = [(t, r, v) for t, r, v in cells if fact.fact_id not in r["facts"]]
        disputes = [f"row {r['label']!r} of table {t['index']} says {v:,.2f}"
                    for t, r, v in others if abs(v - value) > max(t["scale"] / 2, 0.005)]
        if disputes:
            confidence, reasons = _TAGGED_DISPUTED, [f"tagged {fact.concept} is {value:,.2f} but "
                                                     + "; ".join(disputes)]
        elif others:
            confidence, reasons = _TAGGED_CONFIRMED, []
        else:
            confidence, reasons = _TAGGED_ALONE, ["no other table line states it to confirm"]
        return ExtractionResult(entity=name, value=as_number(value), confidence=confidence,
                                source_chunk=refs.get(fact.fact_id or "", ""),
                                extraction_method="xbrl", reasons=tuple(reasons))
    if cells:
        table, row, value = cells[0]
        chunk = next((c for c in chunks if any(t is table for t in c.tables)), None)
        return ExtractionResult(entity=name, value=as_number(value), confidence=_TABLE_ONLY,
                                source_chunk=chunk.source_ref if chunk else "",
                                extraction_method="table_parse",
                                reasons=(f"not tagged in inline XBRL; read from row "
                                         f"{row['label']!r} of table {table['index']}",))
    return ExtractionResult(entity=name, value=None, confidence=0.0, source_chunk="",
                            extraction_method="xbrl",
                            reasons=(f"no tagged fact or table row for {name} in {year}",))


def mda_mentions(chunk: DocumentChunk, fields: Mapping[str, ExtractionResult],
                 facts: Iterable[XbrlFact] = (), fiscal_year: str | None = None,
                 ) -> list[ExtractionResult]:
    """"Total revenue increased 14% to $4,812 million": the figure, checked against the
    tagged value of the field its subject names, or for "subscription revenue" against the
    revenue fact of the matching dimension member (``SubscriptionMember``)."""
    members = _member_values(facts, fiscal_year)
    found = []
    for match in _MENTION.finditer(chunk.content):
        subject = _subject(match.group("subject"))
        amount = float(match.group("amount").replace(",", "")) * _UNITS[match.group("unit")]
        name = _field_for(subject)
        entity = name or normalize_label(subject).replace(" ", "_")
        field = fields.get(name) if name else None
        sign = -1 if match.group("verb") in ("decreased", "declined", "fell") else 1
        value = {"amount": as_number(amount), "change_pct": sign * float(match.group("pct")),
                 "text": match.group(0)}
        tagged: float | None = None
        if field is not None and field.value is not None and field.extraction_method == "xbrl":
            tagged = float(field.value)
        elif name is None:
            tagged = members.get(entity)
        if tagged is None:
            confidence, reasons = _MDA_UNCHECKED, ["no tagged value to check it against"]
        elif abs(tagged - amount) <= _UNITS[match.group("unit")] / 2:
            confidence, reasons = _MDA_CONFIRMED, []
        else:
            confidence, reasons = _MDA_DISPUTED, [f"the MD&A says {amount:,.0f}, the tagged "
                                                  f"{entity} is {tagged:,.0f}"]
        found.append(ExtractionResult(entity=entity, value=value, confidence=confidence,
                                      source_chunk=chunk.source_ref, extraction_method="regex",
                                      reasons=tuple(reasons)))
    return found


def _member_values(facts: Iterable[XbrlFact], year: str | None) -> dict[str, float]:
    """Revenue by one-dimension member for ``year``: "SubscriptionMember" becomes
    "subscription_revenue", so the MD&A's "subscription revenue" can be checked."""
    concepts = SCHEMA["revenue"].concepts
    values: dict[str, float] = {}
    for fact in facts:
        if (fact.concept in concepts and len(fact.dimensions) == 1 and fact.value is not None
                and (fact.period_end or "")[:4] == year and fact.numeric):
            member = next(iter(fact.dimensions.values())).rpartition(":")[2]
            words = re.sub(r"(?<!^)(?=[A-Z])", " ", member.removesuffix("Member"))
            values[normalize_label(words + " revenue").replace(" ", "_")] = float(fact.value)
    return values


def _subject(text: str) -> str:
    """The noun phrase just before the verb ("..., driven by subscription revenue" → last)."""
    parts = [p.strip() for p in re.split(r"[,;]|\b(?:and|which|while|as|whereas)\b", text)
             if p and p.strip()]
    tail = parts[-1] if parts else text.strip()
    return _LEAD_IN.sub("", tail).strip()


def _field_for(subject: str) -> str | None:
    label = normalize_label(subject)
    for name, spec in SCHEMA.items():
        if label in spec.labels or label.replace("total ", "", 1) in spec.labels:
            return name
    return None


def _fact_refs(chunks: Sequence[DocumentChunk]) -> dict[str, str]:
    return {f["fact_id"]: c.source_ref for c in chunks for f in c.xbrl_facts if f.get("fact_id")}


def _latest_year(facts: Sequence[XbrlFact]) -> str | None:
    ends = [f.period_end for f in facts if f.period_end]
    return max(ends)[:4] if ends else None
